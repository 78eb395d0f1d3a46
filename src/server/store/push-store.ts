// The Web Push part of the Store (issue 16): subscriptions, per-channel levels, the durable
// queue of pushes waiting for their grace period, the per-user rate window and the VAPID keys.

/** How much of a channel a user wants pushed: every message, mentions (and DMs) only, nothing. */
export type PushLevel = 'all' | 'mentions' | 'none';

/** The levels, in the order the API lists them. */
export const PUSH_LEVELS: readonly PushLevel[] = ['all', 'mentions', 'none'];

/** A browser's push subscription (the Push API's `PushSubscription`), for one user. */
export interface NewPushSubscription {
  readonly userId: string;
  /** The push service URL the browser was given. */
  readonly endpoint: string;
  /** The browser's P-256 public key (base64url). */
  readonly p256dh: string;
  /** The browser's auth secret (base64url). */
  readonly auth: string;
}

/** A stored push subscription. */
export interface StoredPushSubscription extends NewPushSubscription {
  readonly id: string;
  readonly createdAt: number;
}

/** A user who may be pushed about a new message, with their level in its channel (null = default). */
export interface PushCandidate {
  readonly userId: string;
  readonly username: string;
  readonly level: PushLevel | null;
}

/** One message to push to one user. */
export interface PushEntry {
  readonly userId: string;
  readonly channelId: string;
  readonly seq: number;
  readonly messageId: string;
  /** A DM or a mention (sent with high urgency). */
  readonly urgent: boolean;
}

/** A user's pushes of one channel, collapsed into one, as claimed by a sender. */
export interface PendingPush {
  readonly userId: string;
  readonly channelId: string;
  /** The newest message's seq and id. */
  readonly lastSeq: number;
  readonly lastMessageId: string;
  /** How many messages it stands for. */
  readonly messages: number;
  readonly urgent: boolean;
  /** When its first message was queued. */
  readonly createdAt: number;
  /** Failed attempts so far. */
  readonly attempts: number;
  /** The claim it is held under. */
  readonly claimedBy: string;
}

/** How a claimed push ended. */
export type PushSettlement =
  /** Sent, or not to be sent: gone, unless messages came after `lastSeq` (then due after `graceMs`). */
  | { readonly kind: 'done'; readonly lastSeq: number; readonly messages: number; readonly graceMs: number }
  /** To be looked at again at `at` (`failed`: the attempt counts). */
  | { readonly kind: 'later'; readonly at: number; readonly failed: boolean };

/**
 * The Store's Web Push records. Like the rest of the Store, every method may throw
 * `ParleyError('unavailable')`; the rows of a user go when the user's row does (and the
 * per-channel ones with their channel).
 */
export interface PushStore {
  /**
   * The cluster's VAPID key pair: the stored one, or `generate()`'s when none is stored yet
   * (stored then; of nodes racing, every one gets the pair that was stored first).
   */
  vapidKeys(
    generate: () => { readonly publicKey: string; readonly privateKey: string },
    now: number,
  ): Promise<{ readonly publicKey: string; readonly privateKey: string }>;
  /**
   * Stores the subscription for its user (an endpoint already stored, for whichever user, is
   * replaced: a browser has one subscription per server key), then keeps the user's `max`
   * newest, removing older ones.
   */
  savePushSubscription(sub: NewPushSubscription, max: number, now: number): Promise<StoredPushSubscription>;
  /** Removes the user's subscription with that endpoint; false when there was none. */
  deletePushSubscription(userId: string, endpoint: string): Promise<boolean>;
  /** Removes a subscription by id (its push service said it is gone). */
  dropPushSubscription(id: string): Promise<void>;
  /** The user's subscriptions, oldest first. */
  pushSubscriptionsOf(userId: string): Promise<readonly StoredPushSubscription[]>;
  /** Sets the user's level in a channel; null goes back to the default. */
  setPushLevel(userId: string, channelId: string, level: PushLevel | null): Promise<void>;
  /** The user's level in a channel, or null for the default. */
  pushLevel(userId: string, channelId: string): Promise<PushLevel | null>;
  /**
   * The users with at least one subscription, other than `senderId`, who are members of the
   * channel (when `members`), or chose `all` in it, or whose lower-cased username is one of
   * `mentioned`; each once, with their level in the channel.
   */
  pushCandidates(query: {
    readonly channelId: string;
    readonly senderId: string;
    readonly members: boolean;
    readonly mentioned: readonly string[];
  }): Promise<readonly PushCandidate[]>;
  /**
   * Queues the entries, due at `dueAt`: an entry of a user and channel that already waits is
   * folded into it (newest message, one more message, urgent if either is), keeping its due time.
   */
  queuePushes(entries: readonly PushEntry[], now: number, dueAt: number): Promise<void>;
  /**
   * Claims up to `limit` pending pushes due at `now`, soonest first, for `owner` (unique to this
   * claim, at most 64 characters) until `now + leaseMs`: no other claim gets them before then,
   * across processes, and a claim that lapses (its process died) makes them due again.
   */
  claimPushes(claim: {
    readonly owner: string;
    readonly limit: number;
    readonly leaseMs: number;
    readonly now: number;
  }): Promise<readonly PendingPush[]>;
  /** Settles `owner`'s claim; false when the claim was lost (lapsed and taken again). */
  settlePush(push: PendingPush, outcome: PushSettlement, now: number): Promise<boolean>;
  /**
   * Counts one push to the user in the fixed window of `windowMs` that holds `now`, unless `max`
   * were counted there already: then returns when the next window starts. Atomic across nodes.
   */
  takePushBudget(userId: string, windowMs: number, max: number, now: number): Promise<number | undefined>;
  /** The user's pushes waiting (claimed or not), by channel id: how many messages each stands for. */
  pendingPushes(userId: string): Promise<ReadonlyMap<string, number>>;
  /** Whether some node holds a connection of the user (the cluster's `online_users`). */
  userOnline(userId: string): Promise<boolean>;
}
