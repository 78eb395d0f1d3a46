import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startTestServer } from '../support/start-server.js';

const run = promisify(execFile);

test('the attachments snippet of docs/api.md runs as pasted', async (t) => {
  const doc = await readFile(new URL('../../docs/api.md', import.meta.url), 'utf8');
  const marker = doc.indexOf('<!-- snippet: attachments');
  assert.ok(marker >= 0, 'the snippet is marked');
  const block = /```sh\n([\s\S]*?)```/.exec(doc.slice(marker))?.[1];
  assert.ok(block !== undefined);
  const s = await startTestServer();
  const dir = await mkdtemp(join(tmpdir(), 'parley-docs-'));
  t.after(async () => {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });
  // The docs speak of a server on localhost:8080; the test's listens on a free port.
  const script = `set -euo pipefail\n${block.replaceAll('localhost:8080', `127.0.0.1:${s.port}`)}`;
  const { stdout } = await run('bash', ['-c', script], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TOKEN: await s.token('u1', 'ann') },
    timeout: 20_000,
  });
  const [posted, downloaded] = stdout.split(/(?<=\})(?=agenda)/);
  const message = (JSON.parse(posted ?? '') as { message: { attachments: { name: string }[] } }).message;
  assert.equal(message.attachments[0]?.name, 'notes.txt');
  assert.equal(downloaded, 'agenda\n');
});
