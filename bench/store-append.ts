/**
 * Store append throughput: how many appends per second the group commit sustains on a SQLite
 * file (WAL, synchronous FULL by default), with the batch sizes it ends up using.
 *
 *   node --import tsx bench/store-append.ts [--total 20000] [--burst 500] [--channels 10]
 *     [--inflight 8] [--synchronous full|normal] [--no-client-ids] [--in-thread] [--max-seconds 60]
 *     [--db URL]
 *
 * Appends are pushed in bursts of `--burst`, each burst in its own tick, spread round-robin over
 * `--channels` channels, with at most `--inflight` bursts unresolved at a time. Stops after
 * `--total` appends or `--max-seconds`, whichever comes first. Without `--db`, uses a fresh
 * SQLite file in a temp dir and deletes it afterwards. `--in-thread` commits on the event loop
 * instead of in the append worker (`sqliteAppendWorker: false`). Also reports the event-loop
 * delay seen meanwhile (`loopMs*`): how long a commit kept this thread from anything else.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTick } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { openStore } from '../src/server/store/open-store.js';
import type { AppendResult } from '../src/server/store/store.js';
import { LoopStats } from './servers/server-stats.js';

const { values } = parseArgs({
  options: {
    total: { type: 'string', default: '20000' },
    burst: { type: 'string', default: '500' },
    channels: { type: 'string', default: '10' },
    inflight: { type: 'string', default: '8' },
    synchronous: { type: 'string', default: 'full' },
    'no-client-ids': { type: 'boolean', default: false },
    'in-thread': { type: 'boolean', default: false },
    'max-seconds': { type: 'string', default: '60' },
    db: { type: 'string' },
  },
});
const total = Number(values.total);
const burst = Number(values.burst);
const channels = Number(values.channels);
const inflight = Number(values.inflight);
const maxMs = Number(values['max-seconds']) * 1000;
const synchronous = values.synchronous === 'normal' ? 'normal' : 'full';

const dir = values.db === undefined ? await mkdtemp(join(tmpdir(), 'parley-bench-')) : undefined;
const url = values.db ?? `sqlite:${join(dir as string, 'bench.db')}`;
const batches: { size: number; ms: number }[] = [];
const store = await openStore(url, {
  sqliteSynchronous: synchronous,
  onBatch: (size, ms) => batches.push({ size, ms }),
  sqliteAppendWorker: !values['in-thread'],
});
try {
  await store.migrate();
  const run = Date.now().toString(36);
  const ids = Array.from({ length: channels }, (_, i) => `bench-${run}-${i}`);
  for (const id of ids) await store.createChannel({ id, kind: 'public', title: id, owner: null });

  const loop = new LoopStats();
  const started = performance.now();
  const outstanding: Promise<AppendResult[]>[] = [];
  let pushed = 0;
  while (pushed < total && performance.now() - started < maxMs) {
    const size = Math.min(burst, total - pushed);
    const appends: Promise<AppendResult>[] = [];
    for (let i = 0; i < size; i++, pushed++) {
      appends.push(
        store.append({
          channelId: ids[pushed % channels] as string,
          userId: `user-${pushed % 97}`,
          username: 'Bench',
          text: `message ${pushed} — a typical short chat line 👋`,
          clientMsgId: values['no-client-ids'] ? null : `cid-${pushed}`,
        }),
      );
    }
    outstanding.push(Promise.all(appends));
    if (outstanding.length >= inflight) await outstanding.shift();
    await nextTick();
  }
  await Promise.all(outstanding);
  const seconds = (performance.now() - started) / 1000;
  const delay = loop.take();

  const sizes = batches.map((b) => b.size);
  const ms = batches.map((b) => b.ms).sort((a, b) => a - b);
  const result = {
    url: dir === undefined ? url : 'sqlite:<temp>/bench.db',
    synchronous,
    commitsIn: values['in-thread'] ? 'event loop' : 'worker',
    clientIds: !values['no-client-ids'],
    appends: pushed,
    seconds: Number(seconds.toFixed(3)),
    appendsPerSecond: Math.round(pushed / seconds),
    batches: batches.length,
    avgBatchSize: Number((sizes.reduce((a, b) => a + b, 0) / batches.length).toFixed(1)),
    maxBatchSize: Math.max(...sizes),
    batchMsAvg: Number((ms.reduce((a, b) => a + b, 0) / ms.length).toFixed(2)),
    batchMsP99: Number((ms[Math.floor(ms.length * 0.99)] ?? 0).toFixed(2)),
    batchMsMax: Number((ms.at(-1) ?? 0).toFixed(2)),
    loopMsP50: Number(delay.p50Ms.toFixed(2)),
    loopMsP99: Number(delay.p99Ms.toFixed(2)),
    loopMsMax: Number(delay.maxMs.toFixed(2)),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  await store.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}
