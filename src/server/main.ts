import cluster, { type Worker } from 'node:cluster';
import { parseArgs } from 'node:util';
import { type Logger, pino } from 'pino';
import { ParleyError } from '../protocol/error-catalogue.js';
import { HmacTokenVerifier } from './auth/hmac-token-verifier.js';
import type { Bus } from './bus/bus.js';
import { ClusterBus, type IpcChannel } from './bus/cluster-bus.js';
import { ClusterBusRelay } from './bus/cluster-bus-relay.js';
import { MemoryBus } from './bus/memory-bus.js';
import { RedisBus } from './bus/redis-bus.js';
import type { HistoryCache } from './cache/history-cache.js';
import { MemoryHistoryCache } from './cache/memory-history-cache.js';
import { RedisHistoryCache } from './cache/redis-history-cache.js';
import { type Config, loadConfig } from './config.js';
import { ParleyMetrics } from './metrics/parley-metrics.js';
import { ParleyServer } from './parley-server.js';
import { ClusterPresence } from './presence/cluster-presence.js';
import { ClusterPresenceHost } from './presence/cluster-presence-host.js';
import { MemoryPresence } from './presence/memory-presence.js';
import type { Presence } from './presence/presence.js';
import { RedisPresence } from './presence/redis-presence.js';
import { openStore } from './store/open-store.js';
import { throttleErrors } from './throttled-errors.js';

const USAGE = 'usage: parley serve [--port N] [--host H] [--db URL] [--workers N|auto] [--dev]';

/** Workers in a row that may die before listening before the primary gives up. */
const MAX_FAILED_STARTS = 3;

/** What a worker tells the primary once it listens. */
interface ListeningMessage {
  readonly parley: 'listening';
  readonly port: number;
}

/**
 * `parley serve`: the composition root. Reads the configuration, picks the implementations,
 * starts a node (or, with `--workers N`, a primary that runs N worker nodes on one port), and
 * drains on SIGINT/SIGTERM. The only code that touches `process`.
 */
export async function runServe(argv: readonly string[]): Promise<number> {
  let config: Config;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        db: { type: 'string' },
        workers: { type: 'string' },
        dev: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    if (values.help === true) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
      throw new ParleyError('bad_request', `--port must be a port number, got "${values.port}"`);
    }
    config = loadConfig(process.env, {
      port,
      host: values.host,
      databaseUrl: values.db,
      dev: values.dev,
      workers: values.workers,
    });
  } catch (err) {
    process.stderr.write(`parley serve: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }

  const logger = pino({
    level: config.logLevel,
    redact: { paths: ['token', '*.token', 'password', '*.password', 'text', '*.text'], censor: '[redacted]' },
  });
  if (config.jwt.secretGenerated && cluster.isPrimary) {
    process.stderr.write(
      '\n  *** DEVELOPMENT MODE: using a throwaway JWT secret generated for this run. ***\n' +
        '  *** Tokens die with this process. Set PARLEY_JWT_SECRET for anything real. ***\n' +
        // `parley` is on no PATH in a clone (where `npm run dev` runs): the script's own path is.
        `  *** Sign test tokens with: node bin/parley.js token --secret ${new TextDecoder().decode(config.jwt.secret)} --user-id 1 --username me\n` +
        '  *** (where Parley is installed as a package: npx parley token …)\n\n',
    );
  }
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config, logger);
  return runNode(config, logger);
}

async function runNode(config: Config, logger: Logger): Promise<number> {
  // Redis clients report every refused command while Redis is away: one line per source each 10 s.
  const onRedisError = throttleErrors(
    (err, what, suppressed) => logger.error(suppressed > 0 ? { err, suppressed } : { err }, what),
    10_000,
  );
  const ipc = cluster.isWorker ? (process as unknown as IpcChannel) : undefined;
  let server: ParleyServer;
  try {
    let bus: Bus;
    let presence: Presence;
    // No cache between workers without Redis: one worker could not drop another's stale copy of
    // an edited message. The Store serves those reads.
    let cache: HistoryCache | undefined;
    if (config.redisUrl !== undefined) {
      bus = await RedisBus.connect(config.redisUrl, { onError: onRedisError });
      presence = await RedisPresence.connect(config.redisUrl, { onError: onRedisError });
      cache = await RedisHistoryCache.connect(config.redisUrl, { onError: onRedisError });
    } else if (ipc !== undefined) {
      bus = new ClusterBus(ipc);
      presence = new ClusterPresence(ipc);
    } else {
      bus = new MemoryBus();
      presence = new MemoryPresence();
      cache = new MemoryHistoryCache();
    }
    const metrics = new ParleyMetrics();
    const store = await openStore(config.databaseUrl, {
      commitBatchMax: config.limits.commitBatchMax,
      commitDelayMs: config.limits.commitDelayMs,
      queryTimeoutMs: config.limits.dbQueryTimeoutMs,
      connectTimeoutMs: config.limits.dbConnectTimeoutMs,
      onBatch: metrics.onBatch,
    });
    server = await ParleyServer.start(config, {
      store,
      bus,
      presence,
      verifier: new HmacTokenVerifier(config.jwt),
      logger,
      metrics,
      ...(cache === undefined ? {} : { cache }),
    });
  } catch (err) {
    process.stderr.write(`parley serve: cannot start: ${(err as Error).message}\n`);
    logger.debug({ err }, 'start failed');
    // Whatever did open (a Redis link retrying, a pool, a worker's IPC channel) must not keep a
    // failed node alive: a supervisor has to see it exit.
    process.exit(1);
  }
  const bus = config.redisUrl !== undefined ? 'redis' : ipc !== undefined ? 'cluster' : 'memory';
  logger.info(
    { port: server.port, host: config.host, db: redactUrl(config.databaseUrl), bus },
    'parley listening',
  );
  if (ipc !== undefined) {
    const message: ListeningMessage = { parley: 'listening', port: server.port };
    ipc.send(message);
  } else {
    process.stdout.write(`Parley listening on http://${config.host}:${server.port} (WebSocket: /ws)\n`);
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'draining');
      const deadline = setTimeout(() => {
        logger.error('drain deadline passed; exiting');
        process.exit(1);
      }, config.drainTimeoutMs);
      deadline.unref();
      server.close().then(
        () => {
          clearTimeout(deadline);
          // A worker's IPC channel would keep it alive after the drain.
          if (ipc !== undefined) process.disconnect?.();
          resolve(0);
        },
        (err) => {
          logger.error({ err }, 'drain failed');
          resolve(1);
        },
      );
    };
    // `on`, not `once`: a second signal (a supervisor signalling the whole group) must not fall
    // back to Node's default and kill the process mid-drain.
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

