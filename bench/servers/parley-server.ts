/**
 * Parley as the benchmark runs it: the same composition as `parley serve` (src/server/main.ts:
 * config from the environment, the store `PARLEY_DATABASE_URL` names, memory bus, presence and
 * history cache — or Redis ones when `PARLEY_REDIS_URL` is set, as a `--workers` worker has —
 * and the HMAC token verifier), plus a group-commit `onBatch` hook so the benchmark can report
 * the batch sizes it saw. Speaks to the orchestrator (or, as a cluster worker, to
 * `parley-workers-server.ts`) over the IPC channel: `{ listening: port }` once up; answers
 * `{ cmd: 'stats' }` with memory, batch and event-loop delay statistics; stops on
 * `{ cmd: 'stop' }` or when the parent goes away. `PARLEY_BENCH_SQLITE_APPEND_WORKER=0` commits
 * appends on the event loop (`openStore`'s `sqliteAppendWorker: false`) instead of in the
 * worker thread, for comparisons.
 *
 *   PARLEY_JWT_SECRET=… PARLEY_DATABASE_URL=sqlite:/tmp/x/parley.db node --import tsx bench/servers/parley-server.ts
 */
import { pino } from 'pino';
import { HmacTokenVerifier } from '../../src/server/auth/hmac-token-verifier.js';
import type { Bus } from '../../src/server/bus/bus.js';
import { MemoryBus } from '../../src/server/bus/memory-bus.js';
import { RedisBus } from '../../src/server/bus/redis-bus.js';
import type { HistoryCache } from '../../src/server/cache/history-cache.js';
import { MemoryHistoryCache } from '../../src/server/cache/memory-history-cache.js';
import { RedisHistoryCache } from '../../src/server/cache/redis-history-cache.js';
import { loadConfig } from '../../src/server/config.js';
import { ParleyServer } from '../../src/server/parley-server.js';
import { MemoryPresence } from '../../src/server/presence/memory-presence.js';
import type { Presence } from '../../src/server/presence/presence.js';
import { RedisPresence } from '../../src/server/presence/redis-presence.js';
import { openStore } from '../../src/server/store/open-store.js';
import { BatchStats, LoopStats, serveStats } from './server-stats.js';

const batches = new BatchStats();
const loop = new LoopStats();
const config = loadConfig(process.env, { host: '127.0.0.1', port: 0 });
const logger = pino({ level: config.logLevel });
const onError = (err: unknown, what: string) => logger.error({ err }, what);
let bus: Bus;
let presence: Presence;
let cache: HistoryCache;
if (config.redisUrl !== undefined) {
  bus = await RedisBus.connect(config.redisUrl, { onError });
  presence = await RedisPresence.connect(config.redisUrl, { onError });
  cache = await RedisHistoryCache.connect(config.redisUrl, { onError });
} else {
  bus = new MemoryBus();
  presence = new MemoryPresence();
  cache = new MemoryHistoryCache();
}
const store = await openStore(config.databaseUrl, {
  commitBatchMax: config.limits.commitBatchMax,
  commitDelayMs: config.limits.commitDelayMs,
  queryTimeoutMs: config.limits.dbQueryTimeoutMs,
  connectTimeoutMs: config.limits.dbConnectTimeoutMs,
  onBatch: (size, ms) => batches.add(size, ms),
  sqliteAppendWorker: process.env.PARLEY_BENCH_SQLITE_APPEND_WORKER !== '0',
});
const server = await ParleyServer.start(config, {
  store,
  bus,
  presence,
  cache,
  verifier: new HmacTokenVerifier(config.jwt),
  logger,
});
serveStats(
  server.port,
  () => ({ batches: batches.take(), loop: loop.take(), pids: [process.pid] }),
  () => server.close(),
);
