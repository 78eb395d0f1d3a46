/**
 * The codes of the outages the store notices itself, beside those the drivers report:
 * - `PARLEY_DB_TIMEOUT`: a statement, or the wait for a connection, missed its deadline;
 * - `PARLEY_DB_DOWN`: a call refused at once because the database is known to be unreachable.
 */
export type DatabaseOutageCode = 'PARLEY_DB_TIMEOUT' | 'PARLEY_DB_DOWN';

/**
 * An outage the store noticed itself rather than one a driver reported (see
 * `DatabaseOutageCode`). `classifyDatabaseError` classifies it as `unavailable`, so the Store's
 * callers see it as `ParleyError('unavailable')`, which clients retry.
 */
export class DatabaseOutageError extends Error {
  override readonly name = 'DatabaseOutageError';
  readonly code: DatabaseOutageCode;

  constructor(code: DatabaseOutageCode, message: string, options?: { readonly cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