// The primary of `--workers N`: forks the workers (which share the port), relays their bus and
// presence when there is no Redis, replaces a worker that dies, and drains them on a signal.
async function runPrimary(config: Config, logger: Logger): Promise<number> {
  const relay = config.redisUrl === undefined ? new ClusterBusRelay() : undefined;
  const presence = config.redisUrl === undefined ? new ClusterPresenceHost() : undefined;
  // Workers must verify with the same secret, including a generated one.
  const env = { PARLEY_JWT_SECRET: new TextDecoder().decode(config.jwt.secret) };
  const workers = new Set<Worker>();
  let stopping = false;
  let listeningPort: number | undefined;
  let announced = false;
  let listeningCount = 0;
  // Workers that died before ever listening, in a row: a broken configuration, not bad luck.
  let failedStarts = 0;
  let giveUp: ((code: number) => void) | undefined;

  const fork = (): void => {
    const worker = cluster.fork(env);
    workers.add(worker);
    worker.on('error', (err) => logger.debug({ err, pid: worker.process.pid }, 'worker channel error'));
    relay?.add(worker);
    presence?.add(worker);
    let listened = false;
    worker.on('message', (m: Partial<ListeningMessage> | null) => {
      if (m?.parley !== 'listening' || typeof m.port !== 'number') return;
      listened = true;
      failedStarts = 0;
      listeningPort = m.port;
      listeningCount++;
      if (!announced && listeningCount >= config.workers) {
        announced = true;
        process.stdout.write(
          `Parley listening on http://${config.host}:${listeningPort} (WebSocket: /ws, ${config.workers} workers)\n`,
        );
      }
    });
    worker.once('exit', (code, signal) => {
      workers.delete(worker);
      if (stopping) return;
      if (!listened && ++failedStarts >= MAX_FAILED_STARTS) {
        logger.error({ failedStarts }, 'workers keep failing to start; giving up');
        stopping = true;
        for (const w of workers) w.process.kill('SIGTERM');
        giveUp?.(1);
        return;
      }
      logger.error({ code, signal, pid: worker.process.pid }, 'worker died; starting another');
      // Back off a little when workers die young, so a crash loop does not spin.
      setTimeout(fork, listened ? 0 : 500 * failedStarts);
    });
  };
  for (let i = 0; i < config.workers; i++) fork();

  return new Promise<number>((resolve) => {
    giveUp = resolve;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, workers: workers.size }, 'draining workers');
      const deadline = setTimeout(() => {
        logger.error('drain deadline passed; killing workers');
        for (const w of workers) w.process.kill('SIGKILL');
        resolve(1);
      }, config.drainTimeoutMs + 2000);
      deadline.unref();
      const exits = [...workers].map((w) => new Promise<void>((r) => w.once('exit', () => r())));
      for (const w of workers) w.process.kill('SIGTERM');
      void Promise.all(exits).then(() => {
        clearTimeout(deadline);
        resolve(0);
      });
    };
    // `on`, not `once`: a second signal (a supervisor signalling the whole group) must not fall
    // back to Node's default and kill the process mid-drain.
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
