/**
 * Parley with `PARLEY_BENCH_WORKERS` worker processes on one port, as `parley serve --workers N`
 * runs them with Redis (`PARLEY_REDIS_URL`: bus, presence and history cache on Redis, the
 * store shared): a node:cluster primary that forks `parley-server.ts` as each worker. Speaks
 * the orchestrator's IPC like `parley-server.ts`, for all its workers at once: `stats` sums
 * their memory and batches and reports the worst event-loop delay and every process id (the
 * orchestrator reads their CPU from /proc); `profile-start`/`-stop` profile the first worker.
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { BatchSummary, LoopSummary, ServerRequest } from './server-stats.js';

interface WorkerStats {
  readonly rss: number;
  readonly heapUsed: number;
  readonly batches?: BatchSummary;
  readonly loop?: LoopSummary;
}

const count = Number(process.env.PARLEY_BENCH_WORKERS ?? '2');
const send = process.send?.bind(process);
if (send === undefined) throw new Error('parley-workers-server.ts is started by bench/run.ts');

cluster.setupPrimary({
  exec: fileURLToPath(new URL('./parley-server.ts', import.meta.url)),
  execArgv: ['--expose-gc', '--import', 'tsx'],
});
const workers: Worker[] = [];
let nextId = 1;
const pending = new Map<number, (m: unknown) => void>();
const ports = await Promise.all(
  Array.from(
    { length: count },
    () =>
      new Promise<number>((resolve, reject) => {
        const worker = cluster.fork();
        workers.push(worker);
        worker.on('message', (m: { listening?: number; id?: number }) => {
          if (m.listening !== undefined) resolve(m.listening);
          else if (m.id !== undefined) {
            pending.get(m.id)?.(m);
            pending.delete(m.id);
          }
        });
        worker.once('exit', () => reject(new Error('a worker exited before listening')));
      }),
  ),
);

function ask(worker: Worker, msg: object): Promise<unknown> {
  return new Promise((resolve) => {
    const id = nextId++;
    pending.set(id, resolve);
    worker.send({ ...msg, id });
  });
}

function merge(all: readonly WorkerStats[]): object {
  const batches = all.map((s) => s.batches).filter((b): b is BatchSummary => b !== undefined);
  const loops = all.map((s) => s.loop).filter((l): l is LoopSummary => l !== undefined);
  const items = batches.reduce((a, b) => a + b.items, 0);
  const commits = batches.reduce((a, b) => a + b.count, 0);
  const ms = batches.reduce((a, b) => a + b.meanMs * b.count, 0);
  return {
    rss: all.reduce((a, s) => a + s.rss, 0) + process.memoryUsage().rss,
    heapUsed: all.reduce((a, s) => a + s.heapUsed, 0),
    batches: {
      count: commits,
      items,
      mean: commits === 0 ? 0 : items / commits,
      max: Math.max(0, ...batches.map((b) => b.max)),
      meanMs: commits === 0 ? 0 : ms / commits,
      maxMs: Math.max(0, ...batches.map((b) => b.maxMs)),
      sizeClasses: {},
    },
    loop: {
      samples: loops.reduce((a, l) => a + l.samples, 0),
      p50Ms: Math.max(0, ...loops.map((l) => l.p50Ms)),
      p99Ms: Math.max(0, ...loops.map((l) => l.p99Ms)),
      maxMs: Math.max(0, ...loops.map((l) => l.maxMs)),
    },
    pids: [process.pid, ...workers.map((w) => w.process.pid!)],
  };
}

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(0), 8000).unref();
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.process.exitCode !== null) return resolve();
          w.once('exit', () => resolve());
          w.send({ cmd: 'stop' });
        }),
    ),
  );
  process.exit(0);
};

process.on('message', (msg: ServerRequest) => {
  if (msg.cmd === 'stop') void stop();
  else if (msg.cmd === 'stats') {
    void Promise.all(workers.map((w) => ask(w, { cmd: 'stats', gc: msg.gc }) as Promise<WorkerStats>)).then(
      (all) => send({ id: msg.id, ...merge(all) }),
    );
  } else if (msg.cmd === 'profile-start' || msg.cmd === 'profile-stop') {
    void ask(workers[0]!, msg).then((m) => send({ ...(m as object), id: msg.id }));
  }
});
process.on('disconnect', () => void stop());
send({ listening: ports[0] });
