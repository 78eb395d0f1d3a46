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
import { type FreshDatabase, freshDatabase, testServerUrl } from '../support/fresh-database.js';
import { redisServerMissing, startTestRedis, type TestRedis } from '../support/redis-server.js';
import { TEST_API_KEY } from '../support/server-api.js';
import { signTestToken } from '../support/sign-test-token.js';
import { TestClient } from '../support/test-client.js';

// Two nodes on one database and one (private) Redis: a user erased through node A has their
// connections on node B closed too (the kick travels the bus), and either node then says 404.

const missing = await redisServerMissing();

describe('erasure across nodes (issue 17)', { skip: missing }, () => {
  const secret = randomBytes(32).toString('hex');
  const clients: TestClient[] = [];
  let db: FreshDatabase;
  let redis: TestRedis;
  const nodes: ParleyServer[] = [];

  before(async () => {
    const kind = testServerUrl('postgres') ? 'postgres' : testServerUrl('mysql') ? 'mysql' : 'sqlite';
    db = await freshDatabase(kind);
    redis = await startTestRedis();
    for (let i = 0; i < 2; i++) {
      const config = loadConfig(
        { PARLEY_JWT_SECRET: secret, PARLEY_API_KEY: TEST_API_KEY },
        { port: 0, host: '127.0.0.1', databaseUrl: db.url },
      );
      nodes.push(
        await ParleyServer.start(config, {
          store: await openStore(db.url),
          bus: await RedisBus.connect(redis.url),
          presence: new MemoryPresence(),
          verifier: new HmacTokenVerifier(config.jwt),
          logger: pino({ level: process.env.PARLEY_TEST_LOG ?? 'silent' }),
        }),
      );
    }
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const node of nodes) await node.close();
    await redis?.stop();
    await db?.drop();
  });

  it("closes the erased user's connections on every node", async () => {
    const [a, b] = nodes as [ParleyServer, ParleyServer];
    const token = await signTestToken(secret, 'hana', 'Hana');
    const onA = await TestClient.authed(`ws://127.0.0.1:${a.port}/ws`, token);
    const onB = await TestClient.authed(`ws://127.0.0.1:${b.port}/ws`, token);
    clients.push(onA, onB);
    await onB.request({ type: 'subscribe', channel: 'general' });
    const res = await fetch(`http://127.0.0.1:${a.port}/api/server/users/hana?messages=delete`, {
      method: 'DELETE',
      headers: { 'X-Api-Key': TEST_API_KEY },
    });
    assert.equal(res.status, 200, await res.text());
    const [codeA, codeB] = await Promise.all([onA.closed, onB.closed]);
    assert.equal(codeA, codeB);
    assert.ok(codeB >= 4500 && codeB <= 4999, `a terminal close on the other node, got ${codeB}`);
    await assert.rejects(TestClient.authed(`ws://127.0.0.1:${b.port}/ws`, token), /auth failed/);
    const again = await fetch(`http://127.0.0.1:${b.port}/api/server/users/hana?messages=delete`, {
      method: 'DELETE',
      headers: { 'X-Api-Key': TEST_API_KEY },
    });
    assert.equal(again.status, 404, 'already erased, whichever node is asked');
  });
});
