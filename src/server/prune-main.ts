// `parley prune`: one retention pass now, from the command line (cron, or before a backup). Its
// own small composition root beside main.ts: it needs a Store and the retention settings, not a
// node (no JWT secret, no port).
import { parseArgs } from 'node:util';
import { ParleyError } from '../protocol/error-catalogue.js';
import { DEFAULT_DATABASE_URL, DEFAULT_LIMITS } from './config.js';
import { loadRetentionConfig, MAX_RETENTION_DAYS } from './config-retention.js';
import { RetentionPruner } from './retention/retention-pruner.js';
import { openStore } from './store/open-store.js';

/** The synopsis of `parley prune`. */
export const PRUNE_USAGE = 'parley prune [--db URL] [--days N]';

/**
 * Runs one retention pass on the database of `--db` (else `PARLEY_DATABASE_URL`), with the
 * server's retention `--days` (else `PARLEY_RETENTION_DAYS`), and prints what it did as one JSON
 * line: `{"pruned":N,"channels":N,"skipped":false}` (`skipped`: a node held the lease, so it
 * prunes instead). Migrates the schema first, as a node would. Resolves with the exit code.
 */
export async function runPrune(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  out: (line: string) => void,
): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: { db: { type: 'string' }, days: { type: 'string' } },
    strict: true,
    allowPositionals: false,
  });
  const days = values.days === undefined ? undefined : Number(values.days);
  if (days !== undefined && !(Number.isSafeInteger(days) && days >= 0 && days <= MAX_RETENTION_DAYS)) {
    throw new ParleyError(
      'bad_request',
      `--days must be an integer from 0 to ${MAX_RETENTION_DAYS}, got "${values.days}"`,
    );
  }
  const retention = { ...loadRetentionConfig(env), ...(days === undefined ? {} : { days }) };
  const store = await openStore(values.db ?? env.PARLEY_DATABASE_URL ?? DEFAULT_DATABASE_URL, {
    queryTimeoutMs: DEFAULT_LIMITS.dbQueryTimeoutMs,
    connectTimeoutMs: DEFAULT_LIMITS.dbConnectTimeoutMs,
  });
  try {
    await store.migrate();
    const pruner = new RetentionPruner({ store, ...retention });
    const result = await pruner.runOnce();
    out(JSON.stringify({ pruned: result.pruned, channels: result.channels, skipped: result.skipped }));
    return 0;
  } finally {
    await store.close();
  }
}
