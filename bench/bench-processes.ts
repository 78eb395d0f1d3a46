/**
 * The processes of a benchmark run: a server under test (Parley as configured by a scenario's
 * variant, or Socket.IO), with what it needs started beside it (a fresh MariaDB or PostgreSQL
 * database, a private Redis, a webhook receiver), and the load generators, each a child
 * process pinned to its core and driven over IPC.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type FreshDatabase, freshDatabase } from '../test/support/fresh-database.js';
import { startTestRedis, type TestRedis } from '../test/support/redis-server.js';
import type { GeneratorRequest, ServerKind } from './generator-protocol.js';
import type { ParleyVariant } from './scenarios.js';
import type { BatchSummary, LoopSummary } from './servers/server-stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The local database servers the store variants use (override with these variables). */
const DATABASE_SERVERS = {
  mysql: process.env.PARLEY_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
  postgres: process.env.PARLEY_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
} as const;

/** A server under test. */
export interface ServerHandle {
  /** The process the orchestrator started (with workers: their primary). */
  readonly pid: number;
  readonly port: number;
  stats(gc: boolean): Promise<ServerStats>;
  request(msg: { cmd: 'profile-start' } | { cmd: 'profile-stop'; file: string }): Promise<unknown>;
  /** Webhook deliveries the receiver answered so far (webhook variants; else 0). */
  webhooksReceived(): number;
  stop(): Promise<void>;
}

/** What a server under test answers to `stats` (batches and loop from Parley only). */
export interface ServerStats {
  readonly rss: number;
  readonly heapUsed: number;
  readonly batches?: BatchSummary;
  readonly loop?: LoopSummary;
  /** Every process of the server (a `--workers` primary and its workers), for /proc. */
  readonly pids?: readonly number[];
}

/** A load generator process. */
export interface GeneratorHandle {
  request<T>(req: GeneratorRequest): Promise<T>;
  stop(): void;
}

function pin(core: number, pinned: boolean, argv: readonly string[]): [string, string[]] {
  return pinned ? ['taskset', ['-c', String(core), ...argv]] : [argv[0]!, argv.slice(1)];
}

/** What runs beside a server and goes with it. */
interface Extras {
  readonly env: NodeJS.ProcessEnv;
  readonly received: () => number;
  readonly close: () => Promise<void>;
}

async function startExtras(variant: ParleyVariant, dir: string, kind: ServerKind): Promise<Extras> {
  const env: NodeJS.ProcessEnv = {};
  const closers: (() => Promise<void>)[] = [];
  let received = 0;
  try {
    if (kind === 'socketio') {
      if (variant.compression === true) env.PARLEY_BENCH_SOCKETIO_DEFLATE = '1';
      return { env, received: () => 0, close: async () => {} };
    }
    const store = variant.store ?? 'sqlite';
    if (store === 'sqlite') env.PARLEY_DATABASE_URL = `sqlite:${join(dir, 'parley.db')}`;
    else {
      const db: FreshDatabase = await freshDatabase(store, DATABASE_SERVERS[store]);
      closers.push(() => db.drop());
      env.PARLEY_DATABASE_URL = db.url;
    }
    if ((variant.workers ?? 1) > 1) {
      const redis: TestRedis = await startTestRedis();
      closers.push(() => redis.stop());
      env.PARLEY_REDIS_URL = redis.url;
      env.PARLEY_BENCH_WORKERS = String(variant.workers);
    }
    if (variant.compression === true) env.PARLEY_COMPRESSION = 'on';
    if (variant.presenceMax !== undefined) env.PARLEY_PRESENCE_MAX = String(variant.presenceMax);
    if (variant.webhooks === true) {
      const receiver: Server = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          received++;
          res.writeHead(200).end();
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      closers.push(
        () =>
          new Promise<void>((resolve) => {
            receiver.closeAllConnections();
            receiver.close(() => resolve());
          }),
      );
      env.PARLEY_WEBHOOK_URLS = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      env.PARLEY_WEBHOOK_SECRET = 'bench-webhook-secret-0123456789abcdef';
    }
    return {
      env,
      received: () => received,
      close: async () => {
        for (const close of closers.reverse()) await close().catch(() => {});
      },
    };
  } catch (err) {
    for (const close of closers.reverse()) await close().catch(() => {});
    throw err;
  }
}

