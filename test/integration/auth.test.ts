import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT, UnsecuredJWT } from 'jose';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';

const ISS = 'https://shop.example';
const AUD = 'parley';

async function refused(
  server: TestServer,
  token: string,
): Promise<{ code: string; close: number; message: string }> {
  const c = await TestClient.open(server.url);
  c.send({ type: 'auth', token });
  const err = await c.next((f) => f.type === 'error');
  const close = await c.closed;
  return { code: String(err.code), close, message: String(err.message) };
}

describe('authentication', () => {
  let server: TestServer;
  let key: Uint8Array;
  const now = () => Math.floor(Date.now() / 1000);
  // The founding tutorial's token, as firebase/php-jwt signs it: no exp, an integer user id.
  const tutorial = (claims: Record<string, unknown> = {}, alg = 'HS256', k?: Uint8Array) =>
    new SignJWT({ iss: ISS, aud: AUD, iat: now(), nbf: now(), user_id: 42, username: 'alice', ...claims })
      .setProtectedHeader({ alg, typ: 'JWT' })
      .sign(k ?? key);

  before(async () => {
    server = await startTestServer({
      env: { PARLEY_JWT_ISSUER: ISS, PARLEY_JWT_AUDIENCE: AUD },
      limits: { helloTimeoutMs: 300 },
    });
    key = new TextEncoder().encode(server.secret);
  });
  after(() => server.close());

  it('accepts the tutorial-shaped token and normalizes an integer user id to a string', async () => {
    const c = await TestClient.authed(server.url, await tutorial());
    const welcome = c.frames[0]!;
    assert.deepEqual(welcome.user, { id: '42', username: 'alice' });
    // No exp: valid for PARLEY_JWT_MAX_AGE (24h) after iat.
    assert.ok(Math.abs(Number(welcome.expires_at) - (Date.now() + 24 * 3600_000)) < 60_000);
    c.close();
  });

  it('refuses a token signed with another secret', async () => {
    const r = await refused(server, await tutorial({}, 'HS256', new TextEncoder().encode('x'.repeat(40))));
    assert.equal(r.code, 'auth_failed');
    assert.equal(r.close, 4501);
    assert.match(r.message, /signature/);
  });

  it('refuses alg "none"', async () => {
    const token = new UnsecuredJWT({ iss: ISS, aud: AUD, user_id: 1, username: 'mallory' })
      .setIssuedAt()
      .encode();
    const r = await refused(server, token);
    assert.equal(r.code, 'auth_failed');
    assert.equal(r.close, 4501);
  });

  it('refuses an algorithm outside the allowlist', async () => {
    const r = await refused(server, await tutorial({}, 'HS512'));
    assert.equal(r.code, 'auth_failed');
    assert.match(r.message, /algorithm/);
  });

  it('refuses an expired token with token_expired', async () => {
    const r = await refused(
      server,
      await tutorial({ iat: now() - 7200, nbf: now() - 7200, exp: now() - 3600 }),
    );
    assert.equal(r.code, 'token_expired');
    assert.equal(r.close, 4501);
  });

  it('refuses a token without exp whose iat is older than the maximum age', async () => {
    const r = await refused(server, await tutorial({ iat: now() - 25 * 3600, nbf: now() - 25 * 3600 }));
    assert.equal(r.code, 'token_expired');
  });

  it('refuses a token that is not valid yet', async () => {
    const r = await refused(server, await tutorial({ nbf: now() + 3600 }));
    assert.equal(r.code, 'auth_failed');
    assert.match(r.message, /nbf/);
  });

  it('refuses a wrong issuer and a wrong audience', async () => {
    assert.match((await refused(server, await tutorial({ iss: 'https://evil.example' }))).message, /iss/);
    assert.match((await refused(server, await tutorial({ aud: 'other' }))).message, /aud/);
  });

  it('refuses empty, non-scalar and absurdly long user ids', async () => {
    for (const user_id of ['', { id: 1 }, 'x'.repeat(500), 1.5]) {
      const r = await refused(server, await tutorial({ user_id }));
      assert.equal(r.code, 'auth_failed', JSON.stringify(user_id));
    }
  });

  it('never echoes the token in an error', async () => {
    const token = `${await tutorial()}garbage`;
    const c = await TestClient.open(server.url);
    c.send({ type: 'auth', token });
    const err = await c.next((f) => f.type === 'error');
    assert.ok(!JSON.stringify(err).includes(token.slice(10, 40)));
  });

  it('closes a socket that does not authenticate in time with 4003', async () => {
    const c = await TestClient.open(server.url);
    const err = await c.next((f) => f.type === 'error');
    assert.equal(err.code, 'auth_timeout');
    assert.equal(await c.closed, 4003);
  });

  it('answers frames sent before auth with not_authenticated and keeps the socket for auth', async () => {
    const c = await TestClient.open(server.url);
    c.send({ type: 'subscribe', channel: 'general', ref: 1 });
    const err = await c.next((f) => f.type === 'error');
    assert.equal(err.code, 'not_authenticated');
    assert.equal(err.ref, 1);
    c.send({ type: 'auth', token: await tutorial() });
    await c.next((f) => f.type === 'welcome');
    c.close();
  });

  it('handles frames sent right behind auth, before welcome arrives', async () => {
    const c = await TestClient.open(server.url);
    c.send({ type: 'auth', token: await tutorial({ user_id: 'pipeliner' }) });
    c.send({ type: 'subscribe', channel: 'general', ref: 'sub' });
    const reply = await c.next((f) => f.ref === 'sub');
    assert.equal(reply.type, 'subscribed');
    assert.equal(c.frames[0]!.type, 'welcome');
    c.close();
  });

  it('refuses a browser Origin from another site', async () => {
    await assert.rejects(TestClient.open(server.url, { Origin: 'https://evil.example' }), /403/);
  });
});

