import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { HmacTokenVerifier } from '../../src/server/auth/hmac-token-verifier.js';
import { MemoryBus } from '../../src/server/bus/memory-bus.js';
import { MemoryHistoryCache } from '../../src/server/cache/memory-history-cache.js';
import { type Limits, loadConfig } from '../../src/server/config.js';
import { ParleyMetrics } from '../../src/server/metrics/parley-metrics.js';
import { ParleyServer } from '../../src/server/parley-server.js';
import { MemoryPresence } from '../../src/server/presence/memory-presence.js';
import { openStore } from '../../src/server/store/open-store.js';

/** A Parley node started for a test on 127.0.0.1 and a free port. */
export interface TestServer {
  /** ws://127.0.0.1:PORT/ws */
  readonly url: string;
  /** http://127.0.0.1:PORT */
  readonly httpUrl: string;
  readonly port: number;
  readonly secret: string;
  readonly databaseUrl: string;
  readonly server: ParleyServer;
  /** Signs an HS256 token for the user, valid for `ttlSeconds` (default one hour). */
  token(userId: string | number, username: string, ttlSeconds?: number): Promise<string>;
  close(): Promise<void>;
}

/** Options of startTestServer. */
export interface TestServerOptions {
  /** Defaults to a fresh SQLite file in a temporary directory. */
  readonly databaseUrl?: string;
  readonly secret?: string;
  readonly port?: number;
  readonly limits?: Partial<Limits>;
  /** Extra environment for loadConfig (PARLEY_JWT_ISSUER, …). */
  readonly env?: Record<string, string>;
}

/** Starts a real Parley node (real store, real sockets) for a test. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const secret = options.secret ?? randomBytes(32).toString('hex');
  let dir: string;
  let databaseUrl = options.databaseUrl;
  dir = await mkdtemp(join(tmpdir(), 'parley-test-'));
  databaseUrl ??= `sqlite:${join(dir, 'parley.db')}`;
  const base = loadConfig(
    // Attachment files go to the test's own directory, whatever the database.
    { PARLEY_JWT_SECRET: secret, PARLEY_ATTACHMENT_DIR: join(dir, 'attachments'), ...options.env },
    { port: options.port ?? 0, host: '127.0.0.1', databaseUrl },
  );
  const config = { ...base, limits: { ...base.limits, ...options.limits } };
  const metrics = new ParleyMetrics();
  const store = await openStore(databaseUrl, {
    onBatch: metrics.onBatch,
    queryTimeoutMs: config.limits.dbQueryTimeoutMs,
    connectTimeoutMs: config.limits.dbConnectTimeoutMs,
  });
  const server = await ParleyServer.start(config, {
    store,
    bus: new MemoryBus(),
    presence: new MemoryPresence(),
    cache: new MemoryHistoryCache(),
    verifier: new HmacTokenVerifier(config.jwt),
    logger: pino({ level: process.env.PARLEY_TEST_LOG ?? 'silent' }),
    metrics,
  });
  const port = server.port;
  const key = new TextEncoder().encode(secret);
  let closed = false;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    httpUrl: `http://127.0.0.1:${port}`,
    port,
    secret,
    databaseUrl,
    server,
    token: (userId, username, ttlSeconds = 3600) =>
      new SignJWT({ user_id: userId, username })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
        .sign(key),
    close: async () => {
      if (closed) return;
      closed = true;
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
