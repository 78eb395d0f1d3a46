import type Database from 'better-sqlite3';

/** A better-sqlite3 database as Kysely's SQLite dialect (and the append worker) uses it. */
export interface KeptStatements {
  close(): void;
  prepare(sql: string): Database.Statement;
}

/** Statements `keepingStatements` keeps; more distinct queries than this push out the oldest. */
export const KEPT_STATEMENTS = 256;

/**
 * The database as Kysely's SQLite dialect uses it, with each SQL text's prepared statement kept
 * and reused. Kysely prepares every query it runs anew, and compiling a statement costs more
 * than running it: `prepare` was 4.6 % of the event loop's time in a connect storm, where each
 * connection runs the same few queries. The least recently used beyond `KEPT_STATEMENTS` are
 * let go (queries with `in (…)` lists of varying length each have their own text). Kysely runs
 * a statement to completion (`all` or `run`) before the next: none is reused while in use.
 */
export function keepingStatements(database: Database.Database, max = KEPT_STATEMENTS): KeptStatements {
  const kept = new Map<string, Database.Statement>();
  return {
    close: () => database.close(),
    prepare(sql: string): Database.Statement {
      let statement = kept.get(sql);
      if (statement !== undefined) {
        kept.delete(sql);
      } else {
        statement = database.prepare(sql);
        if (kept.size >= max) kept.delete(kept.keys().next().value as string);
      }
      kept.set(sql, statement);
      return statement;
    },
  };
}
