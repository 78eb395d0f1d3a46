// How `KyselyStore` and its aggregates turn driver errors into the errors the Store contract names.
import { ParleyError } from '../../protocol/error-catalogue.js';
import { classifyDatabaseError } from './classify-database-error.js';

/** `error` as the Store contract promises it: ParleyErrors as they are, outages as `unavailable`. */
export function toStoreError(doing: string, error: unknown): unknown {
  if (error instanceof ParleyError) return error;
  return classifyDatabaseError(error) === 'unavailable' ? unavailable(doing, error) : error;
}

/** The `unavailable` error of a database outage met while `doing` something. */
export function unavailable(doing: string, cause: unknown): ParleyError {
  return new ParleyError('unavailable', `the database is unavailable (${doing})`, { cause });
}
