import { ParleyError } from '../protocol/error-catalogue.js';

/** Retention, export and erasure settings (issue 17; README's configuration table lists them). */
export interface RetentionConfig {
  /** Messages older than this many days are pruned (a channel may override it); 0 = keep forever. */
  readonly days: number;
  /** How often the pruner runs (first at start). */
  readonly intervalMs: number;
  /** Most messages one prune statement deletes (one short transaction each). */
  readonly batchRows: number;
  /** Pause between two prune batches, so that other writers get their turns. */
  readonly pauseMs: number;
  /** How long the pruner's lease holds without renewal (a node that died lets go after it). */
  readonly leaseMs: number;
  /** Rows read per page by an export (and changed per step by an erasure). */
  readonly pageRows: number;
}

/** The defaults of `RetentionConfig`. */
export const DEFAULT_RETENTION: RetentionConfig = {
  days: 0,
  intervalMs: 60 * 60_000,
  batchRows: 500,
  pauseMs: 50,
  leaseMs: 60_000,
  pageRows: 500,
};

/** The environment variable of each setting. */
export const RETENTION_ENV: { readonly [K in keyof RetentionConfig]: string } = {
  days: 'PARLEY_RETENTION_DAYS',
  intervalMs: 'PARLEY_RETENTION_INTERVAL_MS',
  batchRows: 'PARLEY_RETENTION_BATCH_ROWS',
  pauseMs: 'PARLEY_RETENTION_PAUSE_MS',
  leaseMs: 'PARLEY_RETENTION_LEASE_MS',
  pageRows: 'PARLEY_EXPORT_PAGE_ROWS',
};

/** The longest retention a server or channel may set: 100 years. */
export const MAX_RETENTION_DAYS = 36_500;

/** Reads the retention settings; a bad value fails at start with its name. */
export function loadRetentionConfig(env: Readonly<Record<string, string | undefined>>): RetentionConfig {
  const read = (key: keyof RetentionConfig, min: number, max: number): number => {
    const name = RETENTION_ENV[key];
    const raw = env[name];
    if (raw === undefined || raw === '') return DEFAULT_RETENTION[key];
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new ParleyError('bad_request', `${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    }
    return n;
  };
  return {
    days: read('days', 0, MAX_RETENTION_DAYS),
    intervalMs: read('intervalMs', 1, 2 ** 31 - 1),
    batchRows: read('batchRows', 1, 10_000),
    pauseMs: read('pauseMs', 0, 60_000),
    leaseMs: read('leaseMs', 1000, 2 ** 31 - 1),
    pageRows: read('pageRows', 1, 10_000),
  };
}
