import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type FreshDatabase, freshDatabase, testServerUrl } from '../support/fresh-database.js';
import { APP, nextEvent, type Pusher, pusherClient, pusherSdk } from '../support/pusher-server.js';
import { redisServerMissing, startTestRedis, type TestRedis } from '../support/redis-server.js';
import { type ServeProcess, startServeProcess } from '../support/serve-process.js';
import { until } from '../support/until.js';

const missing = await redisServerMissing();

// Two `parley serve` nodes on one database and Redis, with pusher-js clients on both.
describe('the Pusher endpoint on two nodes over Redis', { skip: missing, timeout: 120_000 }, () => {
  let db: FreshDatabase;
  let redis: TestRedis;
  let receiver: Server;
  const hooks: Record<string, unknown>[] = [];
  const nodes: ServeProcess[] = [];
  const clients: Pusher[] = [];
  const client = (node: ServeProcess, member?: { user_id: string; user_info?: Record<string, unknown> }) => {
    const c = pusherClient(node.port, member === undefined ? {} : { member });
    clients.push(c);
    return c;
  };

  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        hooks.push(...(JSON.parse(body) as { events: Record<string, unknown>[] }).events);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const apps = join(tmpdir(), `parley-pusher-cluster-${process.pid}.json`);
    const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
    await writeFile(apps, JSON.stringify({ apps: [{ ...APP, webhooks: [hookUrl], webhook_hold_ms: 200 }] }));
    db = await freshDatabase(testServerUrl('postgres') ? 'postgres' : 'sqlite');
    redis = await startTestRedis();
    const env = {
      PARLEY_JWT_SECRET: randomBytes(32).toString('hex'),
      PARLEY_REDIS_URL: redis.url,
      PARLEY_PUSHER_APPS_FILE: apps,
      PARLEY_CONNECT_BURST_PER_IP: '10000',
    };
    for (let i = 0; i < 2; i++) nodes.push(await startServeProcess(['--db', db.url], env));
  });

  after(async () => {
    for (const c of clients) c.disconnect();
    for (const n of nodes) if (n.child.exitCode === null) n.child.kill('SIGTERM');
    await Promise.all(nodes.map((n) => n.exited));
    receiver.close();
    await redis?.stop();
    await db?.drop();
  });

  it('delivers an event triggered on one node to subscribers on the other', async () => {
    const [a, b] = nodes as [ServeProcess, ServeProcess];
    const onB = client(b).subscribe('news');
    await nextEvent(onB, 'pusher:subscription_succeeded');
    const got = nextEvent(onB, 'story');
    await pusherSdk(a.port).trigger('news', 'story', { id: 1 });
    assert.deepEqual(await got, { id: 1 });
  });

  it('counts a user with tabs on both nodes once: one member_added, one webhook, one user', async () => {
    const [a, b] = nodes as [ServeProcess, ServeProcess];
    const watcher = client(a, { user_id: 'watcher' }).subscribe('presence-team');
    await nextEvent(watcher, 'pusher:subscription_succeeded');
    const added: string[] = [];
    watcher.bind('pusher:member_added', (m: { id: string }) => added.push(m.id));
    const tabs = [client(a, { user_id: 'ann' }), client(b, { user_id: 'ann' })];
    for (const t of tabs) await nextEvent(t.subscribe('presence-team'), 'pusher:subscription_succeeded');
    const users = async (node: ServeProcess) =>
      (await (await pusherSdk(node.port).get({ path: '/channels/presence-team/users' })).json()) as {
        users: { id: string }[];
      };
    await until(async () => (await users(b)).users.length === 2, 'both users listed');
    assert.deepEqual((await users(b)).users.map((u) => u.id).sort(), ['ann', 'watcher']);
    assert.deepEqual((await users(a)).users.map((u) => u.id).sort(), ['ann', 'watcher']);
    await until(() => added.length >= 1, 'ann announced');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(added, ['ann'], 'announced once, not per tab');
    const annAdded = () => hooks.filter((h) => h.name === 'member_added' && h.user_id === 'ann');
    assert.equal(annAdded().length, 1, 'one webhook for ann across both nodes');
    // The tab on node b goes: ann is still online through node a.
    tabs[1]?.disconnect();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(hooks.filter((h) => h.name === 'member_removed' && h.user_id === 'ann').length, 0);
    tabs[0]?.disconnect();
    await until(() => hooks.some((h) => h.name === 'member_removed' && h.user_id === 'ann'), 'ann removed');
    assert.equal(hooks.filter((h) => h.name === 'member_removed' && h.user_id === 'ann').length, 1);
  });
});
