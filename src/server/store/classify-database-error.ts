/**
 * What a database driver error means to the store, whatever the dialect:
 * - `unique_violation`: a UNIQUE or PRIMARY KEY constraint refused a row;
 * - `foreign_key_violation`: a referenced row does not exist;
 * - `retryable`: the transaction lost a race (deadlock, serialization failure, SQLite busy
 *   snapshot) and may succeed when run again from the start;
 * - `unavailable`: the database cannot be reached or refuses to work (connection refused or
 *   lost, a statement past its deadline, authentication, missing database, disk full, I/O
 *   error, busy or locked past the busy timeout, lock timeout, read-only after a failover);
 * - `unknown`: anything else, which the store treats as a bug.
 *
 * The store reports `unavailable` (and `retryable` once its own reruns are used up) to its
 * callers as `ParleyError('unavailable')`, which the protocol marks retryable and the SDK
 * sends again with the same `client_msg_id`.
 */
export type DatabaseErrorKind =
  | 'unique_violation'
  | 'foreign_key_violation'
  | 'retryable'
  | 'unavailable'
  | 'unknown';

// Node's own socket errors, which every network driver passes through, and the store's own
// (`DatabaseOutageError`: a missed deadline, a call refused while the database is down).
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'EPIPE',
  'EAI_AGAIN',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
  'PARLEY_DB_TIMEOUT',
  'PARLEY_DB_DOWN',
]);

// mysql2 codes (MySQL and MariaDB server errors, plus mysql2's protocol errors).
const MYSQL_UNAVAILABLE = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_BAD_DB_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_NET_READ_ERROR',
  'ER_NET_READ_INTERRUPTED',
  'ER_NET_ERROR_ON_WRITE',
  'ER_NET_WRITE_INTERRUPTED',
  'ER_QUERY_INTERRUPTED',
  'ER_CLIENT_INTERACTION_TIMEOUT',
  'ER_TOO_MANY_USER_CONNECTIONS',
  // Read-only: a replica, or a primary during a failover.
  'ER_OPTION_PREVENTS_STATEMENT',
  'ER_READ_ONLY_MODE',
  'ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION',
]);

/** Classifies an error thrown by better-sqlite3, mysql2 or pg (see `DatabaseErrorKind`). */
export function classifyDatabaseError(error: unknown): DatabaseErrorKind {
  if (typeof error !== 'object' || error === null) return 'unknown';
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  if (code === undefined) {
    // Node reports a refused dual-stack connect as an AggregateError of per-address errors.
    if (error instanceof AggregateError && error.errors.length > 0) {
      return classifyDatabaseError(error.errors[0]);
    }
    // pg and mysql2 raise these without a code when a socket or the pool goes away.
    const message = error instanceof Error ? error.message : '';
    if (
      /Connection terminated|connection timeout|timeout exceeded when trying to connect|is not queryable|Pool is closed|Can't add new command when connection is in closed state/i.test(
        message,
      )
    ) {
      return 'unavailable';
    }
    return 'unknown';
  }
  if (NETWORK_CODES.has(code)) return 'unavailable';

  // SQLite (better-sqlite3): extended result codes as strings.
  if (code.startsWith('SQLITE_')) {
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
      return 'unique_violation';
    if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return 'foreign_key_violation';
    // A deferred transaction whose snapshot went stale cannot wait its way out; it must restart.
    if (code === 'SQLITE_BUSY_SNAPSHOT') return 'retryable';
    // Busy or locked past the busy timeout, I/O errors (a failing or full disk, a file moved
    // or deleted under the store), WAL lock trouble, out of memory.
    if (
      code.startsWith('SQLITE_BUSY') ||
      code.startsWith('SQLITE_LOCKED') ||
      code.startsWith('SQLITE_CANTOPEN') ||
      code.startsWith('SQLITE_IOERR') ||
      code.startsWith('SQLITE_READONLY') ||
      code.startsWith('SQLITE_CORRUPT') ||
      code === 'SQLITE_FULL' ||
      code === 'SQLITE_NOTADB' ||
      code === 'SQLITE_PROTOCOL' ||
      code === 'SQLITE_NOMEM'
    ) {
      return 'unavailable';
    }
    return 'unknown';
  }

  // MySQL / MariaDB (mysql2).
  if (code === 'ER_DUP_ENTRY') return 'unique_violation';
  if (code === 'ER_NO_REFERENCED_ROW_2' || code === 'ER_NO_REFERENCED_ROW') return 'foreign_key_violation';
  if (code === 'ER_LOCK_DEADLOCK') return 'retryable';
  if (MYSQL_UNAVAILABLE.has(code)) return 'unavailable';

  // PostgreSQL (pg): SQLSTATE codes.
  if (/^[0-9A-Z]{5}$/.test(code)) {
    if (code === '23505') return 'unique_violation';
    if (code === '23503') return 'foreign_key_violation';
    if (code === '40P01' || code === '40001') return 'retryable';
    // 08: connection exception; 57P0x: shutdown / cannot connect now; 53: insufficient
    // resources; 3D000: no such database; 28: authentication failed; 57014: canceled (a
    // server-side statement_timeout); 55P03: lock_timeout; 25006: read-only (a standby, or a
    // primary during a failover).
    if (
      /^(08|53|28)/.test(code) ||
      code.startsWith('57P0') ||
      ['3D000', '57014', '55P03', '25006'].includes(code)
    ) {
      return 'unavailable';
    }
  }
  return 'unknown';
}
