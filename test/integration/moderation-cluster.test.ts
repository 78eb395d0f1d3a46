import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { HmacTokenVerifier } from '../../src/server/auth/hmac-token-verifier.js';
import { RedisBus } from '../../src/server/bus/redis-bus.js';
import { loadConfig } from '../../src/server/config.js';
import { ParleyServer } from '../../src/server/parley-server.js';
import { MemoryPresence } from '../../src/server/presence/memory-presence.js';
import { openStore } from '../../src/server/store/open-store.js';
import { CuttableLink } from '../support/cuttable-link.js';
import { type FreshDatabase, freshDatabase, testServerUrl } from '../support/fresh-database.js';
import { redisServerMissing, startTestRedis, type TestRedis } from '../support/redis-server.js';
import { TEST_API_KEY } from '../support/server-api.js';
import { signTestToken } from '../support/sign-test-token.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';

// Moderation across two nodes on one database and one Redis (issue 17): a ban made on one node
// ends the user's subscriptions on the other at once (and, when the other missed the event,
// once its link is back), and slow mode holds when one user's two tabs are on two nodes.

const missing = await redisServerMissing();

interface Node {
  readonly server: ParleyServer;
  readonly bus: RedisBus;
  readonly link: CuttableLink;
  readonly url: string;
  readonly httpUrl: string;
}

describe('moderation across two nodes', { skip: missing, timeout: 120_000 }, () => {
  const secret = randomBytes(32).toString('hex');
  const clients: TestClient[] = [];
  let db: FreshDatabase;
  let redis: TestRedis;
  let a: Node;
  let b: Node;
  let n = 0;
  const fresh = (prefix: string) => `${prefix}${++n}`;

  async function node(): Promise<Node> {
    const link = await CuttableLink.start(redis.port);
    const base = loadConfig(
      { PARLEY_JWT_SECRET: secret, PARLEY_API_KEY: TEST_API_KEY },
      { port: 0, host: '127.0.0.1', databaseUrl: db.url },
    );
    // No periodic re-checks: what reaches the other node is the bus event, or the resync.
    const limits = {
      ...base.limits,
      publishBurst: 1000,
      recheckWhileDownMs: 3_600_000,
      recheckIntervalMs: 3_600_000,
    };
    const bus = await RedisBus.connect(link.url);
    const server = await ParleyServer.start(
      { ...base, limits },
      {
        store: await openStore(db.url),
        bus,
        presence: new MemoryPresence(),
        verifier: new HmacTokenVerifier(base.jwt),
        logger: pino({ level: process.env.PARLEY_TEST_LOG ?? 'silent' }),
      },
    );
    return {
      server,
      bus,
      link,
      url: `ws://127.0.0.1:${server.port}/ws`,
      httpUrl: `http://127.0.0.1:${server.port}`,
    };
  }

  async function api(
    on: Node,
    method: string,
    path: string,
    body: unknown = {},
  ): Promise<Record<string, unknown>> {
    const res = await fetch(`${on.httpUrl}/api/server/${path}`, {
      method,
      headers: { 'X-Api-Key': TEST_API_KEY, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
    return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  }

  async function channel(owner: string, members: readonly string[]): Promise<string> {
    for (const id of [owner, ...members]) await api(a, 'PUT', `users/${id}`, { username: id });
    const id = fresh('room');
    await api(a, 'POST', 'channels', { id, owner });
    for (const m of members) await api(a, 'PUT', `channels/${id}/members/${m}`, {});
    return id;
  }

  async function connect(on: Node, user: string, channels: readonly string[]): Promise<TestClient> {
    const client = await TestClient.authed(on.url, await signTestToken(secret, user));
    clients.push(client);
    for (const ch of channels) {
      const reply = await client.request({ type: 'subscribe', channel: ch, history: 0 });
      assert.equal(reply.type, 'subscribed', JSON.stringify(reply));
    }
    return client;
  }

  before(async () => {
    const kind = testServerUrl('postgres') ? 'postgres' : testServerUrl('mysql') ? 'mysql' : 'sqlite';
    db = await freshDatabase(kind);
    redis = await startTestRedis();
    a = await node();
    b = await node();
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const x of [a, b]) {
      await x?.server.close();
      await x?.link.close();
    }
    await redis?.stop();
    await db?.drop();
  });

  it('ends the banned user’s subscription on the other node at once', async () => {
    const owner = fresh('owner');
    const bob = fresh('bob');
    const ch = await channel(owner, [bob]);
    const onB = await connect(b, bob, [ch]);
    // B has bob's moderation state cached (nothing against him) now.
    assert.equal(
      (await onB.request({ type: 'publish', channel: ch, text: 'hi', client_msg_id: 'h1' })).type,
      'ack',
    );
    await api(a, 'POST', `channels/${ch}/bans/${bob}`, { reason: 'spam' });
    const ended = await onB.next((f) => f.type === 'unsubscribed' && f.channel === ch);
    assert.equal(ended.reason, 'banned');
    const refused = await onB.request({ type: 'publish', channel: ch, text: 'again', client_msg_id: 'h2' });
    assert.equal(refused.code, 'banned');
    await api(a, 'DELETE', `channels/${ch}/bans/${bob}`);
    // The unban reaches B's cache too: he may post again there.
    await until(
      async () =>
        (await onB.request({ type: 'publish', channel: ch, text: 'back', client_msg_id: fresh('m') }))
          .type === 'ack',
      'B to let bob post after the unban',
    );
  });

  it('ends the subscription on a node that missed the ban, once its link is back', async () => {
    const owner = fresh('owner');
    const bob = fresh('bob');
    const ch = await channel(owner, [bob]);
    const onB = await connect(b, bob, [ch]);
    b.link.cut();
    await until(() => !b.bus.connected, 'B to see its bus down');
    const from = onB.frames.length;
    await api(a, 'POST', `channels/${ch}/bans/${bob}`, {});
    // While its bus is down, B reads moderation from the Store.
    const refused = await onB.request({
      type: 'publish',
      channel: ch,
      text: 'cut off',
      client_msg_id: fresh('m'),
    });
    assert.equal(refused.code, 'banned');
    b.link.restore();
    const ended = await onB.next((f) => f.type === 'unsubscribed' && f.channel === ch, 10_000, from);
    assert.equal(ended.reason, 'banned');
  });

  it('lets one of two messages through when one user’s two tabs post at once on two nodes', async () => {
    const owner = fresh('owner');
    const bob = fresh('bob');
    const ch = await channel(owner, [bob]);
    await api(a, 'PATCH', `channels/${ch}`, { slow_mode_seconds: 120 });
    const tabA = await connect(a, bob, [ch]);
    const tabB = await connect(b, bob, [ch]);
    for (let round = 0; round < 3; round++) {
      const replies = await Promise.all([
        tabA.request({ type: 'publish', channel: ch, text: `a${round}`, client_msg_id: fresh('m') }),
        tabB.request({ type: 'publish', channel: ch, text: `b${round}`, client_msg_id: fresh('m') }),
      ]);
      const kinds = replies.map((r) => (r.type === 'ack' ? 'ack' : String(r.code))).sort();
      assert.deepEqual(
        kinds,
        round === 0 ? ['ack', 'slow_mode'] : ['slow_mode', 'slow_mode'],
        `round ${round}`,
      );
    }
    const reader = await connect(a, owner, []);
    const page = await reader.request({ type: 'history', channel: ch });
    assert.equal((page.messages as unknown[]).length, 1, 'one message stored');
  });
});
