import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import WebSocket from 'ws';
import { ParleyClient } from '../../src/client/parley-client.js';
import { startTestServer } from '../support/start-server.js';
import { runParley } from './parley-process.js';

test('send --file uploads the files and sends them with the message (SDK and CLI)', async (t) => {
  const s = await startTestServer();
  const dir = await mkdtemp(join(tmpdir(), 'parley-send-file-'));
  t.after(async () => {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });
  const photo = join(dir, 'photo.png');
  await writeFile(
    photo,
    await sharp({ create: { width: 40, height: 20, channels: 3, background: '#0a0' } })
      .png()
      .toBuffer(),
  );
  const notes = join(dir, 'notes.txt');
  await writeFile(notes, 'agenda\n');
  const token = await s.token('u1', 'ann');
  const run = await runParley([
    'send',
    '--url',
    s.url,
    '--token',
    token,
    '--channel',
    'general',
    '--file',
    photo,
    '--file',
    notes,
    'see',
    'these',
  ]);
  assert.equal(run.code, 0, run.stderr.join('\n'));
  const ack = JSON.parse(run.stdout[0] ?? '{}') as {
    id: string;
    attachments: { name: string; type: string; width?: number }[];
  };
  assert.deepEqual(
    ack.attachments.map((a) => [a.name, a.type, a.width]),
    [
      ['photo.png', 'image/png', 40],
      ['notes.txt', 'text/plain', undefined],
    ],
  );
  // The SDK reads it back with its files; and sends one of its own with `attach`.
  const client = new ParleyClient({ url: s.url, token: await s.token('u2', 'bob'), WebSocket });
  t.after(() => client.close());
  await client.connect();
  const page = await client.history('general', { limit: 1 });
  assert.equal(page.messages[0]?.id, ack.id);
  assert.deepEqual(
    page.messages[0]?.attachments?.map((a) => a.name),
    ['photo.png', 'notes.txt'],
  );
  const sent = await client.attach('general', 'from the SDK', [
    { name: 'sdk.txt', data: new TextEncoder().encode('bytes\n') },
  ]);
  const last = await client.history('general', { limit: 1 });
  assert.equal(last.messages[0]?.id, sent.id);
  assert.equal(last.messages[0]?.attachments?.[0]?.name, 'sdk.txt');
  // A fake image is refused with its code and exit status.
  const fake = join(dir, 'fake.jpg');
  await writeFile(fake, 'not a jpeg');
  const refused = await runParley([
    'send',
    '--url',
    s.url,
    '--token',
    token,
    '--channel',
    'general',
    '--file',
    fake,
  ]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr.join('\n'), /not_an_image/);
});
