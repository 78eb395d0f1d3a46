import type { Message } from '../../protocol/frames.js';

/** A channel ban (no reading, posting or rejoining) or mute (reading only). */
export type SanctionKind = 'ban' | 'mute';

/** A ban or mute of one user in one channel. */
export interface Sanction {
  readonly channelId: string;
  readonly userId: string;
  readonly kind: SanctionKind;
  /** When it ends (ms since the epoch); null = until lifted. */
  readonly until: number | null;
  /** Why, as the moderator gave it (at most 500 characters), or null. */
  readonly reason: string | null;
  /** Who imposed it (a user id, or the system user's). */
  readonly by: string;
  readonly createdAt: number;
}

/** What the core caches of one channel's moderation: who is banned or muted now, and slow mode. */
export interface ChannelModeration {
  /** The sanctions in force at the time of the read (lapsed ones left out). */
  readonly sanctions: readonly Sanction[];
  /** Seconds a user must wait between two messages; 0 = off. */
  readonly slowModeSeconds: number;
}

/** What a word filter does with a message that contains one of its words. */
export type FilterAction = 'reject' | 'mask';

/** A list of filtered words: server-wide (`channelId` null) or one channel's. */
export interface WordFilterList {
  readonly channelId: string | null;
  readonly words: readonly string[];
  readonly action: FilterAction;
  readonly updatedAt: number;
}

/** Where a report is: waiting for a moderator, or settled one way or the other. */
export type ReportState = 'open' | 'resolved' | 'dismissed';

/** A reader's report of a message. */
export interface MessageReport {
  readonly id: string;
  readonly channelId: string;
  readonly messageId: string;
  readonly reporterId: string;
  readonly reason: string;
  readonly state: ReportState;
  readonly createdAt: number;
  /** When it was resolved or dismissed, and by whom; null while open. */
  readonly settledAt: number | null;
  readonly settledBy: string | null;
}

/** The longest sanction or report reason, in characters (the columns). */
export const MAX_MODERATION_REASON = 500;

/**
 * The durable part of moderation (issue 17): channel bans and mutes, slow mode and its
 * per-user post times, word-filter lists and message reports. Errors as the `Store`'s
 * (`bad_request` for values the columns cannot hold, `unavailable` when the database is gone).
 *
 * With webhooks routed (`Store.routeWebhooks`), `sanction` and `lift` write `member.banned`,
 * `member.muted`, `member.unbanned` or `member.unmuted`, and `report` writes
 * `message.reported`, to the outbox in the same transaction as the change.
 */
export interface ModerationStore {
  /** Bans or mutes the user in the channel, or replaces the ban/mute there is (new until, reason). */
  sanction(sanction: Sanction): Promise<void>;
  /** Lifts the user's ban or mute. False when there was none in force (a lapsed one is removed too). */
  lift(channelId: string, userId: string, kind: SanctionKind, by: string, now: number): Promise<boolean>;
  /** The sanctions in force at `now` and the slow mode of the channel, in one read. */
  channelModeration(channelId: string, now: number): Promise<ChannelModeration>;
  /** Sets the channel's slow mode (0 turns it off). */
  setSlowMode(channelId: string, seconds: number): Promise<void>;
  /**
   * Takes the user's next post slot in a slow-mode channel: 0 when their last post in the
   * channel is at least `windowMs` before `now` (or there is none), and `now` becomes their last
   * post; otherwise the ms until they may post, and nothing changes. Atomic across processes
   * (a conditional update of one row): of two posts racing on two nodes, one gets the slot.
   * A retry of the post that took the slot (the same non-null `clientMsgId`) gets 0 again, so
   * an idempotent resend is not refused.
   */
  takePostSlot(slot: {
    readonly channelId: string;
    readonly userId: string;
    readonly clientMsgId: string | null;
    readonly now: number;
    readonly windowMs: number;
  }): Promise<number>;
  /** Every word-filter list, the server-wide one first. */
  wordFilters(): Promise<readonly WordFilterList[]>;
  /** Replaces a word-filter list; no words removes it. */
  putWordFilter(list: WordFilterList): Promise<void>;
  /** Stores a report (open); `message` goes into the `message.reported` event. */
  report(report: {
    readonly channelId: string;
    readonly messageId: string;
    readonly reporterId: string;
    readonly reason: string;
    readonly now: number;
    readonly message: Message;
  }): Promise<MessageReport>;
  /** Reports in `state`, oldest first, after the one with id `after`. */
  listReports(query: {
    readonly state: ReportState;
    readonly limit: number;
    readonly after?: string | undefined;
  }): Promise<readonly MessageReport[]>;
  /**
   * Resolves or dismisses an open report. Undefined for an unknown id; throws `conflict` when
   * it is settled already.
   */
  settleReport(
    id: string,
    state: 'resolved' | 'dismissed',
    by: string,
    now: number,
  ): Promise<MessageReport | undefined>;
}
