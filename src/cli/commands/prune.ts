import type { CliIo } from '../cli-io.js';
import { USAGE } from '../usage.js';
import { UsageError } from '../usage-error.js';

/** `parley prune`: one retention pass on the database now (the server's own code, loaded on use). */
export async function prune(argv: readonly string[], io: CliIo): Promise<number> {
  const { runPrune } = await import('../../server/prune-main.js');
  try {
    return await runPrune(argv, io.env, (line) => io.out(line));
  } catch (err) {
    // parseArgs' own errors: an unknown flag, a missing value.
    if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError(err.message, USAGE.prune);
    }
    throw err;
  }
}
