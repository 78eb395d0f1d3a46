import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type pg from 'pg';
import { DatabaseOutageError } from './database-outage-error.js';
import { statementDeadline } from './statement-deadline.js';

/** Options of a `DeadlinePgPool`. */
export interface DeadlinePgPoolOptions {
  /** Deadline of each statement (none for schema changes: see `statementDeadline`). */
  readonly queryTimeoutMs: number;
}

/**
 * A pg pool as Kysely's `PostgresDialect` takes it, whose statements each have a deadline.
 *
 * pg waits for an answer as long as its socket stays open, and a half-dead link (a partition,
 * a host that vanished, a dropped NAT entry) stays open for many minutes. A statement past its
 * deadline rejects with `DatabaseOutageError('PARLEY_DB_TIMEOUT')`, and its connection is
 * destroyed instead of going back to the pool: it still waits for that answer, and whether the
 * statement took effect is unknown (a COMMIT may have committed). Later statements on the same
 * checkout (Kysely's ROLLBACK) fail at once with the same error. The wait for a connection is
 * bounded by the pool's own `connectionTimeoutMillis`.
 */
export class DeadlinePgPool implements PostgresPool {
  readonly #pool: pg.Pool;
  readonly #queryTimeoutMs: number;

  constructor(pool: pg.Pool, options: DeadlinePgPoolOptions) {
    this.#pool = pool;
    this.#queryTimeoutMs = options.queryTimeoutMs;
  }

  async connect(): Promise<PostgresPoolClient> {
    return new DeadlinePgClient(await this.#pool.connect(), this.#queryTimeoutMs);
  }

  end(): Promise<void> {
    return this.#pool.end();
  }
}

/** One checkout of a pg client, for `DeadlinePgPool`. */
class DeadlinePgClient implements PostgresPoolClient {
  readonly #client: pg.PoolClient;
  readonly #queryTimeoutMs: number;
  /** The deadline this checkout missed: its connection is gone, and so are its later statements. */
  #expired: DatabaseOutageError | undefined;
  #released = false;
  // pg emits 'error' on a checked-out client whose socket fails, and the pool listens only
  // while the client is idle: unheard, it would crash the process. The statement in flight
  // gets the error anyway, and pg refuses later ones ("not queryable").
  readonly #onError = (): void => undefined;

  constructor(client: pg.PoolClient, queryTimeoutMs: number) {
    this.#client = client;
    this.#queryTimeoutMs = queryTimeoutMs;
    client.on('error', this.#onError);
  }

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(
    sql: string | PostgresCursor<R>,
    parameters?: ReadonlyArray<unknown>,
  ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    // Kysely sends a cursor only to stream a query, which needs a `cursor` in the dialect's
    // config; the store configures none.
    if (typeof sql !== 'string') throw new Error('DeadlinePgPool does not stream queries');
    if (this.#expired !== undefined) return Promise.reject(this.#expired);
    const running = this.#client.query(
      sql,
      parameters === undefined ? [] : [...parameters],
    ) as unknown as Promise<PostgresQueryResult<R>>;
    const deadlineMs = statementDeadline(sql, this.#queryTimeoutMs);
    if (deadlineMs === undefined) return running;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new DatabaseOutageError(
          'PARLEY_DB_TIMEOUT',
          `PostgreSQL did not answer within ${deadlineMs} ms`,
        );
        this.#expired = error;
        // Now, not when Kysely releases it: a client ended with a query in flight has its
        // socket destroyed, and the pool replaces it.
        this.release(true);
        reject(error);
      }, deadlineMs);
      running.then(
        (result) => {
          clearTimeout(timer);
          resolve(result);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  release(destroy?: boolean): void {
    if (this.#released) return;
    this.#released = true;
    this.#client.off('error', this.#onError);
    this.#client.release(destroy === true || this.#expired !== undefined);
  }
}
