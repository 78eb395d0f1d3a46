import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './usage-error.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** What {@link parseFlags} returns for the option set `O`. */
export type ParsedFlags<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>
>;

/**
 * `node:util` parseArgs in strict mode with positionals allowed, whose complaints (unknown
 * option, missing value) become a `UsageError` carrying the command's `usage`.
 */
export function parseFlags<O extends Options>(
  argv: readonly string[],
  options: O,
  usage: string,
): ParsedFlags<O> {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err), usage);
  }
}

/** Parses a flag that must be a non-negative integer (a seq, a count). */
export function parseCount(raw: string, flag: string, usage: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isSafeInteger(value) || value < 0) {
    throw new UsageError(`${flag} must be a non-negative integer, got "${raw}"`, usage);
  }
  return value;
}
