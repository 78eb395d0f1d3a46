import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';
import { call } from './http-client.js';

const API_KEY = 'k'.repeat(40);

describe('accounts: register, login, refresh, logout, throttling, revocation', () => {
  let server: TestServer;
  const api = (method: string, path: string, options?: Parameters<typeof call>[3]) =>
    call(server.httpUrl, method, path, options);

  before(async () => {
    server = await startTestServer({
      env: { PARLEY_API_KEY: API_KEY },
      limits: { loginPerMinutePerUsername: 3, loginPerMinutePerIp: 1000 },
    });
  });
  after(() => server.close());

  it('registers a user, whose token works on the HTTP API and the WebSocket', async () => {
    const reg = await api('POST', '/api/auth/register', {
      body: { username: 'Alice', password: 'correct horse' },
    });
    assert.equal(reg.status, 201);
    assert.deepEqual(reg.body.user, { id: 'local:alice', username: 'Alice' });
    assert.ok(reg.body.expires_at > Date.now());
    const me = await api('GET', '/api/me', { token: reg.body.token });
    assert.deepEqual(me.body, { user: { id: 'local:alice', username: 'Alice' } });
    const ws = await TestClient.authed(server.url, reg.body.token);
    ws.close();
    const again = await api('POST', '/api/auth/register', {
      body: { username: 'alice', password: 'other pass' },
    });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'conflict');
  });

  it('refuses bad bodies with bad_request and invalid_json', async () => {
    const short = await api('POST', '/api/auth/register', { body: { username: 'bob', password: 'short' } });
    assert.equal(short.status, 400);
    assert.match(short.body.error.message, /password/);
    const extra = await api('POST', '/api/auth/register', {
      body: { username: 'bob', password: 'long enough', x: 1 },
    });
    assert.equal(extra.status, 400);
    const res = await fetch(`${server.httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{nope',
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'invalid_json');
  });

  it('gives an unknown user and a wrong password the same answer', async () => {
    await api('POST', '/api/auth/register', { body: { username: 'carol', password: 'carols password' } });
    const wrong = await api('POST', '/api/auth/login', {
      body: { username: 'carol', password: 'not her password' },
    });
    const unknown = await api('POST', '/api/auth/login', {
      body: { username: 'nobody1', password: 'whatever pass' },
    });
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body, unknown.body);
    assert.deepEqual(wrong.body, { error: { code: 'auth_failed', message: 'wrong username or password' } });
    const ok = await api('POST', '/api/auth/login', {
      body: { username: 'CAROL', password: 'carols password' },
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.user.id, 'local:carol');
  });

  it('throttles login per username before hashing, with 429 and Retry-After', async () => {
    await api('POST', '/api/auth/register', { body: { username: 'dave', password: 'daves password' } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await api('POST', '/api/auth/login', {
        body: { username: 'dave', password: `guess ${i} guess` },
      });
      statuses.push(r.status);
      if (r.status === 429) {
        assert.equal(r.body.error.code, 'rate_limited');
        assert.ok(Number(r.headers.get('retry-after')) >= 1);
      }
    }
    assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
    // Even the right password is refused while throttled: no hashing happens.
    const right = await api('POST', '/api/auth/login', {
      body: { username: 'dave', password: 'daves password' },
    });
    assert.equal(right.status, 429);
    // Other usernames are unaffected.
    const other = await api('POST', '/api/auth/login', {
      body: { username: 'carol', password: 'carols password' },
    });
    assert.equal(other.status, 200);
  });

  it('rotates refresh tokens: each works once, logout revokes one', async () => {
    const reg = await api('POST', '/api/auth/register', {
      body: { username: 'erin', password: 'erins password' },
    });
    const first = await api('POST', '/api/auth/refresh', { body: { refresh_token: reg.body.refresh_token } });
    assert.equal(first.status, 200);
    assert.equal(first.body.user.id, 'local:erin');
    assert.notEqual(first.body.refresh_token, reg.body.refresh_token);
    const reuse = await api('POST', '/api/auth/refresh', { body: { refresh_token: reg.body.refresh_token } });
    assert.equal(reuse.status, 401);
    assert.equal(
      (await api('POST', '/api/auth/logout', { body: { refresh_token: first.body.refresh_token } })).status,
      204,
    );
    const afterLogout = await api('POST', '/api/auth/refresh', {
      body: { refresh_token: first.body.refresh_token },
    });
    assert.equal(afterLogout.status, 401);
  });

  it('disconnects a user everywhere: sockets close with 4503 and old tokens are refused, new logins work', async () => {
    const reg = await api('POST', '/api/auth/register', {
      body: { username: 'frank', password: 'franks password' },
    });
    const ws = await TestClient.authed(server.url, reg.body.token);
    const external = await server.token('ext-frank', 'Frank');
    const ws2 = await TestClient.authed(server.url, external);
    const out = await api('POST', '/api/server/users/local:frank/logout', { apiKey: API_KEY });
    assert.equal(out.status, 200);
    assert.equal(await ws.closed, 4503);
    assert.equal((await api('GET', '/api/me', { token: reg.body.token })).status, 401);
    const refused = await TestClient.open(server.url);
    refused.send({ type: 'auth', token: reg.body.token });
    assert.equal(await refused.closed, 4501);
    const refresh = await api('POST', '/api/auth/refresh', {
      body: { refresh_token: reg.body.refresh_token },
    });
    assert.equal(refresh.status, 401);
    const login = await api('POST', '/api/auth/login', {
      body: { username: 'frank', password: 'franks password' },
    });
    assert.equal(login.status, 200);
    assert.equal((await api('GET', '/api/me', { token: login.body.token })).status, 200);
    // External-token users keep working alongside.
    assert.equal((await ws2.request({ type: 'ping' })).type, 'pong');
    ws2.close();
  });

  it('bans a user (tokens and logins refused) and unbans them', async () => {
    const reg = await api('POST', '/api/auth/register', {
      body: { username: 'gina', password: 'ginas password' },
    });
    const ban = await api('POST', '/api/server/users/local:gina/ban', {
      apiKey: API_KEY,
      body: { reason: 'spam' },
    });
    assert.equal(ban.body.user.banned, true);
    assert.equal((await api('GET', '/api/me', { token: reg.body.token })).status, 401);
    const login = await api('POST', '/api/auth/login', {
      body: { username: 'gina', password: 'ginas password' },
    });
    assert.deepEqual(login.body.error, { code: 'auth_failed', message: 'this user is banned' });
    await api('POST', '/api/server/users/local:gina/unban', { apiKey: API_KEY });
    const back = await api('POST', '/api/auth/login', {
      body: { username: 'gina', password: 'ginas password' },
    });
    assert.equal(back.status, 200);
  });

  it('refuses the server API without the right key', async () => {
    const none = await api('GET', '/api/server/users/local:alice');
    const wrong = await api('GET', '/api/server/users/local:alice', { apiKey: 'x'.repeat(40) });
    assert.equal(none.status, 401);
    assert.equal(wrong.status, 401);
    const right = await api('GET', '/api/server/users/local:alice', { apiKey: API_KEY });
    assert.equal(right.body.user.username, 'Alice');
  });
});

describe('per-IP limits behind a reverse proxy', () => {
  it('count each client apart when the proxy is trusted, and everyone as the proxy when not', async () => {
    const login = (srv: TestServer, forwardedFor: string) =>
      fetch(`${srv.httpUrl}/api/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': forwardedFor },
        body: JSON.stringify({ username: 'nobody', password: 'wrong password' }),
      }).then((r) => r.status);
    const limits = { loginPerMinutePerIp: 2, loginPerMinutePerUsername: 1000 };
    const behind = await startTestServer({ limits, env: { PARLEY_TRUSTED_PROXIES: 'loopback' } });
    try {
      assert.deepEqual(
        [
          await login(behind, '198.51.100.1'),
          await login(behind, '198.51.100.1'),
          await login(behind, '198.51.100.1'),
        ],
        [401, 401, 429],
      );
      assert.equal(await login(behind, '198.51.100.2'), 401, 'another client has its own bucket');
    } finally {
      await behind.close();
    }
    const direct = await startTestServer({ limits });
    try {
      // Not trusted: the header is the client's word, so both share the peer's bucket.
      assert.deepEqual(
        [
          await login(direct, '198.51.100.1'),
          await login(direct, '198.51.100.2'),
          await login(direct, '198.51.100.3'),
        ],
        [401, 401, 429],
      );
    } finally {
      await direct.close();
    }
  });
});
