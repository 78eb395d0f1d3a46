import type { Message } from '../../protocol/frames.js';

/**
 * The newest messages of each channel, so history-on-join and short resumes skip SQL. May lose
 * anything at any time; the Store stays the source of truth. `range` answers only when it holds
 * every message of the range, so a caller never serves a gap from the cache.
 */
export interface HistoryCache {
  /** Records a committed message (in any order; repeats are ignored). */
  add(message: Message): Promise<void>;
  /**
   * Every message with `after` < seq ≤ `upTo`, ascending, or undefined when the cache does not
   * hold all of them.
   */
  range(channel: string, after: number, upTo: number): Promise<readonly Message[] | undefined>;
  /** Forgets a channel's messages (after an edit or delete changed one of them). */
  invalidate(channel: string): Promise<void>;
  close(): Promise<void>;
}

/** The messages of `found` if they are exactly seqs after+1 … upTo, ascending; else undefined. */
export function completeRange(
  found: readonly Message[],
  after: number,
  upTo: number,
): readonly Message[] | undefined {
  if (upTo <= after) return [];
  if (found.length !== upTo - after) return undefined;
  for (let i = 0; i < found.length; i++) if (found[i]!.seq !== after + 1 + i) return undefined;
  return found;
}
