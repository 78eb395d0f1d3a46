import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { runCli } from '../../src/cli/parley.js';
import { cliRecorder } from './cli-recorder.js';
import { runParley } from './parley-process.js';

test('prints the help of every command and exits 0 for --help and help', async () => {
  for (const args of [['--help'], ['help'], ['-h']]) {
    const io = cliRecorder();
    assert.equal(await runCli(args, io), 0);
    const help = io.stdout.join('\n');
    for (const command of ['serve', 'token', 'send', 'listen', 'channel create', 'channel add-member']) {
      assert.match(help, new RegExp(`parley ${command} `));
    }
  }
});

test('prints one command usage for help COMMAND and COMMAND --help', async () => {
  for (const args of [
    ['help', 'send'],
    ['send', '--help'],
  ]) {
    const io = cliRecorder();
    assert.equal(await runCli(args, io), 0);
    assert.deepEqual(io.stdout, [
      'usage: parley send [--url URL] [--token T] --channel NAME [--client-msg-id ID] [--file PATH]... [--timeout 30s] TEXT',
    ]);
  }
});

test('exits 2 with the usage when no command is given', async () => {
  const io = cliRecorder();
  assert.equal(await runCli([], io), 2);
  assert.match(io.stderr.join('\n'), /usage: parley send/);
});

test('exits 2 naming an unknown command', async () => {
  const io = cliRecorder();
  assert.equal(await runCli(['sned'], io), 2);
  assert.equal(io.stderr[0], 'parley: bad_request: unknown command "sned"');
});

test('exits 2 with the command usage for an unknown option', async () => {
  const io = cliRecorder();
  assert.equal(await runCli(['send', '--chanel', 'general', 'hi'], io), 2);
  assert.match(io.stderr[0] ?? '', /^parley: bad_request: Unknown option '--chanel'/);
  assert.match(io.stderr[1] ?? '', /^usage: parley send /);
});

test('send exits 2 without --channel, without text, and without a URL or token', async () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['send', 'hi'], { PARLEY_URL: 'ws://127.0.0.1:1/ws', PARLEY_TOKEN: 't' }, /--channel is required/],
    [
      ['send', '--channel', 'general'],
      { PARLEY_URL: 'ws://127.0.0.1:1/ws', PARLEY_TOKEN: 't' },
      /TEXT is required/,
    ],
    [['send', '--channel', 'general', 'hi'], { PARLEY_TOKEN: 't' }, /--url \(or PARLEY_URL\) is required/],
    [
      ['send', '--channel', 'general', 'hi'],
      { PARLEY_URL: 'ws://127.0.0.1:1/ws' },
      /--token \(or PARLEY_TOKEN\) is required/,
    ],
    [
      ['send', '--url', 'ftp://x', '--token', 't', '--channel', 'general', 'hi'],
      {},
      /ws:\/\/ or wss:\/\/ URL/,
    ],
  ];
  for (const [args, env, message] of cases) {
    const io = cliRecorder(env);
    assert.equal(await runCli(args, io), 2, args.join(' '));
    assert.match(io.stderr[0] ?? '', message);
  }
});

test('listen exits 2 for a --since that is not a seq', async () => {
  const io = cliRecorder({ PARLEY_URL: 'ws://127.0.0.1:1/ws', PARLEY_TOKEN: 't' });
  assert.equal(await runCli(['listen', '--channel', 'general', '--since', 'yesterday'], io), 2);
  assert.match(io.stderr[0] ?? '', /--since must be a non-negative integer/);
});

test('channel exits 2 for an unknown action, a missing user id and a bad role', async () => {
  const env = { PARLEY_URL: 'ws://127.0.0.1:1/ws', PARLEY_TOKEN: 't' };
  const cases: [string[], RegExp][] = [
    [['channel', 'rename', 'team'], /unknown channel action "rename"/],
    [['channel', 'add-member', 'team'], /USER_ID is required/],
    [
      ['channel', 'add-member', 'team', 'u2', '--role', 'king'],
      /--role must be one of owner, admin, moderator, member, readonly/,
    ],
    [['channel', 'create'], /NAME is required/],
  ];
  for (const [args, message] of cases) {
    const io = cliRecorder(env);
    assert.equal(await runCli(args, io), 2, args.join(' '));
    assert.match(io.stderr[0] ?? '', message);
  }
});

test('send exits 8 with timeout when no server listens at the URL', async () => {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const io = cliRecorder({ PARLEY_URL: `ws://127.0.0.1:${port}`, PARLEY_TOKEN: 't' });
  assert.equal(await runCli(['send', '--channel', 'general', '--timeout', '1s', 'hi'], io), 8);
  assert.match(
    io.stderr[0] ?? '',
    new RegExp(`^parley: timeout: could not connect to ws://127.0.0.1:${port}/ws within 1000 ms`),
  );
});

test('runs when started as the entry module with node --import tsx src/cli/parley.ts', async () => {
  const { code, stdout } = await runParley(['help', 'token']);
  assert.equal(code, 0);
  assert.deepEqual(stdout, ['usage: parley token --user-id ID --username NAME [--ttl 1h] [--secret S]']);
});
