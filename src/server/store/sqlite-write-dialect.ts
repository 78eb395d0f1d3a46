import {
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type TransactionSettings,
} from 'kysely';
import type { SqliteAppender } from './sqlite-appender.js';

/**
 * Kysely on the SQLite append worker's connection: each statement runs there, one message to
 * the worker and back (`SqliteAppender.query`). A SQLite store writes through it, so that
 * neither a commit's fsync nor a wait for the write lock (held by another process) ever blocks
 * the event loop; reads stay on the store's own connection (WAL: they never wait for writes).
 * One connection, used by one transaction or statement at a time.
 */
export class SqliteWriteDialect implements Dialect {
  readonly #appender: SqliteAppender;

  constructor(appender: SqliteAppender) {
    this.#appender = appender;
  }

  createDriver(): Driver {
    return new WorkerDriver(this.#appender);
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}

class WorkerDriver implements Driver {
  readonly #connection: WorkerConnection;
  // The one connection, lent to one user at a time (as Kysely's own SQLite driver does).
  #turn: Promise<void> = Promise.resolve();
  #release: (() => void) | undefined;

  constructor(appender: SqliteAppender) {
    this.#connection = new WorkerConnection(appender);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const previous = this.#turn;
    let release!: () => void;
    this.#turn = new Promise((resolve) => {
      release = resolve;
    });
    await previous;
    this.#release = release;
    return this.#connection;
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    // SQLite has neither; a caller asking for one must not believe it got it.
    if (settings?.isolationLevel !== undefined || settings?.accessMode !== undefined) {
      throw new Error('SQLite transactions take no isolation level or access mode');
    }
    await (connection as WorkerConnection).begin();
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as WorkerConnection).end('commit');
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as WorkerConnection).end('rollback');
  }

  async releaseConnection(): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }

  async destroy(): Promise<void> {}
}

class WorkerConnection implements DatabaseConnection {
  readonly #appender: SqliteAppender;
  // In a transaction: the worker that began it, where its statements run or fail.
  #transaction: { readonly worker: object } | undefined;

  constructor(appender: SqliteAppender) {
    this.#appender = appender;
  }

  /** `BEGIN IMMEDIATE`: the transaction takes the write lock at once, as the store's own do. */
  begin(): Promise<QueryResult<never>> {
    return this.executeQuery({ sql: 'begin immediate', parameters: [] } as unknown as CompiledQuery);
  }

  end(sql: 'commit' | 'rollback'): Promise<QueryResult<never>> {
    return this.executeQuery({ sql, parameters: [] } as unknown as CompiledQuery);
  }

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    // Transactions begun with raw SQL (`sql\`begin immediate\``, as KyselyStore's are) too.
    const verb = /^\s*(\w+)/.exec(compiled.sql)?.[1]?.toLowerCase();
    if (verb === 'begin') {
      this.#transaction = undefined;
      const { worker } = await this.#appender.query(compiled.sql, compiled.parameters);
      this.#transaction = { worker };
      return { rows: [] };
    }
    let ran: Awaited<ReturnType<SqliteAppender['query']>>;
    try {
      ran = await this.#appender.query(compiled.sql, compiled.parameters, this.#transaction?.worker);
    } finally {
      // A failed COMMIT leaves the transaction open for its ROLLBACK; a ROLLBACK ends it anyway.
      if (verb === 'rollback') this.#transaction = undefined;
    }
    // END is SQLite's other name for COMMIT.
    if (verb === 'commit' || verb === 'end') this.#transaction = undefined;
    const { result } = ran;
    if (result.changes === undefined) return { rows: result.rows as R[] };
    return {
      rows: result.rows as R[],
      numAffectedRows: BigInt(result.changes),
      insertId: BigInt(result.lastInsertRowid ?? 0),
    };
  }

  // biome-ignore lint/correctness/useYield: streaming is not offered; the store never streams.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('SqliteWriteDialect does not stream query results');
  }
}