describe('token expiry on a live connection', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ limits: { tokenExpiryWarningMs: 1500 } });
  });
  after(() => server.close());

  it('warns, accepts a refresh, and closes with 4002 when a token expires unrefreshed', async () => {
    const c = await TestClient.authed(server.url, await server.token('u1', 'ann', 2));
    assert.equal(c.frames[0]!.type, 'welcome', 'the warning never precedes welcome');
    const warn = await c.next((f) => f.type === 'token_expiring');
    assert.ok(Number(warn.expires_at) > Date.now() - 1000);
    const refreshed = await c.request({ type: 'refresh', token: await server.token('u1', 'ann', 3) });
    assert.equal(refreshed.type, 'refreshed');
    // The refreshed token expires too; no second refresh → closed, reconnect-able.
    assert.equal(await c.closed, 4002);
    assert.ok(c.frames.some((f) => f.type === 'error' && f.code === 'token_expired'));
  });

  it('keeps one timer per open connection: the token’s, not the hello deadline’s', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const clients = await Promise.all(
      Array.from({ length: 10 }, async (_, i) =>
        TestClient.authed(server.url, await server.token(`t${i}`, 'tim')),
      ),
    );
    // Idle connections hold per-connection objects only: a warning and an expiry timer at once,
    // or a hello timer left behind, would be 2–3 each.
    assert.ok(
      timers() - before <= clients.length,
      `${timers() - before} timers for ${clients.length} connections`,
    );
    for (const c of clients) c.close();
  });

  it('forgets a connection once its socket closes (the connections gauge goes back)', async (t) => {
    // A server of its own: the other tests' sockets close in the background.
    const server = await startTestServer();
    t.after(() => server.close());
    const open = async () => {
      const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
      return Number(/^parley_connections (\d+)$/m.exec(text)?.[1]);
    };
    const before = await open();
    assert.equal(before, 0);
    const clients = await Promise.all(
      Array.from({ length: 5 }, async (_, i) =>
        TestClient.authed(server.url, await server.token(`g${i}`, 'gus')),
      ),
    );
    assert.equal(await open(), before + clients.length);
    for (const c of clients) c.close();
    await Promise.all(clients.map((c) => c.closed));
    await until(async () => (await open()) === before, 'the gauge to drop back');
  });

  it('handles an idle connection’s next frames in order, each answered once', async () => {
    const c = await TestClient.authed(server.url, await server.token('p1', 'pam'));
    assert.equal((await c.request({ type: 'ping' })).type, 'pong');
    // Idle now (nothing queued); a burst of pipelined frames still gets answers in order.
    for (let i = 1; i <= 20; i++) c.send({ type: 'ping', ref: `burst${i}` });
    const pongs = await c.collect((f) => f.type === 'pong' && String(f.ref).startsWith('burst'), 20);
    assert.deepEqual(
      pongs.map((f) => f.ref),
      Array.from({ length: 20 }, (_, i) => `burst${i + 1}`),
    );
    assert.equal((await c.request({ type: 'ping' })).type, 'pong', 'and again after going idle');
    c.close();
  });

  it('refuses a refresh token for another user', async () => {
    const c = await TestClient.authed(server.url, await server.token('u1', 'ann'));
    const reply = await c.request({ type: 'refresh', token: await server.token('u2', 'bob') });
    assert.equal(reply.type, 'error');
    assert.equal(reply.code, 'auth_failed');
    c.close();
  });
});
