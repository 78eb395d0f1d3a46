import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';

describe('presence in a channel with more than presenceMax users online', () => {
  let server: TestServer;
  const clients: TestClient[] = [];
  const connect = (id: string) => TestClient.as(server, id, clients);

  before(async () => {
    server = await startTestServer({ limits: { presenceMax: 2 } });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });

  it('tells joins and leaves only up to presenceMax users, and lists only the subscriber beyond', async () => {
    const presenceOf = (c: TestClient) =>
      c.frames
        .filter((f) => f.type === 'presence')
        .map((f) => `${String(f.event)} ${(f.user as { id: string }).id}`);
    const a = await connect('big-a');
    const b = await connect('big-b');
    const c = await connect('big-c');
    const subA = await a.request({ type: 'subscribe', channel: 'general', history: 0 });
    assert.deepEqual(subA.presence, [{ id: 'big-a', username: 'BIG-A' }]);
    assert.equal(subA.presence_count, 1);
    const subB = await b.request({ type: 'subscribe', channel: 'general', history: 0 });
    assert.deepEqual(
      (subB.presence as { id: string }[]).map((u) => u.id),
      ['big-a', 'big-b'],
    );
    assert.equal(subB.presence_count, 2);
    await a.next((f) => f.type === 'presence' && f.event === 'join');

    // The third user makes three online: no join event, and a list of one with the count.
    const subC = await c.request({ type: 'subscribe', channel: 'general', history: 0 });
    assert.deepEqual(subC.presence, [{ id: 'big-c', username: 'BIG-C' }]);
    assert.equal(subC.presence_count, 3);
    // The presence query still gives everyone.
    const list = await a.request({ type: 'presence', channel: 'general' });
    assert.deepEqual(
      (list.users as { id: string }[]).map((u) => u.id),
      ['big-a', 'big-b', 'big-c'],
    );

    // C leaves while three are online: not told. Then B leaves with two online: told.
    c.close();
    await c.closed;
    for (;;) {
      const now = await a.request({ type: 'presence', channel: 'general' });
      if ((now.users as unknown[]).length === 2) break;
    }
    b.close();
    await a.next((f) => f.type === 'presence' && f.event === 'leave');
    assert.deepEqual(presenceOf(a), ['join big-b', 'leave big-b']);
  });
});
