import { UsageError } from './usage-error.js';

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/**
 * Parses a duration flag (`30s`, `15m`, `1h`, `7d`, or a plain number of seconds) into whole
 * seconds; throws a `UsageError` naming `flag` for anything else, zero included.
 */
export function parseDuration(raw: string, flag: string, usage: string): number {
  const match = /^(\d+)(s|m|h|d)?$/.exec(raw.trim());
  const amount = Number(match?.[1]);
  if (match === null || !Number.isSafeInteger(amount) || amount <= 0) {
    throw new UsageError(`${flag} must look like 30s, 15m, 1h or 7d, got "${raw}"`, usage);
  }
  return amount * UNIT_SECONDS[(match[2] ?? 's') as keyof typeof UNIT_SECONDS];
}
