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
import { AdminEventsReader } from '../support/admin-events-reader.js';
import { type FreshDatabase, freshDatabase } from '../support/fresh-database.js';
import { TEST_API_KEY } from '../support/server-api.js';
import { signTestToken } from '../support/sign-test-token.js';
import { TestClient } from '../support/test-client.js';

// Two nodes on one database and the test Redis (their own key prefix): a console open on node
// A sees node B's figures and the events passing through node B.
const redisUrl = process.env.PARLEY_TEST_REDIS_URL;
const KEY = { 'X-Api-Key': TEST_API_KEY };

describe('admin console across nodes (#17)', {
  skip: redisUrl === undefined ? 'PARLEY_TEST_REDIS_URL is not set' : false,
}, () => {
  const secret = randomBytes(32).toString('hex');
  const prefix = `parley-admin-test-${randomBytes(4).toString('hex')}:`;
  const servers: ParleyServer[] = [];
  const clients: TestClient[] = [];
  let db: FreshDatabase;

  const node = async () => {
    const base = loadConfig(
      { PARLEY_JWT_SECRET: secret, PARLEY_API_KEY: TEST_API_KEY },
      { port: 0, host: '127.0.0.1', databaseUrl: db.url },
    );
    const config = { ...base, limits: { ...base.limits, adminWatchMs: 200 } };
    const server = await ParleyServer.start(config, {
      store: await openStore(db.url),
      bus: await RedisBus.connect(redisUrl as string, { prefix }),
      presence: new MemoryPresence(),
      verifier: new HmacTokenVerifier(config.jwt),
      logger: pino({ level: process.env.PARLEY_TEST_LOG ?? 'silent' }),
    });
    servers.push(server);
    return { server, httpUrl: `http://127.0.0.1:${server.port}`, url: `ws://127.0.0.1:${server.port}/ws` };
  };

  let a: Awaited<ReturnType<typeof node>>;
  let b: Awaited<ReturnType<typeof node>>;
  before(async () => {
    db = await freshDatabase('sqlite');
    a = await node();
    b = await node();
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    for (const s of servers) await s.close();
    await db?.drop();
  });

  it("shows on node A the other node's connections and a publish made through it", async () => {
    const stream = await AdminEventsReader.open(a.httpUrl, KEY, { channel: 'general' });
    // Node B answers the watch: from then on its tap is on.
    await stream.next((e) => e.event === 'nodes' && (e.data.nodes as unknown[]).length === 2);
    const erin = await TestClient.authed(b.url, await signTestToken(secret, 'erin'));
    clients.push(erin);
    await erin.request({ type: 'subscribe', channel: 'general', history: 0 });
    await erin.request({ type: 'publish', channel: 'general', text: 'hello from B', client_msg_id: 'b1' });
    const published = await stream.entry((e) => e.type === 'publish' && e.user === 'erin');
    assert.equal(published.channel, 'general');
    const nodes = await stream.next(
      (e) =>
        e.event === 'nodes' && (e.data.nodes as { users: string[] }[]).some((n) => n.users.includes('erin')),
    );
    const reports = nodes.data.nodes as { node: string; connections: number; users: string[] }[];
    const onB = reports.find((n) => n.users.includes('erin'));
    assert.equal(onB?.connections, 1);
    assert.notEqual(onB?.node, await nodeOf(a.httpUrl), 'erin is on node B');
    assert.equal(published.node, onB?.node, 'the publish was recorded on node B');
    await stream.close();
  });
});

async function nodeOf(httpUrl: string): Promise<string> {
  const res = await fetch(`${httpUrl}/api/admin/nodes`, { headers: KEY });
  return ((await res.json()) as { node: string }).node;
}
