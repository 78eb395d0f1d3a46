import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';

describe('authentications in progress at once (PARLEY_AUTH_CONCURRENCY)', () => {
  let server: TestServer;
  const clients: TestClient[] = [];
  before(async () => {
    server = await startTestServer({ limits: { authConcurrency: 2, helloTimeoutMs: 5000 } });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });

  it('lets a burst wider than the limit in, each in turn, every one welcomed once', async () => {
    const opened = await Promise.all(Array.from({ length: 30 }, () => TestClient.open(server.url)));
    clients.push(...opened);
    // Some close before their turn comes: their place is given on, not lost.
    const leaving = opened.slice(0, 5);
    const staying = opened.slice(5);
    const tokens = await Promise.all(opened.map((_, i) => server.token(`burst-${i}`, `Burst ${i}`)));
    for (const [i, c] of opened.entries()) c.send({ type: 'auth', token: tokens[i] });
    for (const c of leaving) c.close();
    const welcomes = await Promise.all(staying.map((c) => c.next((f) => f.type === 'welcome')));
    assert.deepEqual(
      welcomes.map((w) => (w.user as { id: string }).id),
      staying.map((_, i) => `burst-${i + 5}`),
    );
    for (const c of staying) assert.equal(c.frames.filter((f) => f.type === 'welcome').length, 1);
    // And the node still takes new ones: no slot was kept by a socket that left.
    const late = await TestClient.authed(server.url, await server.token('late', 'Late'));
    clients.push(late);
    assert.equal((await late.request({ type: 'ping' })).type, 'pong');
  });
});
