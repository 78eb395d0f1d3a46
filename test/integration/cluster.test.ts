import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ParleyClient } from '../../src/client/index.js';
import type { Message } from '../../src/protocol/frames.js';
import { liveSockets } from '../support/droppable-web-socket.js';
import { type FreshDatabase, freshDatabase, testServerUrl } from '../support/fresh-database.js';
import { redisServerMissing, startTestRedis, type TestRedis } from '../support/redis-server.js';
import { connectResilientClient } from '../support/resilient-client.js';
import { type ServeProcess, startServeProcess } from '../support/serve-process.js';
import { signTestToken } from '../support/sign-test-token.js';
import { until } from '../support/until.js';

const missing = await redisServerMissing();
const CHANNELS = ['general', 'second'];

describe('three nodes on one database and Redis, with faults', { skip: missing, timeout: 180_000 }, () => {
  let db: FreshDatabase;
  let redis: TestRedis;
  let secret: string;
  let env: Record<string, string>;
  const nodes: ServeProcess[] = [];
  const clients: ParleyClient[] = [];

  const token = (id: string) => signTestToken(secret, id);
  const client = (id: string, node: ServeProcess) =>
    connectResilientClient(node.url, () => token(id), clients);

  before(async () => {
    const kind = testServerUrl('postgres') ? 'postgres' : testServerUrl('mysql') ? 'mysql' : 'sqlite';
    db = await freshDatabase(kind);
    redis = await startTestRedis();
    secret = randomBytes(32).toString('hex');
    env = {
      PARLEY_JWT_SECRET: secret,
      PARLEY_REDIS_URL: redis.url,
      PARLEY_PUBLISH_PER_SECOND: '10000',
      PARLEY_PUBLISH_BURST: '10000',
      PARLEY_CONNECT_BURST_PER_IP: '10000',
    };
    for (let i = 0; i < 3; i++) nodes.push(await startServeProcess(['--db', db.url], env));
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    for (const n of nodes) if (n.child.exitCode === null) n.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    await redis?.stop();
    await db?.drop();
  });

  it('delivers every acked message to every client in the database’s order, once', async () => {
    const setup = await client('owner', nodes[0]!);
    await setup.createChannel('second');
    // Listeners spread over the nodes, each on both channels, from the first message on.
    const received = new Map<ParleyClient, Map<string, Message[]>>();
    for (let i = 0; i < 9; i++) {
      const c = await client(`listener${i}`, nodes[i % 3]!);
      const got = new Map(CHANNELS.map((ch) => [ch, [] as Message[]]));
      received.set(c, got);
      c.on('message', (m) => got.get(m.channel)?.push(m));
      for (const ch of CHANNELS) await c.subscribe(ch, { history: 0 });
    }
    const senders = await Promise.all([0, 1, 2].map((i) => client(`sender${i}`, nodes[i]!)));
    const acked: string[] = [];
    const perSender = 60;
    const faults = async (n: number) => {
      if (n === 20) {
        // A node dies without a goodbye and comes back on its port.
        const port = nodes[1]!.port;
        nodes[1]!.child.kill('SIGKILL');
        await nodes[1]!.exited;
        nodes[1] = await startServeProcess(['--db', db.url, '--port', String(port)], env);
      } else if (n === 35) {
        await redis.stop();
        // Every node reports itself degraded (still serving) while its bus is down.
        const readyz = async (node: ServeProcess) =>
          ((await (await fetch(`http://127.0.0.1:${node.port}/readyz`)).json()) as { status: string }).status;
        for (const node of nodes) {
          const deadline = Date.now() + 10_000;
          while ((await readyz(node)) !== 'degraded') {
            if (Date.now() > deadline) throw new Error('a node never reported degraded');
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      } else if (n === 42) {
        await redis.start();
      } else if (n % 15 === 7) {
        // Random client drops.
        for (const s of [...liveSockets].filter((_, i) => i % 4 === n % 4)) s.terminate();
      }
    };
    await Promise.all(
      senders.map(async (s, i) => {
        for (let n = 0; n < perSender; n++) {
          if (i === 0) await faults(n);
          const ack = await s.publish(CHANNELS[n % 2]!, `s${i} #${n}`);
          acked.push(ack.id);
        }
      }),
    );
    assert.equal(acked.length, perSender * 3);

    // The database's order, read through a fresh client.
    const reader = await client('reader', nodes[2]!);
    const stored = new Map<string, string[]>();
    for (const ch of CHANNELS) {
      const ids: string[] = [];
      for (let after = 0; ; ) {
        const page = await reader.history(ch, { after, limit: 100 });
        ids.push(...page.messages.map((m) => m.id));
        if (!page.has_more) break;
        after = page.messages.at(-1)!.seq;
      }
      stored.set(ch, ids);
    }
    const all = new Set([...stored.values()].flat());
    for (const id of acked) assert.ok(all.has(id), `acked ${id} is stored`);

    for (const ch of CHANNELS) {
      const want = stored.get(ch)!;
      await until(
        () => [...received.values()].every((got) => got.get(ch)!.length >= want.length),
        `every listener to have all of ${ch}`,
        60_000,
      );
      for (const got of received.values()) {
        assert.deepEqual(
          got.get(ch)!.map((m) => m.id),
          want,
        );
      }
    }
  });
});
