// The part of the `Store` port that retention, export and erasure use (issue 17): a file of its
// own so that store.ts only gains `extends RetentionStore`.
import type { Message } from '../../protocol/frames.js';

/** A channel's retention setting and how far it was pruned. */
export interface ChannelRetention {
  readonly id: string;
  /** The channel's own retention in days: null = the server's, 0 = keep forever. */
  readonly retentionDays: number | null;
  /** Every message with a seq up to this one was pruned (0 = none). */
  readonly prunedSeq: number;
}

/** One reaction a user gave, as an export lists it. */
export interface UserReaction {
  readonly messageId: string;
  readonly channelId: string;
  readonly emoji: string;
  readonly createdAt: number;
}

/**
 * What happens to an erased user's messages: `delete` empties them as `deleteMessage` does
 * (their seq stays, so history keeps no gaps; text, versions and reactions go), `anonymize`
 * keeps their text; both give them the placeholder author `ERASED_AUTHOR`.
 */
export type ErasureMode = 'delete' | 'anonymize';

/** The author erased users' messages get. The id `erased` is reserved, as `system` is. */
export const ERASED_AUTHOR = { id: 'erased', username: 'Deleted user' } as const;

/**
 * The Store's retention, export and erasure methods. Every write is bounded: at most `limit`
 * rows per statement, one short transaction per call, so that callers can pause between calls
 * and no lock is held for long. Errors as the Store's.
 */
export interface RetentionStore {
  /** Channels in id order after `after` (undefined = from the first), at most `limit`. */
  retentionChannels(after: string | undefined, limit: number): Promise<readonly ChannelRetention[]>;
  /**
   * Prunes the channel's oldest messages sent before `olderThan` (ms), at most `limit`, in one
   * transaction: only a run of the lowest seqs is pruned (a message is kept while an older seq
   * is), with their reactions, versions and search entries; `prunedSeq` moves up to the highest
   * seq pruned. `last_seq` is untouched, so no seq is ever used again. Returns how many went.
   */
  pruneChannel(channelId: string, olderThan: number, limit: number): Promise<number>;

  /**
   * Takes or renews the lease `name` for `owner` (at most 64 characters) until `now + leaseMs`
   * when it is free, lapsed or already `owner`'s. True when `owner` holds it now. Of several
   * processes asking at once, at most one gets it.
   */
  takeLease(name: string, owner: string, now: number, leaseMs: number): Promise<boolean>;
  /** Gives the lease up, when `owner` holds it. */
  releaseLease(name: string, owner: string): Promise<void>;

  /** The user's messages (any channel) with id > `after`, in id order (= commit order), at most `limit`. */
  userMessages(userId: string, after: string | undefined, limit: number): Promise<readonly Message[]>;
  /** The user's reactions after the (message id, emoji) `after`, in that order, at most `limit`. */
  userReactions(
    userId: string,
    after: { readonly messageId: string; readonly emoji: string } | undefined,
    limit: number,
  ): Promise<readonly UserReaction[]>;

  /**
   * One step of an erasure: up to `limit` of the user's messages get `ERASED_AUTHOR` (and are
   * emptied, with `delete`), and up to `limit` of their reactions go. Returns how many rows
   * changed (0 when nothing of the user's is left but their records, see `eraseUser`) and the
   * channels of the messages changed.
   */
  eraseUserContent(
    userId: string,
    mode: ErasureMode,
    limit: number,
  ): Promise<{ readonly changed: number; readonly channels: readonly string[] }>;
  /**
   * The last step of an erasure, in one transaction: the user's row, account, refresh tokens,
   * memberships and read positions go, the id is recorded as erased at `now` (tokens issued
   * before stay refused: `getUserStatus` answers `tokensValidAfter` = `now` for it), and, with
   * webhooks routed, `user.erased` (`data`) is written to the outbox. False when the user did not exist.
   */
  eraseUser(userId: string, now: number, data: Readonly<Record<string, unknown>>): Promise<boolean>;
}
