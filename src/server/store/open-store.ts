import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { createPool } from 'mysql2';
import pg from 'pg';
import { ParleyError } from '../../protocol/error-catalogue.js';
import { DeadlineMysqlPool } from './deadline-mysql-pool.js';
import { DeadlinePgPool } from './deadline-pg-pool.js';
import { keepingStatements } from './kept-statements.js';
import { KyselyStore, type StoreTables } from './kysely-store.js';
import { SqliteAppender } from './sqlite-appender.js';
import { SqliteWriteDialect } from './sqlite-write-dialect.js';
import type { Store } from './store.js';
import type { StoreDialect } from './store-dialect.js';

/** Options of `openStore`; every one has a default. */
export interface OpenStoreOptions {
  /** Most appends committed in one transaction (group commit). Default 500. */
  readonly commitBatchMax?: number;
  /** How long a batch of appends waits for more under load (`GroupCommitOptions.delayMs`). Default 0. */
  readonly commitDelayMs?: number;
  /** Connections in the pool (MySQL/MariaDB, PostgreSQL). Default 10. */
  readonly poolSize?: number;
  /**
   * How long to wait for a connection to a MySQL/PostgreSQL server (a new one's connect and
   * handshake, or a free one from a full pool). Default 10,000 ms.
   */
  readonly connectTimeoutMs?: number;
  /**
   * How long one MySQL/PostgreSQL statement may wait for its answer before it fails with
   * `unavailable` and its connection is replaced: what bounds a call when the link to the
   * database is cut without being closed. Schema changes and the migration lock have none.
   * Default 5,000 ms.
   */
  readonly queryTimeoutMs?: number;
  /**
   * SQLite's `synchronous` pragma. `full` (default) makes every commit survive power loss;
   * `normal` may lose the last commits on power loss (not on a crash of the process). With
   * group commit the difference in throughput is small.
   */
  readonly sqliteSynchronous?: 'full' | 'normal';
  /** How long a SQLite writer waits for another connection's write lock. Default 5,000 ms. */
  readonly sqliteBusyTimeoutMs?: number;
  /**
   * Commit appends to a SQLite file in a worker thread with its own connection (default
   * true), so that a commit and its fsync never block the event loop that delivers messages.
   * `false` commits on the store's own connection, in the event loop. A memory database
   * (`sqlite::memory:`) always does, since it cannot be shared between two connections, and so
   * does a file that cannot be put in WAL mode.
   */
  readonly sqliteAppendWorker?: boolean;
  /** Called after each committed batch of appends with its size and duration (metrics). */
  readonly onBatch?: (size: number, ms: number) => void;
  /** SQLite: called after each committed batch of user and membership upserts (its size). */
  readonly onWriteBatch?: (size: number, ms: number) => void;
}

/** The defaults of `OpenStoreOptions`. */
export const OPEN_STORE_DEFAULTS = {
  commitBatchMax: 500,
  commitDelayMs: 0,
  poolSize: 10,
  connectTimeoutMs: 10_000,
  queryTimeoutMs: 5_000,
  sqliteSynchronous: 'full',
  sqliteBusyTimeoutMs: 5_000,
  sqliteAppendWorker: true,
} as const satisfies Required<Omit<OpenStoreOptions, 'onBatch' | 'onWriteBatch'>>;

// TCP keepalive on idle pooled connections, so that one whose peer vanished is found out
// without waiting for a statement's deadline (when the OS gets its probes unanswered).
const KEEPALIVE_INITIAL_DELAY_MS = 30_000;

const SUPPORTED =
  'sqlite:PATH (e.g. sqlite:./data/parley.db), sqlite::memory:, mysql://…, mariadb://…, postgres://… or postgresql://…';

