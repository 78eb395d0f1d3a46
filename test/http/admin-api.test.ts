import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AdminEventsReader } from '../support/admin-events-reader.js';
import { serverApi, serverPost, TEST_API_KEY } from '../support/server-api.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';

const KEY = { 'X-Api-Key': TEST_API_KEY };

async function get(srv: TestServer, path: string, headers: Record<string, string>) {
  const res = await fetch(`${srv.httpUrl}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('admin console API (#17)', () => {
  let srv: TestServer;
  const clients: TestClient[] = [];

  before(async () => {
    srv = await startTestServer({
      env: { PARLEY_API_KEY: TEST_API_KEY },
      limits: { adminWatchMs: 200, publishBurst: 100 },
    });
    await serverApi(srv, 'PUT', 'users/root', { username: 'Root' });
    await serverApi(srv, 'PUT', 'users/mallory', { username: 'Mallory' });
    await serverApi(srv, 'POST', 'channels', { id: 'ops' });
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await srv?.close();
  });

  it('refuses a request without a credential, and a user who is no server admin', async () => {
    assert.equal((await get(srv, '/api/admin/users', {})).status, 401);
    const mallory = { Authorization: `Bearer ${await srv.token('mallory', 'Mallory')}` };
    const refused = await get(srv, '/api/admin/users', mallory);
    assert.equal(refused.status, 403);
    assert.equal((refused.body.error as { code: string }).code, 'forbidden');
    // Nor the server API, nor the stream.
    assert.equal((await get(srv, '/api/server/users/root', mallory)).status, 403);
    assert.equal((await fetch(`${srv.httpUrl}/api/admin/events`, { headers: mallory })).status, 403);
    assert.equal((await get(srv, '/api/admin/users', { 'X-Api-Key': 'wrong' })).status, 401);
  });

  it('lets the API key make a user a server admin, whose token then opens the admin and server APIs', async () => {
    const root = { Authorization: `Bearer ${await srv.token('root', 'Root')}` };
    assert.equal((await get(srv, '/api/admin/me', root)).status, 403);
    await serverApi(srv, 'PUT', 'users/root/admin', { admin: true });
    const me = await get(srv, '/api/admin/me', root);
    assert.equal(me.body.via, 'token');
    assert.deepEqual(me.body.user, { id: 'root', username: 'Root' });
    const byKey = await get(srv, '/api/admin/me', KEY);
    assert.equal(byKey.body.via, 'api_key');
    assert.equal(byKey.body.user, null);
    // Each feature is there exactly when its endpoint is.
    const features = byKey.body.features as Record<string, boolean>;
    const routed = async (method: string, path: string) => {
      const res = await fetch(`${srv.httpUrl}${path}`, { method, headers: KEY });
      const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
      return !(res.status === 404 && body.error?.message?.startsWith('no route') === true);
    };
    assert.equal(features.reports, await routed('GET', '/api/server/reports'));
    assert.equal(features.channel_bans, await routed('GET', '/api/server/channels/general/bans'));
    assert.equal(features.exports, await routed('GET', '/api/server/users/root/export'));
    const user = await get(srv, '/api/server/users/mallory', root);
    assert.equal(user.status, 200, 'a server admin uses the server API with their token');
    // And cleared again, the token is refused at once.
    await serverApi(srv, 'PUT', 'users/root/admin', { admin: false });
    assert.equal((await get(srv, '/api/admin/me', root)).status, 403);
    await serverApi(srv, 'PUT', 'users/root/admin', { admin: true });
  });

  it('answers not_found when making an unknown user an admin', async () => {
    const res = await fetch(`${srv.httpUrl}/api/server/users/nobody/admin`, {
      method: 'PUT',
      headers: { ...KEY, 'Content-Type': 'application/json' },
      body: JSON.stringify({ admin: true }),
    });
    assert.equal(res.status, 404);
  });

  it('searches users and channels', async () => {
    const users = await get(srv, '/api/admin/users?q=MALL', KEY);
    assert.deepEqual(
      (users.body.users as { id: string; admin: boolean; banned: boolean }[]).map((u) => [
        u.id,
        u.admin,
        u.banned,
      ]),
      [['mallory', false, false]],
    );
    const channels = await get(srv, '/api/admin/channels?q=op', KEY);
    assert.deepEqual(
      (channels.body.channels as { id: string }[]).map((c) => c.id),
      ['ops'],
    );
    assert.equal((await get(srv, '/api/admin/users?limit=1000', KEY)).status, 400);
  });

  it('reports this node and its key metrics', async () => {
    const nodes = await get(srv, '/api/admin/nodes', KEY);
    const list = nodes.body.nodes as { node: string; connections: number }[];
    assert.equal(list.length, 1);
    assert.equal(list[0]?.node, nodes.body.node);
    const metrics = await get(srv, '/api/admin/metrics', KEY);
    const values = metrics.body.metrics as Record<string, number>;
    assert.equal(typeof values.parley_connections, 'number');
    assert.equal(typeof values.parley_messages_published_total, 'number');
    assert.ok((values.parley_process_resident_memory_bytes ?? 0) > 0);
  });

  it("streams another client's connect, subscribe and publish, only those of the filtered channel, never a token", async () => {
    const root = { Authorization: `Bearer ${await srv.token('root', 'Root')}` };
    const all = await AdminEventsReader.open(srv.httpUrl, root);
    const ops = await AdminEventsReader.open(srv.httpUrl, root, { channel: 'ops' });
    const token = await srv.token('carol', 'Carol');
    const carol = await TestClient.authed(srv.url, token);
    clients.push(carol);
    assert.equal((await carol.request({ type: 'subscribe', channel: 'ops', history: 0 })).type, 'subscribed');
    await carol.request({ type: 'publish', channel: 'general', text: 'in general', client_msg_id: 'g1' });
    await carol.request({ type: 'publish', channel: 'ops', text: 'a secret plan', client_msg_id: 'o1' });

    const connect = await all.entry((e) => e.type === 'connect' && e.user === 'carol');
    assert.match(String(connect.detail), /parley-v1/);
    await all.entry((e) => e.type === 'subscribe' && e.user === 'carol' && e.channel === 'ops');
    await all.entry((e) => e.type === 'publish' && e.channel === 'general');
    const published = await ops.entry((e) => e.type === 'publish');
    assert.equal(published.channel, 'ops');
    assert.equal(published.user, 'carol');
    assert.match(String(published.detail), /seq 1/);
    // Filtered: nothing of #general, nor of no channel (carol's connect).
    assert.deepEqual(
      ops.entries().filter((e) => e.channel !== 'ops'),
      [],
    );
    for (const reader of [all, ops]) {
      assert.ok(!reader.raw.includes(token), 'no token in the stream');
      assert.ok(!reader.raw.includes('a secret plan'), 'no message text in the stream');
      assert.ok(!reader.raw.includes(TEST_API_KEY), 'no API key in the stream');
    }
    await all.close();
    await ops.close();
  });

  it('filters the stream by user', async () => {
    const stream = await AdminEventsReader.open(srv.httpUrl, KEY, { user: 'dave' });
    await serverPost(srv, 'mallory', 'ops', 'from mallory');
    await serverPost(srv, 'dave', 'ops', 'from dave');
    const entry = await stream.entry((e) => e.type === 'publish');
    assert.equal(entry.user, 'dave');
    assert.deepEqual(
      stream.entries().filter((e) => e.user !== 'dave'),
      [],
    );
    await stream.close();
  });

  it('sends the nodes every watch period', async () => {
    const stream = await AdminEventsReader.open(srv.httpUrl, KEY);
    const nodes = await stream.next((e) => e.event === 'nodes');
    const [report] = nodes.data.nodes as { sessions: number; busConnected: boolean }[];
    assert.equal(report?.busConnected, true);
    await stream.close();
  });
});
