/** The SQL dialects `KyselyStore` speaks: SQLite, MySQL/MariaDB and PostgreSQL. */
export type StoreDialect = 'sqlite' | 'mysql' | 'postgres';

/** What differs between the dialects, as flags, so the store's logic stays one code path. */
export interface DialectCapabilities {
  /** `UPDATE … RETURNING` and `INSERT … RETURNING` exist (MySQL/MariaDB lack the former). */
  readonly returning: boolean;
  /** How an upsert is spelled: `ON CONFLICT … DO UPDATE` or `ON DUPLICATE KEY UPDATE`. */
  readonly upsert: 'on-conflict' | 'on-duplicate-key';
  /**
   * Transactions take the database write lock up front (`BEGIN IMMEDIATE`) instead of row
   * locks. SQLite only: a deferred transaction that reads before it writes can fail with
   * SQLITE_BUSY when another process wrote in between, without waiting for the busy timeout.
   */
  readonly databaseWriteLock: boolean;
  /** Transactions accept an isolation level (`SET TRANSACTION ISOLATION LEVEL`). */
  readonly isolationLevels: boolean;
  /** How hand-written SQL (the append INSERT) spells a bound parameter: `?` or `$1, $2…`. */
  readonly placeholders: 'question' | 'numbered';
  /** The identifier quote of hand-written SQL. */
  readonly quote: '"' | '`';
}

/** The capabilities of each dialect. */
export const DIALECT_CAPABILITIES: Readonly<Record<StoreDialect, DialectCapabilities>> = {
  sqlite: {
    returning: true,
    upsert: 'on-conflict',
    databaseWriteLock: true,
    isolationLevels: false,
    placeholders: 'question',
    quote: '"',
  },
  mysql: {
    returning: false,
    upsert: 'on-duplicate-key',
    databaseWriteLock: false,
    isolationLevels: true,
    placeholders: 'question',
    quote: '`',
  },
  postgres: {
    returning: true,
    upsert: 'on-conflict',
    databaseWriteLock: false,
    isolationLevels: true,
    placeholders: 'numbered',
    quote: '"',
  },
};