/** Starts a server under test with its extras; rejects (having cleaned up) if it cannot. */
export async function startServer(
  kind: ServerKind,
  o: { dir: string; secret: string; rooms: number; pinned: boolean; variant: ParleyVariant },
): Promise<ServerHandle> {
  const extras = await startExtras(o.variant, o.dir, kind);
  const workers = kind !== 'socketio' && (o.variant.workers ?? 1) > 1;
  const entry = join(ROOT, 'bench', 'servers', workers ? 'parley-workers-server.ts' : `${kind}-server.ts`);
  // Node's own --cpu-prof of the whole server process, every thread (the SQLite append worker
  // included), written when it exits; --cpu-prof of run.ts covers the main thread's steps only.
  const profDir = process.env.PARLEY_BENCH_SERVER_CPU_PROF_DIR;
  const [cmd, args] = pin(0, o.pinned, [
    process.execPath,
    '--expose-gc',
    ...(profDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profDir}`]),
    '--import',
    'tsx',
    entry,
  ]);
  const big = String(1_000_000);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PARLEY_JWT_SECRET: o.secret,
    PARLEY_LOG_LEVEL: 'warn',
    PARLEY_DEFAULT_CHANNELS: Array.from({ length: o.rooms }, (_, i) => `r${i}`).join(','),
    // Rate limits out of the way: the benchmark measures capacity, not the limits.
    PARLEY_PUBLISH_PER_SECOND: big,
    PARLEY_PUBLISH_BURST: big,
    PARLEY_FRAMES_PER_SECOND: big,
    PARLEY_FRAMES_BURST: big,
    PARLEY_CONNECT_PER_SECOND_PER_IP: big,
    PARLEY_CONNECT_BURST_PER_IP: big,
    PARLEY_HTTP_CONNECTIONS_PER_IP: big,
    PARLEY_HELLO_TIMEOUT_MS: '60000',
    PARLEY_SEND_QUEUE_MAX_BYTES: String(16 * 2 ** 20),
    ...extras.env,
  };
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, (v: unknown) => void>();
  let nextId = 1;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${kind} server did not start in 60 s`)), 60_000);
      child.on('message', (m: { listening?: number; id?: number }) => {
        if (m.listening !== undefined) {
          clearTimeout(timer);
          resolve(m.listening);
        } else if (m.id !== undefined) {
          pending.get(m.id)?.(m);
          pending.delete(m.id);
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${kind} server exited before listening`));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    await extras.close();
    throw err;
  }
  const ask = (msg: object) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      const t = setTimeout(() => reject(new Error('the server did not answer in 60 s')), 60_000);
      pending.set(id, (v) => {
        clearTimeout(t);
        resolve(v);
      });
      child.send({ ...msg, id });
    });
  return {
    pid: child.pid!,
    port,
    stats: (gc) => ask({ cmd: 'stats', gc }) as Promise<ServerStats>,
    request: (msg) => ask(msg),
    webhooksReceived: extras.received,
    stop: async () => {
      if (child.exitCode === null && child.connected) child.send({ cmd: 'stop' });
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(kill);
      await extras.close();
    },
  };
}

/** Starts a load generator on `core` (when pinned). */
export async function startGenerator(pinned: boolean, core = 1): Promise<GeneratorHandle> {
  const entry = join(ROOT, 'bench', 'load-generator.ts');
  const [cmd, args] = pin(core, pinned, [
    process.execPath,
    '--max-old-space-size=4096',
    '--import',
    'tsx',
    entry,
  ]);
  const child: ChildProcess = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let waiter: { resolve: (v: unknown) => void; reject: (e: Error) => void } | undefined;
  const started = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('load generator did not start')), 60_000);
    child.once('message', () => {
      clearTimeout(t);
      resolve();
    });
  });
  await started;
  child.on('message', (m: { failure?: string }) => {
    const w = waiter;
    waiter = undefined;
    if (m.failure !== undefined) w?.reject(new Error(m.failure));
    else w?.resolve(m);
  });
  child.once('exit', () => waiter?.reject(new Error('load generator exited')));
  return {
    request: <T>(req: GeneratorRequest) =>
      new Promise<T>((resolve, reject) => {
        // Every request is bounded: setups by their join timeout, steps by their duration.
        const limit = req.cmd === 'step' ? req.durationMs + req.drainMs + 120_000 : 15 * 60_000;
        const t = setTimeout(() => reject(new Error(`generator: no answer to ${req.cmd}`)), limit);
        if (!child.connected) {
          clearTimeout(t);
          reject(new Error('load generator exited'));
          return;
        }
        waiter = {
          resolve: (v) => {
            clearTimeout(t);
            resolve(v as T);
          },
          reject: (e) => {
            clearTimeout(t);
            reject(e);
          },
        };
        child.send(req);
      }),
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}

/** The soft open-file limit of this process (children inherit it). */
export function openFileLimit(): number {
  const m = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  return m === null ? 1024 : Number(m[1]);
}

/** Raises this process's open-file limit where allowed (its children inherit it). */
export function raiseFdLimit(log: (line: string) => void): void {
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), '--nofile=200000:200000'], { stdio: 'ignore' });
  } catch {
    log('could not raise the open-file limit (prlimit); large idle scenarios may fail');
  }
}
