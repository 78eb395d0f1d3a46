// Schema changes, and the lock Kysely's migrator takes (`GET_LOCK` on MySQL/MariaDB, an
// advisory lock on PostgreSQL), only run while migrating.
const UNBOUNDED = /^\s*(?:create|alter|drop)\b|\b(?:get_lock|pg_advisory_lock)\s*\(/i;

/**
 * The deadline of one statement sent to MySQL/MariaDB or PostgreSQL: `queryTimeoutMs`, or none
 * (undefined) for schema changes and the migration lock, which may rightly take long: a
 * migration may rewrite a large table, and a node that starts while another migrates waits for
 * its lock (Kysely waits up to an hour).
 */
export function statementDeadline(sql: string, queryTimeoutMs: number): number | undefined {
  return UNBOUNDED.test(sql) ? undefined : queryTimeoutMs;
}
