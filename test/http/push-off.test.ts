import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { call } from './http-client.js';

// The page asks this once to decide whether to offer notifications: no failed request per channel.
describe('Web Push off (the default)', () => {
  let server: TestServer;
  let token = '';
  before(async () => {
    server = await startTestServer();
    token = await server.token('u1', 'ann');
  });
  after(async () => {
    await server?.close();
  });

  it('says so at the key route, to signed-in users only, and has no other push routes', async () => {
    const key = await call(server.httpUrl, 'GET', '/api/push/vapid-public-key', { token });
    assert.equal(key.status, 200);
    assert.deepEqual(key.body, { enabled: false });
    assert.equal((await call(server.httpUrl, 'GET', '/api/push/vapid-public-key')).status, 401);
    const level = await call(server.httpUrl, 'GET', '/api/channels/general/notifications', { token });
    assert.equal(level.status, 404);
    const sub = await call(server.httpUrl, 'POST', '/api/push/subscriptions', {
      token,
      body: { endpoint: 'https://push.example/x', keys: { p256dh: 'a', auth: 'b' } },
    });
    assert.equal(sub.status, 404);
  });
});
