import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/start-server.js';

const SHOP = 'https://shop.example';

describe('calling the user API from other sites (CORS)', () => {
  let srv: TestServer;
  let token: string;

  before(async () => {
    srv = await startTestServer({ env: { PARLEY_ALLOWED_ORIGINS: SHOP, PARLEY_API_KEY: 'k'.repeat(40) } });
    token = await srv.token('u-cors', 'cora');
  });
  after(() => srv?.close());

  it('answers the preflight of an allowed origin with the methods and headers the API uses', async () => {
    const res = await fetch(`${srv.httpUrl}/api/channels/general/messages`, {
      method: 'OPTIONS',
      headers: {
        Origin: SHOP,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization, content-type',
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), SHOP);
    assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(res.headers.get('access-control-allow-headers') ?? '', /Authorization/);
    assert.equal(res.headers.get('access-control-allow-credentials'), null, 'tokens, not cookies');
  });

  it('lets an allowed origin read answers, errors included', async () => {
    const me = await fetch(`${srv.httpUrl}/api/me`, {
      headers: { Origin: SHOP, Authorization: `Bearer ${token}` },
    });
    assert.equal(me.status, 200);
    assert.equal(me.headers.get('access-control-allow-origin'), SHOP);
    assert.match(me.headers.get('vary') ?? '', /Origin/);
    const refused = await fetch(`${srv.httpUrl}/api/me`, { headers: { Origin: SHOP } });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('access-control-allow-origin'), SHOP);
  });

  it('gives other origins and the server API no CORS headers', async () => {
    const other = await fetch(`${srv.httpUrl}/api/me`, {
      headers: { Origin: 'https://evil.example', Authorization: `Bearer ${token}` },
    });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    const preflight = await fetch(`${srv.httpUrl}/api/me`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'GET' },
    });
    assert.notEqual(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    const server = await fetch(`${srv.httpUrl}/api/server/users/u-cors`, {
      method: 'OPTIONS',
      headers: { Origin: SHOP, 'Access-Control-Request-Method': 'GET' },
    });
    assert.equal(server.headers.get('access-control-allow-origin'), null, 'the API key stays on the backend');
  });
});