/**
 * Opens the SQL store the URL names and checks that the database answers:
 * - `sqlite:./data/parley.db` (the parent directory is created), `sqlite:///abs/path.db`:
 *   WAL journal, foreign keys on, appends committed in a worker thread (`sqliteAppendWorker`);
 * - `sqlite::memory:`: the same, appends committed in the calling thread;
 * - `mysql://user:pass@host:3306/db` or `mariadb://…` (a mysql2 pool, utf8mb4);
 * - `postgres://user:pass@host:5432/db` or `postgresql://…` (a pg pool).
 *
 * On MySQL/MariaDB and PostgreSQL every wait has a deadline (`connectTimeoutMs`,
 * `queryTimeoutMs`): a database that goes away, or a link that goes dead, makes calls fail
 * with `unavailable`, never hang; connections that failed are replaced, so the store works
 * again by itself once the database is back.
 *
 * Runs no migration: call `store.migrate()`. Throws `ParleyError('bad_request')` for an
 * unsupported or malformed URL and `ParleyError('unavailable')` when the database cannot be
 * opened or reached; neither message contains the password.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const poolSize = options.poolSize ?? OPEN_STORE_DEFAULTS.poolSize;
  const connectTimeoutMs = options.connectTimeoutMs ?? OPEN_STORE_DEFAULTS.connectTimeoutMs;
  const queryTimeoutMs = options.queryTimeoutMs ?? OPEN_STORE_DEFAULTS.queryTimeoutMs;
  for (const [name, value] of Object.entries({ poolSize, connectTimeoutMs, queryTimeoutMs })) {
    if (!Number.isInteger(value) || value < 1) {
      throw new ParleyError('bad_request', `${name} must be a positive integer, got ${value}`);
    }
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  let dialect: StoreDialect;
  let db: Kysely<StoreTables>;
  let target: string;
  let appender: SqliteAppender | undefined;
  switch (scheme) {
    case 'sqlite': {
      dialect = 'sqlite';
      ({ db, target, appender } = await openSqlite(url, options));
      break;
    }
    case 'mysql':
    case 'mariadb': {
      dialect = 'mysql';
      // mysql2 reads host, user, password, database and query options from the URL; the
      // scheme only picks the driver.
      const uri = `mysql:${url.slice(scheme.length + 1)}`;
      target = `MySQL/MariaDB at ${describeServer(uri)}`;
      const pool = createPool({
        uri,
        charset: 'utf8mb4',
        supportBigNumbers: true,
        connectionLimit: poolSize,
        connectTimeout: connectTimeoutMs,
        enableKeepAlive: true,
        keepAliveInitialDelay: KEEPALIVE_INITIAL_DELAY_MS,
      });
      db = new Kysely<StoreTables>({
        dialect: new MysqlDialect({
          pool: new DeadlineMysqlPool(pool, { queryTimeoutMs, acquireTimeoutMs: connectTimeoutMs }),
        }),
      });
      break;
    }
    case 'postgres':
    case 'postgresql': {
      dialect = 'postgres';
      target = `PostgreSQL at ${describeServer(url)}`;
      const pool = new pg.Pool({
        connectionString: url,
        max: poolSize,
        // Bounds both a new connection and the wait for a free one.
        connectionTimeoutMillis: connectTimeoutMs,
        keepAlive: true,
        keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
      });
      // An idle client losing its connection emits 'error' on the pool, which would crash the
      // process unhandled; the next query that needs a connection reports the outage instead.
      pool.on('error', () => undefined);
      db = new Kysely<StoreTables>({
        dialect: new PostgresDialect({ pool: new DeadlinePgPool(pool, { queryTimeoutMs }) }),
      });
      break;
    }
    default:
      throw new ParleyError(
        'bad_request',
        `unsupported database URL${scheme === undefined ? '' : ` scheme "${scheme}:"`}; use ${SUPPORTED}`,
      );
  }

  try {
    await sql`select 1`.execute(db);
  } catch (error) {
    await db.destroy().catch(() => undefined);
    throw new ParleyError('unavailable', `cannot connect to ${target}: ${describeError(error)}`, {
      cause: error,
    });
  }
  try {
    await appender?.start();
  } catch (error) {
    await appender?.close();
    await db.destroy().catch(() => undefined);
    throw new ParleyError('unavailable', `cannot open ${target}: ${describeError(error)}`, { cause: error });
  }
  return new KyselyStore({
    db,
    dialect,
    maxBatch: options.commitBatchMax ?? OPEN_STORE_DEFAULTS.commitBatchMax,
    ...(options.commitDelayMs === undefined ? {} : { commitDelayMs: options.commitDelayMs }),
    ...(options.onBatch === undefined ? {} : { onBatch: options.onBatch }),
    ...(options.onWriteBatch === undefined ? {} : { onWriteBatch: options.onWriteBatch }),
    ...(appender === undefined
      ? {}
      : { appender, writeDb: new Kysely<StoreTables>({ dialect: new SqliteWriteDialect(appender) }) }),
  });
}

async function openSqlite(
  url: string,
  options: OpenStoreOptions,
): Promise<{ db: Kysely<StoreTables>; target: string; appender: SqliteAppender | undefined }> {
  let path = url.slice('sqlite:'.length);
  // sqlite:///abs/file.db and sqlite://./rel.db are common spellings of sqlite:PATH.
  if (path.startsWith('//')) path = path.slice(2);
  if (path === '') throw new ParleyError('bad_request', `the SQLite URL names no file; use ${SUPPORTED}`);
  const memory = path === ':memory:';
  const target = memory ? 'SQLite in memory' : `SQLite file ${resolve(path)}`;
  const synchronous = options.sqliteSynchronous ?? OPEN_STORE_DEFAULTS.sqliteSynchronous;
  const busyTimeoutMs = options.sqliteBusyTimeoutMs ?? OPEN_STORE_DEFAULTS.sqliteBusyTimeoutMs;
  let database: Database.Database;
  try {
    if (!memory) await mkdir(dirname(resolve(path)), { recursive: true });
    database = new Database(path, { timeout: busyTimeoutMs });
  } catch (error) {
    throw new ParleyError('unavailable', `cannot open ${target}: ${describeError(error)}`, { cause: error });
  }
  let wal = false;
  try {
    // WAL: readers never block the writer, and a commit is one sequential append.
    if (!memory) wal = database.pragma('journal_mode = WAL', { simple: true }) === 'wal';
    database.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    database.pragma('foreign_keys = ON');
  } catch (error) {
    database.close();
    throw new ParleyError('unavailable', `cannot open ${target}: ${describeError(error)}`, { cause: error });
  }
  // Only in WAL mode: otherwise the worker's commits would lock this connection's readers out,
  // and they would wait for it in the busy handler, on the event loop.
  const inWorker = wal && (options.sqliteAppendWorker ?? OPEN_STORE_DEFAULTS.sqliteAppendWorker);
  return {
    db: new Kysely<StoreTables>({ dialect: new SqliteDialect({ database: keepingStatements(database) }) }),
    target,
    appender: inWorker ? new SqliteAppender({ path: resolve(path), busyTimeoutMs, synchronous }) : undefined,
  };
}

/** `user@host:port/db` of a server URL: what an operator needs to find it, and no password. */
function describeServer(url: string): string {
  try {
    const parsed = new URL(url);
    const user = parsed.username === '' ? '' : `${decodeURIComponent(parsed.username)}@`;
    return `${user}${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    throw new ParleyError('bad_request', `the database URL is not a valid URL; use ${SUPPORTED}`);
  }
}

function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.message === '' && error.errors.length > 0) {
    return describeError(error.errors[0]);
  }
  if (error instanceof Error) {
    const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
    if (error.message === '') return code ?? error.name;
    return code === undefined || error.message.includes(code) ? error.message : `${error.message} (${code})`;
  }
  return String(error);
}
