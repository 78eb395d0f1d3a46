// The state `KyselyStore`'s aggregates share: its connections, its dialect, the turns its writes
// take with the append batches, its transactions, what it knows of its database's health, and
// the errors it turns outages into.
import { type Kysely, sql } from 'kysely';
import { ParleyError } from '../../protocol/error-catalogue.js';
import type { AppendCommitter } from './append-committer.js';
import { classifyDatabaseError } from './classify-database-error.js';
import { DatabaseHealth } from './database-health.js';
import { GroupCommit } from './group-commit.js';
import { DIALECT_CAPABILITIES, type DialectCapabilities, type StoreDialect } from './store-dialect.js';
import type { StoreTables } from './store-tables.js';
import { toStoreError } from './to-store-error.js';

/** Options of a `KyselyRunner`: the parts of `KyselyStoreOptions` it owns. */
export interface KyselyRunnerOptions {
  readonly db: Kysely<StoreTables>;
  readonly dialect: StoreDialect;
  readonly maxBatch?: number;
  readonly onWriteBatch?: (size: number, ms: number) => void;
  readonly appender?: AppendCommitter;
  readonly writeDb?: Kysely<StoreTables>;
}

/**
 * How a `KyselyStore` runs its statements, shared by its aggregates: reads on `db`, writes on
 * `writer` in their turn with the append batches, transactions as each dialect needs them, and
 * failures as the Store contract promises them.
 *
 * On MySQL/MariaDB and PostgreSQL every transaction and guarded call goes through a
 * `DatabaseHealth`: once a call meets an outage and a probe confirms it, calls fail at once
 * with `unavailable` (instead of each waiting for its own deadline) until a probe is answered
 * again. The pool's deadlines (`DeadlinePgPool`, `DeadlineMysqlPool`) bound each call.
 */
export class KyselyRunner {
  /** The SQL dialect of the database. */
  readonly dialect: StoreDialect;
  /** Where reads run. */
  readonly db: Kysely<StoreTables>;
  /** Where writes run: `db`, or for a SQLite file the append worker's connection. */
  readonly writer: Kysely<StoreTables>;
  /** What the dialect can do. */
  readonly caps: DialectCapabilities;
  /** Commits append batches instead of `db`, when the store has one. */
  readonly appender: AppendCommitter | undefined;
  /** SQLite: upserts of one tick, committed in one transaction (one fsync, not one each). */
  readonly #upserts: GroupCommit<Upsert, unknown> | undefined;
  /** MySQL/MariaDB and PostgreSQL: whether the database answers (SQLite fails fast by itself). */
  readonly #health: DatabaseHealth | undefined;
  /** Settles when the last write queued by `exclusive` has. */
  #writes: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;

  constructor(options: KyselyRunnerOptions) {
    this.dialect = options.dialect;
    this.db = options.db;
    this.writer = options.writeDb ?? options.db;
    this.caps = DIALECT_CAPABILITIES[options.dialect];
    this.appender = options.appender;
    this.#health =
      options.dialect === 'sqlite'
        ? undefined
        : new DatabaseHealth({ probe: () => sql`select 1`.execute(this.db) });
    // Every connection of a new user, and its first subscribe to a public channel, upserts a
    // row: alone, each would be a commit and an fsync (SQLite has one writer; a file's commit
    // runs on the append worker, `sqlite::memory:`'s on the event loop). Other databases commit
    // concurrent transactions in parallel and group their fsyncs themselves.
    this.#upserts = this.caps.databaseWriteLock
      ? new GroupCommit({
          commit: (upserts) => this.transaction((trx) => runUpserts(trx, upserts)),
          ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
          ...(options.onWriteBatch === undefined ? {} : { onBatch: options.onWriteBatch }),
          closedError: () => new ParleyError('unavailable', 'the store is closed'),
        })
      : undefined;
  }

