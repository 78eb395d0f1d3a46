import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import WebSocket from 'ws';
import { signToken } from '../../src/cli/sign-token.js';
import { ParleyClient } from '../../src/client/parley-client.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { ParleyProcess, runParley } from './parley-process.js';

interface Line {
  readonly id: string;
  readonly seq: number;
  readonly channel: string;
  readonly user_id: string;
  readonly username: string;
  readonly text: string;
  readonly ts: number;
}

async function server(
  t: TestContext,
  options: Parameters<typeof startTestServer>[0] = {},
): Promise<TestServer> {
  const s = await startTestServer(options);
  t.after(() => s.close());
  return s;
}

/** Publishes `texts` to `channel` with the SDK, as user u2. */
async function publish(s: TestServer, channel: string, texts: readonly string[]): Promise<void> {
  const client = new ParleyClient({ url: s.url, token: await s.token('u2', 'bob'), WebSocket });
  try {
    await client.connect();
    for (const text of texts) await client.publish(channel, text);
  } finally {
    await client.close();
  }
}

/** Starts `parley listen` and stops it (SIGTERM) when the test ends, if it still runs. */
function listen(t: TestContext, args: readonly string[], env: Record<string, string>): ParleyProcess {
  const parley = new ParleyProcess(['listen', ...args], env);
  t.after(async () => {
    if (parley.child.exitCode === null && parley.child.signalCode === null) {
      parley.child.kill('SIGKILL');
      await parley.exited;
    }
  });
  return parley;
}

const parse = (lines: readonly string[]) => lines.map((line) => JSON.parse(line) as Line);

test('send prints the ack as one JSON line and exits 0', async (t) => {
  const s = await server(t);
  const token = await s.token('u1', 'ann');
  const { code, stdout, stderr } = await runParley([
    'send',
    '--url',
    s.url,
    '--token',
    token,
    '--channel',
    'general',
    'hello',
    'world',
  ]);
  assert.equal(code, 0, stderr.join('\n'));
  assert.equal(stdout.length, 1);
  const ack = JSON.parse(stdout[0] ?? '') as Record<string, unknown>;
  assert.deepEqual(Object.keys(ack), ['id', 'seq', 'channel', 'ts', 'client_msg_id', 'duplicate']);
  assert.equal(ack.seq, 1);
  assert.equal(ack.channel, 'general');
  assert.equal(ack.duplicate, false);
  assert.equal(typeof ack.client_msg_id, 'string');
});

test('send with the same --client-msg-id twice stores one message and reports the duplicate', async (t) => {
  const s = await server(t);
  const env = { PARLEY_URL: s.url, PARLEY_TOKEN: await s.token('u1', 'ann') };
  const args = ['send', '--channel', 'general', '--client-msg-id', 'retry-1', 'once'];
  const first = await runParley(args, env);
  const second = await runParley(args, env);
  assert.equal(first.code, 0, first.stderr.join('\n'));
  assert.equal(second.code, 0, second.stderr.join('\n'));
  const [a, b] = [first, second].map((r) => JSON.parse(r.stdout[0] ?? '') as Record<string, unknown>);
  assert.equal(b?.id, a?.id);
  assert.equal(b?.seq, a?.seq);
  assert.deepEqual([a?.duplicate, b?.duplicate], [false, true]);
});

test('send exits 3 with auth_failed when the token is signed with another secret', async (t) => {
  const s = await server(t);
  const forged = await signToken({
    secret: 'not-the-server-secret-but-long-enough-000',
    userId: 'u1',
    username: 'ann',
    ttlSeconds: 60,
  });
  const { code, stdout, stderr } = await runParley([
    'send',
    '--url',
    s.url,
    '--token',
    forged,
    '--channel',
    'general',
    'hi',
  ]);
  assert.equal(code, 3);
  assert.deepEqual(stdout, []);
  assert.match(stderr[0] ?? '', /^parley: auth_failed: /);
});

test('send exits with the catalogue code of a refused publish', async (t) => {
  const s = await server(t);
  const env = { PARLEY_URL: s.url, PARLEY_TOKEN: await s.token('u1', 'ann') };
  const { code, stderr } = await runParley(['send', '--channel', 'no-such-channel', 'hi'], env);
  assert.match(stderr[0] ?? '', /^parley: (forbidden|not_found): /);
  assert.equal(code, stderr[0]?.startsWith('parley: forbidden') ? 4 : 5);
});

test('send exits 5 with not_found when the URL path is not the socket path', async (t) => {
  const s = await server(t);
  const { code, stderr } = await runParley([
    'send',
    '--url',
    `${s.httpUrl}/nope`,
    '--token',
    await s.token('u1', 'ann'),
    '--channel',
    'general',
    'hi',
  ]);
  assert.equal(code, 5);
  assert.match(stderr[0] ?? '', /^parley: not_found: Unexpected server response: 404/);
});

