import type { MysqlPool, MysqlPoolConnection, MysqlQueryResult, MysqlStream } from 'kysely';
import type { Pool, PoolConnection } from 'mysql2';
import { DatabaseOutageError } from './database-outage-error.js';
import { statementDeadline } from './statement-deadline.js';

/** Options of a `DeadlineMysqlPool`. */
export interface DeadlineMysqlPoolOptions {
  /** Deadline of each statement (none for schema changes: see `statementDeadline`). */
  readonly queryTimeoutMs: number;
  /** Deadline of the wait for a free connection when the pool is at its limit. */
  readonly acquireTimeoutMs: number;
}

/**
 * A mysql2 pool as Kysely's `MysqlDialect` takes it, whose statements and waits for a
 * connection each have a deadline.
 *
 * mysql2 waits for an answer as long as its socket stays open, and a half-dead link stays open
 * for many minutes; its own per-query `timeout` reports the error but leaves the connection
 * busy with the lost statement. Here a statement past its deadline calls back with
 * `DatabaseOutageError('PARLEY_DB_TIMEOUT')` and its connection is destroyed (which takes it
 * out of the pool); whether the statement took effect is unknown (a COMMIT may have
 * committed). Later statements on the same checkout (Kysely's ROLLBACK) fail at once. A new
 * connection's handshake is bounded by mysql2's `connectTimeout`; the wait in the pool's queue,
 * which mysql2 does not bound, by `acquireTimeoutMs`.
 */
export class DeadlineMysqlPool implements MysqlPool {
  readonly #pool: Pool;
  readonly #options: DeadlineMysqlPoolOptions;

  constructor(pool: Pool, options: DeadlineMysqlPoolOptions) {
    this.#pool = pool;
    this.#options = options;
  }

  getConnection(callback: (error: unknown, connection: MysqlPoolConnection) => void): void {
    const { acquireTimeoutMs, queryTimeoutMs } = this.#options;
    // Kysely reads the connection only when there is no error.
    const none = undefined as unknown as MysqlPoolConnection;
    let waiting = true;
    const timer = setTimeout(() => {
      waiting = false;
      callback(
        new DatabaseOutageError(
          'PARLEY_DB_TIMEOUT',
          `no MySQL/MariaDB connection became free within ${acquireTimeoutMs} ms`,
        ),
        none,
      );
    }, acquireTimeoutMs);
    this.#pool.getConnection((error, connection) => {
      if (!waiting) {
        // Too late for its caller: back to the pool for the next one.
        connection?.release();
        return;
      }
      waiting = false;
      clearTimeout(timer);
      if (error) callback(error, none);
      else callback(null, new DeadlineMysqlConnection(connection, queryTimeoutMs));
    });
  }

  end(callback: (error: unknown) => void): void {
    this.#pool.end(callback);
  }
}

/** One checkout of a mysql2 connection, for `DeadlineMysqlPool`. */
class DeadlineMysqlConnection implements MysqlPoolConnection {
  readonly #connection: PoolConnection;
  readonly #queryTimeoutMs: number;
  /** The deadline this checkout missed: its connection is gone, and so are its later statements. */
  #expired: DatabaseOutageError | undefined;
  #released = false;

  constructor(connection: PoolConnection, queryTimeoutMs: number) {
    this.#connection = connection;
    this.#queryTimeoutMs = queryTimeoutMs;
  }

  query(sql: string, parameters: Array<unknown>): { stream: <T>() => MysqlStream<T> };
  query(
    sql: string,
    parameters: Array<unknown>,
    callback: (error: unknown, result: MysqlQueryResult) => void,
  ): void;
  query(
    sql: string,
    parameters: Array<unknown>,
    callback?: (error: unknown, result: MysqlQueryResult) => void,
  ): { stream: <T>() => MysqlStream<T> } | undefined {
    // Kysely calls without a callback only to stream a query, which the store never does.
    if (callback === undefined) throw new Error('DeadlineMysqlPool does not stream queries');
    const none = undefined as unknown as MysqlQueryResult;
    const expired = this.#expired;
    if (expired !== undefined) {
      process.nextTick(() => callback(expired, none));
      return;
    }
    const deadlineMs = statementDeadline(sql, this.#queryTimeoutMs);
    let pending = true;
    const timer =
      deadlineMs === undefined
        ? undefined
        : setTimeout(() => {
            pending = false;
            const error = new DatabaseOutageError(
              'PARLEY_DB_TIMEOUT',
              `MySQL/MariaDB did not answer within ${deadlineMs} ms`,
            );
            this.#expired = error;
            // Out of the pool and closed; the lost statement's late answer, if any, is ignored.
            this.#connection.destroy();
            callback(error, none);
          }, deadlineMs);
    this.#connection.query(sql, parameters, (error, result) => {
      if (!pending) return;
      pending = false;
      clearTimeout(timer);
      callback(error, result as MysqlQueryResult);
    });
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    // A destroyed connection has left the pool already.
    if (this.#expired === undefined) this.#connection.release();
  }
}