  /** Whether `close()` was called. */
  get closing(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Runs `fn` in one transaction: `BEGIN IMMEDIATE` on SQLite (see
   * `DialectCapabilities.databaseWriteLock`), READ COMMITTED elsewhere, so that each statement
   * sees what other processes committed before it (the duplicate lookup after a lost race).
   */
  transaction<T>(fn: (trx: Kysely<StoreTables>) => Promise<T>): Promise<T> {
    if (this.caps.isolationLevels) {
      return this.#watched(() => this.db.transaction().setIsolationLevel('read committed').execute(fn));
    }
    if (!this.caps.databaseWriteLock) return this.#watched(() => this.db.transaction().execute(fn));
    return this.exclusive(() => this.#sqliteTransaction(fn));
  }

  /** Runs `fn` through the database's `DatabaseHealth`, when it has one. */
  #watched<T>(fn: () => Promise<T>): Promise<T> {
    return this.#health === undefined ? fn() : this.#health.run(fn);
  }

  /** `BEGIN IMMEDIATE` … `COMMIT` on the one connection of a SQLite store. */
  #sqliteTransaction<T>(fn: (trx: Kysely<StoreTables>) => Promise<T>): Promise<T> {
    return this.writer.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        const result = await fn(conn);
        await sql`commit`.execute(conn);
        return result;
      } catch (error) {
        // Also after a failed COMMIT, which leaves the transaction open.
        await sql`rollback`.execute(conn).catch(() => undefined);
        throw error;
      }
    });
  }

  /** Runs a small write in a transaction, turning outages into `unavailable`. */
  write<T>(doing: string, fn: (trx: Kysely<StoreTables>) => Promise<T>): Promise<T> {
    return this.guard(doing, () => this.transaction(fn));
  }

  /**
   * Runs `fn`, a write, once the append batch in flight on the `appender` (if any) has
   * committed, and before the next one starts. Writes run on the appender's own connection
   * (`writeDb`): a batch arriving inside a write's open transaction would become part of it
   * (the worker refuses it). The migration, on the store's connection, would otherwise wait for
   * the batch's lock in SQLite's busy handler, which sleeps on the event loop.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.appender === undefined) return fn();
    const run = this.#writes.then(fn);
    this.#writes = run.catch(() => undefined);
    return run;
  }

  /**
   * `guard` for a single-statement upsert: on SQLite it joins the tick's batch of upserts
   * (`#upserts`), elsewhere it runs alone.
   */
  upsert<T>(doing: string, fn: (db: Kysely<StoreTables>) => Promise<T>): Promise<T> {
    const upserts = this.#upserts;
    if (upserts === undefined) return this.writeGuard(doing, () => fn(this.writer));
    return this.guard(doing, () => upserts.push(fn) as Promise<T>);
  }

  /** `guard` for a single-statement write outside `transaction`. */
  writeGuard<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    return this.guard(doing, () => this.exclusive(fn));
  }

  /** Throws `unavailable` once the store is closing. */
  assertOpen(): void {
    if (this.#closing !== undefined) throw new ParleyError('unavailable', 'the store is closed');
  }

  /** Runs a read or a small write, turning connection failures into `unavailable`. */
  async guard<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await this.#watched(fn);
    } catch (error) {
      throw toStoreError(doing, error);
    }
  }

  /**
   * Refuses new calls, lets `drain` (the append queue) and the pending upserts finish, then the
   * writes already running; then closes the appender and the database. Later calls return the
   * first call's promise.
   */
  close(drain: () => Promise<void>): Promise<void> {
    this.#closing ??= (async () => {
      this.#health?.close();
      await Promise.all([drain(), this.#upserts?.close()]);
      // Writes already running finish (on SQLite, on the worker) before it closes.
      await this.#writes;
      await this.appender?.close();
      await this.db.destroy();
    })();
    return this.#closing;
  }
}

/** One upsert of a batch, run on the batch's transaction. */
type Upsert = (trx: Kysely<StoreTables>) => Promise<unknown>;

/**
 * Runs a batch of upserts in one (SQLite) transaction. A statement that fails on a constraint,
 * or whose check throws a ParleyError, fails alone: SQLite undoes that statement only and the
 * transaction goes on. Any other error rolls back the batch and fails every upsert in it.
 */
async function runUpserts(trx: Kysely<StoreTables>, upserts: readonly Upsert[]): Promise<unknown[]> {
  const results: unknown[] = [];
  for (const upsert of upserts) {
    try {
      results.push(await upsert(trx));
    } catch (error) {
      const kind = classifyDatabaseError(error);
      const alone =
        error instanceof ParleyError
          ? error.code !== 'unavailable'
          : kind === 'unique_violation' || kind === 'foreign_key_violation';
      if (!alone) throw error;
      results.push(error);
    }
  }
  return results;
}
