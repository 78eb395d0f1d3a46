import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { openStore } from '../../src/server/store/open-store.js';
import { call } from '../http/http-client.js';
import { APP, startPusherServer } from '../support/pusher-server.js';
import { startServeProcess } from '../support/serve-process.js';
import { signTestToken } from '../support/sign-test-token.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';

// Lines of docs/security.md that no other test checks: how passwords are stored, what a
// cross-site form can send, the HTTP body and request limits, WebSocket fragments, the Origin
// check on the Pusher endpoint, and what the logs never hold.

describe('security defaults at the edge', () => {
  let srv: TestServer;
  const clients: TestClient[] = [];

  before(async () => {
    srv = await startTestServer({ limits: { httpBodyMaxBytes: 1024, httpPerSecond: 1, httpBurst: 3 } });
  });
  after(async () => {
    for (const c of clients) c.close();
    await srv.close();
  });

  it('stores a password as an argon2id hash with the documented cost, and a refresh token as its SHA-256', async () => {
    const password = 'correct horse battery staple';
    const res = await call(srv.httpUrl, 'POST', '/api/auth/register', {
      body: { username: 'Hasher', password },
    });
    assert.equal(res.status, 201);
    const store = await openStore(srv.databaseUrl);
    try {
      const account = await store.getAccount('hasher');
      assert.ok(account !== undefined);
      const [, kind, version, params] = account.passwordHash.split('$');
      assert.equal(kind, 'argon2id');
      assert.equal(version, 'v=19');
      assert.deepEqual(params?.split(',').sort(), ['m=19456', 'p=1', 't=2']);
      assert.ok(!account.passwordHash.includes(password));
      const refresh = res.body.refresh_token as string;
      assert.equal(await store.takeRefreshToken(refresh, Date.now()), undefined, 'not kept as sent');
      const digest = createHash('sha256').update(refresh).digest('hex');
      assert.equal(await store.takeRefreshToken(digest, Date.now()), 'local:hasher');
    } finally {
      await store.close();
    }
  });

  it('refuses a body that is not application/json, all a cross-site form can send, with bad_request', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const res = await fetch(`${srv.httpUrl}/api/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': type, Origin: 'https://evil.example' },
        body: JSON.stringify({ username: 'hasher', password: 'correct horse battery staple' }),
      });
      assert.equal(res.status, 400, type);
      const body = (await res.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'bad_request', type);
      assert.equal(res.headers.get('access-control-allow-origin'), null);
    }
  });

  it('answers 413 payload_too_large to a body over PARLEY_HTTP_BODY_MAX_BYTES', async () => {
    const res = await call(srv.httpUrl, 'POST', '/api/auth/login', {
      body: { username: 'hasher', password: 'x'.repeat(2000) },
    });
    assert.equal(res.status, 413);
    assert.equal(res.body.error.code, 'payload_too_large');
  });

  it('rate-limits one user’s HTTP requests past the burst with 429 and Retry-After', async () => {
    const token = await srv.token('busy', 'Busy');
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    // The burst is 3 and one request a second refills it: a few more requests than the burst
    // must meet the limit, however slow the machine.
    for (let i = 0; i < 10 && limited === undefined; i++) {
      const res = await call(srv.httpUrl, 'GET', '/api/me', { token });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    assert.ok(limited !== undefined, `no 429 in ${statuses.join(', ')}`);
    assert.equal(limited.body.error.code, 'rate_limited');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    const other = await call(srv.httpUrl, 'GET', '/api/me', { token: await srv.token('calm', 'Calm') });
    assert.equal(other.status, 200, 'another user has a bucket of their own');
  });

  it('closes with 1008 a WebSocket message sent in more fragments than PARLEY_MAX_FRAGMENTS', async () => {
    const bystander = await TestClient.authed(srv.url, await srv.token('bystander', 'Bystander'));
    clients.push(bystander);
    const c = await TestClient.authed(srv.url, await srv.token('fragments', 'Fragments'));
    clients.push(c);
    for (let i = 0; i < 70; i++) c.ws.send('{', { fin: false });
    c.ws.send('}', { fin: true });
    assert.equal(await c.closed, 1008);
    assert.equal((await bystander.request({ type: 'ping' })).type, 'pong');
  });
});

describe('the Origin check on the Pusher endpoint', () => {
  it('refuses a browser Origin from another site with 403, and lets the same host in', async () => {
    const p = await startPusherServer();
    try {
      const url = `ws://127.0.0.1:${p.parley.port}/app/${APP.key}?protocol=7`;
      const refused = new WebSocket(url, { headers: { Origin: 'https://evil.example' } });
      await assert.rejects(once(refused, 'open', { signal: AbortSignal.timeout(5000) }), /403/);
      const same = new WebSocket(url, { headers: { Origin: `http://127.0.0.1:${p.parley.port}` } });
      await once(same, 'open', { signal: AbortSignal.timeout(5000) });
      same.close();
    } finally {
      await p.close();
    }
  });
});

describe('what the logs never hold', () => {
  it('writes no token, password or message text to its logs, even at trace level', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-logs-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const secret = 'log-test-secret-0123456789abcdef0123456789';
    const serve = await startServeProcess([], {
      PARLEY_JWT_SECRET: secret,
      PARLEY_DATABASE_URL: `sqlite:${join(dir, 'parley.db')}`,
      PARLEY_LOG_LEVEL: 'trace',
      PARLEY_WEB: 'off',
    });
    let stdout = '';
    serve.child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    t.after(async () => {
      if (serve.child.exitCode === null) {
        serve.child.kill('SIGTERM');
        await serve.exited;
      }
    });
    const http = `http://127.0.0.1:${serve.port}`;
    const password = 'pw-that-must-not-be-logged-7431';
    const text = 'text-that-must-not-be-logged-9120';
    const good = await signTestToken(secret, 'logged', 'Logged');
    const forged = await signTestToken('another-secret-0123456789abcdef012345', 'x');

    assert.equal(
      (await call(http, 'POST', '/api/auth/register', { body: { username: 'logs', password } })).status,
      201,
    );
    assert.equal(
      (await call(http, 'POST', '/api/auth/login', { body: { username: 'logs', password: `${password}!` } }))
        .status,
      401,
    );
    assert.equal((await call(http, 'GET', '/api/me', { token: forged })).status, 401);
    const refused = await TestClient.open(serve.url);
    refused.send({ type: 'auth', token: forged });
    assert.equal((await refused.next((f) => f.type === 'error')).code, 'auth_failed');
    const c = await TestClient.authed(serve.url, good);
    t.after(() => c.close());
    c.send({ type: 'subscribe', channel: 'general' });
    await c.next((f) => f.type === 'subscribed');
    c.send({ type: 'publish', channel: 'general', text, client_msg_id: 'logged-1' });
    await c.next((f) => f.type === 'ack');
    c.close();
    await c.closed;
    serve.child.kill('SIGTERM');
    assert.equal(await serve.exited, 0);

    const logs = `${stdout}\n${serve.stderr()}`;
    assert.match(logs, /"level":10|"level":20|"level":30/, 'the process did log');
    for (const [what, secretText] of [
      ['password', password],
      ['message text', text],
      ['token', good],
      ['token', good.split('.')[2] as string],
      ['refused token', forged.split('.')[2] as string],
      ['JWT secret', secret],
    ] as const) {
      assert.ok(!logs.includes(secretText), `the logs hold the ${what}`);
    }
  });
});