test('listen --since pages through history when the gap is larger than the server replays', async (t) => {
  const s = await server(t, { limits: { resumeMaxGap: 2, historyDefault: 2 } });
  await publish(s, 'general', ['one', 'two', 'three', 'four', 'five', 'six']);
  const parley = listen(t, ['--channel', 'general', '--since', '1'], {
    PARLEY_URL: s.url,
    PARLEY_TOKEN: await s.token('u1', 'ann'),
  });
  assert.deepEqual(
    parse(await parley.stdoutLines(5)).map((m) => m.text),
    ['two', 'three', 'four', 'five', 'six'],
  );
  parley.child.kill('SIGTERM');
  assert.equal(await parley.exited, 0);
  assert.equal(parley.stdout.length, 5);
});

test('listen prints the messages after --since first, then live ones, and exits 0 on SIGTERM', async (t) => {
  const s = await server(t);
  await publish(s, 'general', ['one', 'two', 'three']);
  const parley = listen(t, ['--channel', 'general', '--since', '1'], {
    PARLEY_URL: s.url,
    PARLEY_TOKEN: await s.token('u1', 'ann'),
  });
  await parley.stdoutLines(2);
  await publish(s, 'general', ['four']);
  const lines = parse(await parley.stdoutLines(3));
  assert.deepEqual(
    lines.map((m) => [m.seq, m.text, m.username]),
    [
      [2, 'two', 'bob'],
      [3, 'three', 'bob'],
      [4, 'four', 'bob'],
    ],
  );
  assert.deepEqual(Object.keys(lines[0] ?? {}), [
    'id',
    'seq',
    'channel',
    'user_id',
    'username',
    'text',
    'ts',
  ]);
  parley.child.kill('SIGTERM');
  assert.equal(await parley.exited, 0);
});

test('listen --history N prints the last N messages before live ones', async (t) => {
  const s = await server(t);
  await publish(s, 'general', ['one', 'two', 'three']);
  const parley = listen(t, ['--channel', 'general', '--history', '2'], {
    PARLEY_URL: s.url,
    PARLEY_TOKEN: await s.token('u1', 'ann'),
  });
  await parley.stdoutLines(2);
  await publish(s, 'general', ['four']);
  assert.deepEqual(
    parse(await parley.stdoutLines(3)).map((m) => m.seq),
    [2, 3, 4],
  );
  parley.child.kill('SIGINT');
  assert.equal(await parley.exited, 0);
});

test('listen exits 4 with forbidden for a channel the user may not read', async (t) => {
  const s = await server(t);
  const parley = listen(t, ['--channel', 'no-such-channel'], {
    PARLEY_URL: s.url,
    PARLEY_TOKEN: await s.token('u1', 'ann'),
  });
  assert.equal(await parley.exited, 4);
  assert.match(parley.stderr.join('\n'), /^parley: forbidden: /m);
});

test('listen survives a server restart and prints every message once', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'parley-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const databaseUrl = `sqlite:${join(dir, 'parley.db')}`;
  const first = await startTestServer({ databaseUrl });
  t.after(() => first.close());
  const parley = listen(
    t,
    ['--channel', 'general', '--url', first.url, '--token', await first.token('u1', 'ann')],
    {},
  );
  // The subscribe is in place once the first live message is printed.
  while (parley.stdout.length === 0) {
    await publish(first, 'general', [`before-${Date.now()}`]);
    await Promise.race([parley.stdoutLines(1, 2000).catch(() => {}), parley.exited]);
  }
  const before = parley.stdout.length;
  await first.close();
  await parley.stderrLine('reconnecting');

  const second = await startTestServer({ databaseUrl, port: first.port, secret: first.secret });
  t.after(() => second.close());
  await publish(second, 'general', ['after-1', 'after-2']);
  const lines = parse(await parley.stdoutLines(before + 2));
  const seqs = lines.map((m) => m.seq);
  assert.deepEqual(
    seqs,
    [...new Set(seqs)].sort((a, b) => a - b),
    'each seq once, ascending',
  );
  assert.deepEqual(
    lines.slice(-2).map((m) => m.text),
    ['after-1', 'after-2'],
  );
  assert.equal(seqs.at(-1), (seqs[0] ?? 0) + seqs.length - 1, 'no gaps');
  parley.child.kill('SIGTERM');
  assert.equal(await parley.exited, 0);
});

test('channel create and add-member print the server answer as one JSON line', async (t) => {
  const s = await server(t);
  // The member must exist as a user: users are created when they first connect.
  await publish(s, 'general', ['hello from bob']);
  const env = { PARLEY_URL: s.url, PARLEY_TOKEN: await s.token('u1', 'ann') };
  const created = await runParley(['channel', 'create', 'team', '--private', '--title', 'The team'], env);
  assert.equal(created.code, 0, created.stderr.join('\n'));
  assert.deepEqual(JSON.parse(created.stdout[0] ?? ''), {
    id: 'team',
    kind: 'private',
    title: 'The team',
    role: 'owner',
  });
  const added = await runParley(['channel', 'add-member', 'team', 'u2', '--role', 'admin'], env);
  assert.equal(added.code, 0, added.stderr.join('\n'));
  assert.deepEqual(JSON.parse(added.stdout[0] ?? ''), { channel: 'team', user_id: 'u2', role: 'admin' });
});
