// How many values `KyselyStore`'s aggregates put in one statement.

// Rows per INSERT and client ids per duplicate lookup: far below every dialect's
// bound-parameter limit (SQLite 32,766; MySQL and PostgreSQL 65,535).

/** Most rows in one multi-row INSERT. */
export const INSERT_CHUNK = 1000;
/** Most values in one `IN (…)` lookup (client ids, message ids). */
export const LOOKUP_CHUNK = 1000;
