/**
 * Parley as the benchmark runs it: the same composition as `parley serve` (src/server/main.ts:
 * config from the environment, SQLite store, memory bus and presence, jose verifier), plus a
 * group-commit `onBatch` hook so the benchmark can report the batch sizes it saw. Speaks to the
 * orchestrator over the IPC channel: `{ listening: port }` once up; answers `{ cmd: 'stats' }`
 * with memory, batch and event-loop delay statistics; stops on `{ cmd: 'stop' }` or when the
 * parent goes away. `PARLEY_BENCH_SQLITE_APPEND_WORKER=0` commits appends on the event loop
 * (`openStore`'s `sqliteAppendWorker: false`) instead of in the worker thread, for comparisons.
 *
 *   PARLEY_JWT_SECRET=… PARLEY_DATABASE_URL=sqlite:/tmp/x/parley.db node --import tsx bench/servers/parley-server.ts
 */
import { pino } from 'pino';
import { HmacTokenVerifier } from '../../src/server/auth/hmac-token-verifier.js';
import { MemoryBus } from '../../src/server/bus/memory-bus.js';
import { loadConfig } from '../../src/server/config.js';
import { ParleyServer } from '../../src/server/parley-server.js';
import { MemoryPresence } from '../../src/server/presence/memory-presence.js';
import { openStore } from '../../src/server/store/open-store.js';
import { BatchStats, LoopStats, serveStats } from './server-stats.js';

const batches = new BatchStats();
const loop = new LoopStats();
const config = loadConfig(process.env, { host: '127.0.0.1', port: 0 });
const logger = pino({ level: config.logLevel });
const store = await openStore(config.databaseUrl, {
  commitBatchMax: config.limits.commitBatchMax,
  onBatch: (size, ms) => batches.add(size, ms),
  sqliteAppendWorker: process.env.PARLEY_BENCH_SQLITE_APPEND_WORKER !== '0',
});
const server = await ParleyServer.start(config, {
  store,
  bus: new MemoryBus(),
  presence: new MemoryPresence(),
  verifier: new HmacTokenVerifier(config.jwt),
  logger,
});
serveStats(
  server.port,
  () => ({ batches: batches.take(), loop: loop.take() }),
  () => server.close(),
);
