import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { runCli } from '../../src/cli/parley.js';
import { ERRORS } from '../../src/protocol/error-catalogue.js';
import { openStore } from '../../src/server/store/open-store.js';
import { cliRecorder } from './cli-recorder.js';
import { runParley } from './parley-process.js';

const DAY = 86_400_000;

test('parley prune runs one retention pass on the database and prints what it pruned', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'parley-prune-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'parley.db');
  const url = `sqlite:${file}`;
  let store = await openStore(url);
  await store.migrate();
  await store.createChannel({ id: 'old-news', kind: 'public', title: 'Old news', owner: null });
  for (const text of ['a', 'b', 'c', 'fresh']) {
    await store.append({ channelId: 'old-news', userId: 'u', username: 'U', text, clientMsgId: null });
  }
  await store.close();
  // Three of the messages were sent three days ago.
  const db = new Database(file);
  db.prepare("update messages set timestamp = timestamp - ? where text != 'fresh'").run(3 * DAY);
  db.close();

  const kept = await runParley(['prune', '--db', url], {});
  assert.equal(kept.code, 0, kept.stderr.join('\n'));
  assert.deepEqual(
    JSON.parse(kept.stdout[0] ?? ''),
    { pruned: 0, channels: 0, skipped: false },
    'no retention: kept',
  );

  const pruned = await runParley(['prune', '--db', url], { PARLEY_RETENTION_DAYS: '2' });
  assert.equal(pruned.code, 0, pruned.stderr.join('\n'));
  assert.deepEqual(JSON.parse(pruned.stdout[0] ?? ''), { pruned: 3, channels: 1, skipped: false });

  store = await openStore(url);
  t.after(() => store.close());
  assert.deepEqual(
    (await store.latest('old-news', 10)).map((m) => [m.seq, m.text]),
    [[4, 'fresh']],
  );
  assert.equal((await store.getChannel('old-news'))?.prunedSeq, 3);
});

test('parley prune refuses a bad --days and an unknown flag with exit code 2', async () => {
  for (const args of [
    ['prune', '--days', 'soon'],
    ['prune', '--weeks', '2'],
  ]) {
    const io = cliRecorder({});
    assert.equal(await runCli(args, io), ERRORS.bad_request.exit, io.stderr.join('\n'));
    assert.match(io.stderr[0] ?? '', /^parley: bad_request: /);
  }
});
