import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { runCli } from '../../src/cli/parley.js';
import { cliRecorder } from './cli-recorder.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const key = new TextEncoder().encode(SECRET);

test('prints an HS256 token that verifies with the secret and carries user_id, username, iat and exp', async () => {
  const io = cliRecorder({ PARLEY_JWT_SECRET: SECRET });
  const code = await runCli(['token', '--user-id', '42', '--username', 'Ann', '--ttl', '15m'], io);
  assert.equal(code, 0, io.stderr.join('\n'));
  assert.equal(io.stdout.length, 1);
  const token = io.stdout[0] ?? '';
  const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'] });
  assert.equal(payload.user_id, '42');
  assert.equal(payload.username, 'Ann');
  assert.equal(typeof payload.iat, 'number');
  assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 15 * 60);
  assert.ok(Math.abs((payload.iat ?? 0) - Date.now() / 1000) < 60);
  assert.equal(payload.iss, undefined);
  assert.equal(payload.aud, undefined);
  assert.equal(decodeProtectedHeader(token).alg, 'HS256');
});

test('lasts one hour by default and accepts 30s, 7d and plain seconds', async () => {
  for (const [ttl, seconds] of [
    [undefined, 3600],
    ['30s', 30],
    ['7d', 604_800],
    ['90', 90],
  ] as const) {
    const io = cliRecorder({ PARLEY_JWT_SECRET: SECRET });
    const args = [
      'token',
      '--user-id',
      'u1',
      '--username',
      'ann',
      ...(ttl === undefined ? [] : ['--ttl', ttl]),
    ];
    assert.equal(await runCli(args, io), 0, io.stderr.join('\n'));
    const payload = decodeJwt(io.stdout[0] ?? '');
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), seconds, `--ttl ${ttl}`);
  }
});

test('adds iss and aud from PARLEY_JWT_ISSUER and PARLEY_JWT_AUDIENCE', async () => {
  const io = cliRecorder({
    PARLEY_JWT_SECRET: SECRET,
    PARLEY_JWT_ISSUER: 'my-app',
    PARLEY_JWT_AUDIENCE: 'parley',
  });
  assert.equal(await runCli(['token', '--user-id', 'u1', '--username', 'ann'], io), 0);
  const { payload } = await jwtVerify(io.stdout[0] ?? '', key, { issuer: 'my-app', audience: 'parley' });
  assert.equal(payload.user_id, 'u1');
});

test('signs with --secret over PARLEY_JWT_SECRET', async () => {
  const other = 'another-secret-that-is-also-long-enough-000';
  const io = cliRecorder({ PARLEY_JWT_SECRET: SECRET });
  assert.equal(await runCli(['token', '--user-id', 'u1', '--username', 'ann', '--secret', other], io), 0);
  await jwtVerify(io.stdout[0] ?? '', new TextEncoder().encode(other));
});

test('refuses a secret shorter than 32 bytes with exit code 2 and says why', async () => {
  const io = cliRecorder({ PARLEY_JWT_SECRET: 'x'.repeat(31) });
  assert.equal(await runCli(['token', '--user-id', 'u1', '--username', 'ann'], io), 2);
  assert.deepEqual(io.stdout, []);
  assert.match(io.stderr.join('\n'), /^parley: bad_request: the secret is 31 bytes; use at least 32/);
});

test('refuses a missing secret with exit code 2 and names PARLEY_JWT_SECRET', async () => {
  const io = cliRecorder();
  assert.equal(await runCli(['token', '--user-id', 'u1', '--username', 'ann'], io), 2);
  assert.match(io.stderr.join('\n'), /^parley: bad_request: .*PARLEY_JWT_SECRET/);
});

test('rejects a malformed --ttl with exit code 2 and the usage line', async () => {
  const io = cliRecorder({ PARLEY_JWT_SECRET: SECRET });
  assert.equal(await runCli(['token', '--user-id', 'u1', '--username', 'ann', '--ttl', '1 week'], io), 2);
  assert.match(io.stderr[0] ?? '', /--ttl must look like 30s, 15m, 1h or 7d/);
  assert.match(io.stderr[1] ?? '', /^usage: parley token /);
});

test('requires --user-id and --username', async () => {
  for (const args of [
    ['--username', 'ann'],
    ['--user-id', 'u1'],
  ]) {
    const io = cliRecorder({ PARLEY_JWT_SECRET: SECRET });
    assert.equal(await runCli(['token', ...args], io), 2);
    assert.match(io.stderr[0] ?? '', /--(user-id|username) is required/);
  }
});
