import type { Attachment, ChannelKind, Message, Role } from '../../protocol/frames.js';
import type { AttachmentStore } from './attachment-rows.js';
import type { ModerationStore } from './moderation-store.js';
import type { PushStore } from './push-store.js';
import type { RetentionStore } from './retention-store.js';
import type { NewWebhook, WebhookRouting } from './webhook-rows.js';

export type { AttachmentStore, NewAttachment, StoredAttachment } from './attachment-rows.js';
export type { ChannelRetention, ErasureMode, RetentionStore, UserReaction } from './retention-store.js';
export type { NewWebhook, WebhookRouting } from './webhook-rows.js';

/** Where a webhook delivery is: waiting for its (next) attempt, or out of time (dead). */
export type WebhookState = 'pending' | 'dead';

/** A delivery in the webhook outbox: one event for one URL. */
export interface WebhookDelivery extends NewWebhook {
  /** The delivery's own id (one per event and URL). */
  readonly id: string;
  readonly state: WebhookState;
  /** Attempts made so far. */
  readonly attempts: number;
  /** When it is due (a claimed delivery: when its claim lapses). */
  readonly nextAttemptAt: number;
  /** Why the last attempt failed, or null. */
  readonly lastError: string | null;
  /** The claim it was last taken under (`claimWebhooks`'s owner), or null. */
  readonly claimedBy: string | null;
}

/** How an attempt at a claimed delivery ended. */
export type WebhookOutcome =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'retry'; readonly at: number; readonly error: string }
  | { readonly kind: 'dead'; readonly error: string };

/** Whether a user may sign in, and which of their tokens still count. */
export interface UserStatus {
  /** A banned user's tokens are all refused. */
  readonly banned: boolean;
  /** Tokens issued (`iat`, in ms) before this time are refused; 0 = none revoked. */
  readonly tokensValidAfter: number;
}

/** A local account (standalone mode): a login name with an argon2id password hash. */
export interface StoredAccount {
  readonly login: string;
  readonly userId: string;
  readonly passwordHash: string;
}

/** What a channel update may change; absent fields stay as they are. */
export interface ChannelPatch {
  readonly title?: string;
  readonly topic?: string;
  readonly archived?: boolean;
  /** The channel's own retention in days: null = the server's, 0 = keep forever (issue 17). */
  readonly retentionDays?: number | null;
}

/** A search over the messages of some channels. */
export interface SearchQuery {
  /** The channels to search (the caller decides which the user may read). */
  readonly channelIds: readonly string[];
  /** The user's words; see `searchTerms` for how they are read. */
  readonly text: string;
  readonly limit: number;
  readonly offset: number;
}

/** Unread and mention counts of one channel for one user. */
export interface UnreadCount {
  readonly unread: number;
  readonly mentions: number;
}

/** A stored user. Users seen first through an external token are created on the fly. */
export interface StoredUser {
  readonly id: string;
  readonly username: string;
  readonly createdAt: number;
}

/** A stored channel. `id` is its stable wire name (`general`, `dm:…`). */
export interface StoredChannel {
  readonly id: string;
  readonly kind: ChannelKind;
  readonly title: string;
  /** Random; changes when the channel's history is reset, so stale resumes are refused. */
  readonly epoch: string;
  /** The highest seq committed in this channel (0 when empty). */
  readonly lastSeq: number;
  readonly createdBy: string | null;
  readonly createdAt: number;
  /** Free text describing the channel ('' when none). */
  readonly topic: string;
  /** Archived channels keep their history and refuse new messages. */
  readonly archived: boolean;
  /** The channel's own retention in days: null = the server's (`PARLEY_RETENTION_DAYS`), 0 = forever. */
  readonly retentionDays: number | null;
  /** Every message with a seq up to this one was pruned by retention (0 = none). */
  readonly prunedSeq: number;
}

/** A channel membership. */
export interface StoredMember {
  readonly channelId: string;
  readonly userId: string;
  readonly username: string;
  readonly role: Role;
  readonly joinedAt: number;
}

/** A message to append. `clientMsgId` makes the append idempotent per (channel, user). */
export interface NewMessage {
  readonly channelId: string;
  readonly userId: string;
  readonly username: string;
  readonly text: string;
  readonly clientMsgId: string | null;
  /** The id of a message of the same channel this one replies to. */
  readonly replyTo?: string | null;
  /** The event name, for a message triggered through the Pusher-compatible API (at most 200 characters). */
  readonly event?: string | null;
  /**
   * The records of the files it carries (checked by the caller: uploaded to this channel by
   * this sender, not attached yet); the append sets their rows' `message_id` in its transaction.
   */
  readonly attachments?: readonly Attachment[];
}

/** A text a message had before an edit replaced it. */
export interface MessageVersion {
  /** 1 for the text the message was sent with, then 2, 3, … in the order of the edits. */
  readonly version: number;
  readonly text: string;
  /** When this text was replaced (ms): the `edited_at` the replacing edit set. */
  readonly editedAt: number;
}

/** The outcome of an append: the stored message, and whether it was stored by an earlier call. */
export interface AppendResult {
  readonly message: Message;
  readonly duplicate: boolean;
}

/** A user as the admin console lists them (#17). */
export interface AdminUser extends StoredUser {
  readonly banned: boolean;
  readonly admin: boolean;
}

/** A channel as the admin console lists it (#17). */
export interface AdminChannel {
  readonly id: string;
  readonly kind: ChannelKind;
  readonly title: string;
  readonly lastSeq: number;
  readonly archived: boolean;
}

/**
 * Parley's durable storage. The single source of truth for users, channels, members and
 * messages; every other component (caches, buses) may lose data, this one may not.
 *
 * Errors: methods throw `ParleyError('conflict')` for a unique clash named in their contract,
 * `ParleyError('not_found')` for an unknown user or channel they must refer to,
 * `ParleyError('bad_request')` for a value the columns cannot hold (an over-long id or title,
 * text over 65,535 UTF-8 bytes, a NUL character), and `ParleyError('unavailable')` when the
 * database cannot be reached or the store is closed. Any other failure is a bug. Paging
 * methods do not cap `limit`: callers enforce their page size.
 */
export interface Store extends AttachmentStore, RetentionStore {
  /** Creates or upgrades the schema. Safe to call from several processes at once. */
  migrate(): Promise<void>;

  /** Inserts the user, or updates the username of an existing one. Returns the stored row. */
  upsertUser(user: { readonly id: string; readonly username: string }): Promise<StoredUser>;
  /** The user, or undefined. */
  getUser(id: string): Promise<StoredUser | undefined>;
  /**
   * Users not banned whose username starts with `prefix`, case-insensitively (ASCII letters in
   * every database; more where the database folds more), ordered by lower-cased username then id, at most
   * `limit` of them. An empty prefix finds no one.
   */
  findUsers(prefix: string, limit: number): Promise<readonly StoredUser[]>;

  /**
   * Creates a channel with `lastSeq` 0 and a fresh epoch; when `owner` is given they become
   * its owner in the same transaction. Throws `conflict` when the id is taken.
   */
  createChannel(channel: {
    readonly id: string;
    readonly kind: ChannelKind;
    readonly title: string;
    readonly owner: string | null;
    readonly topic?: string;
  }): Promise<StoredChannel>;
  /** The channel, or undefined. `lastSeq` is current as of the call. */
  getChannel(id: string): Promise<StoredChannel | undefined>;
  /** Channels the user is a member of, and all public channels, ordered by id. */
  listChannelsFor(userId: string): Promise<readonly (StoredChannel & { readonly role: Role | null })[]>;

  /** The user's role in the channel, or undefined when not a member. */
  getRole(channelId: string, userId: string): Promise<Role | undefined>;
  /** Adds the user to the channel with `role`, or changes their role. The user must exist. */
  setMember(channelId: string, userId: string, role: Role): Promise<void>;
  /** Removes the user from the channel. Returns false when they were not a member. */
  removeMember(channelId: string, userId: string): Promise<boolean>;
  /** The channel's members, ordered by user id. */
  listMembers(channelId: string): Promise<readonly StoredMember[]>;

  /**
   * Appends messages durably. Messages are batched with others that arrive in the same tick
   * and committed in one transaction (group commit); each gets its channel's next seq (no gaps,
   * commit order = seq order, also across processes sharing the database). A message whose
   * (channel, user, clientMsgId) is already stored is not stored again: its result is the
   * stored message with `duplicate: true`. Resolves only after the commit. Throws `not_found`
   * when the channel does not exist (only that message fails).
   */
  append(message: NewMessage): Promise<AppendResult>;

  /** The newest `limit` messages of a channel, ascending by seq. */
  latest(channelId: string, limit: number): Promise<readonly Message[]>;
  /** Up to `limit` messages with seq < `before`, the nearest ones, ascending by seq. */
  before(channelId: string, before: number, limit: number): Promise<readonly Message[]>;
  /** Up to `limit` messages with seq > `after`, the nearest ones, ascending by seq. */
  after(channelId: string, after: number, limit: number): Promise<readonly Message[]>;

  /**
   * The message, or undefined (also when it is in another channel). Like history pages, a
   * message carries `reply_to`, `edited_at`, `deleted` and `reactions` when they apply.
   */
  getMessage(channelId: string, id: string): Promise<Message | undefined>;
  /**
   * Replaces a message's text and sets `edited_at`; in the same transaction the replaced text is
   * kept as the message's next version (see `messageVersions`). Concurrent edits and deletes of
   * one message are serialized: no version is lost or kept for a deleted message. Throws
   * `not_found` for an unknown message and `conflict` for a deleted one.
   */
  editMessage(channelId: string, id: string, text: string): Promise<Message>;
  /**
   * Deletes a message: its seq stays (history keeps no gaps), its text becomes '' in storage
   * and in the search index, its earlier versions and its reactions go, and it carries
   * `deleted: true`. Deleting a deleted message returns it unchanged. Throws `not_found` for an
   * unknown message.
   */
  deleteMessage(channelId: string, id: string): Promise<Message>;
  /**
   * The texts edits replaced, oldest first (the current text is the message's own); [] for a
   * message never edited, or deleted. Versions are not searched. Throws `not_found` for an
   * unknown message (also when it is in another channel).
   */
  messageVersions(channelId: string, messageId: string): Promise<readonly MessageVersion[]>;
  /**
   * Adds the user's reaction `emoji` to a message, or removes it when it is there. Returns
   * whether it was added, and the message with its reaction counts. Throws `not_found` for an
   * unknown message and `conflict` for a deleted one.
   */
  toggleReaction(
    channelId: string,
    messageId: string,
    userId: string,
    emoji: string,
  ): Promise<{ readonly added: boolean; readonly message: Message }>;
  /** Up to `limit` replies to `rootId` with seq > `after`, ascending by seq. */
  thread(channelId: string, rootId: string, after: number, limit: number): Promise<readonly Message[]>;
  /**
   * Full-text search with the database's own engine (SQLite FTS5, MySQL/MariaDB FULLTEXT,
   * PostgreSQL tsvector), never a scan: messages of `channelIds` that contain every term of
   * `text` (as a word or a word's beginning, case-insensitively), deleted ones excluded,
   * newest first, `offset` skipped. No terms, or no channels, find nothing.
   */
  search(query: SearchQuery): Promise<readonly Message[]>;

  /**
   * Moves the user's read position in a channel forward to `seq` (never back: two clients
   * racing cannot undo each other). Returns the position now stored. Throws `not_found` for an
   * unknown channel.
   */
  setReadPosition(channelId: string, userId: string, seq: number): Promise<number>;
  /** The user's read positions, by channel id (channels never read are absent). */
  readPositions(userId: string): Promise<ReadonlyMap<string, number>>;
  /**
   * Per channel: messages after the given seq that others sent and that are not deleted
   * (`unread`, at most `cap`), and how many of those mention `@mention` (`mentions`; a word
   * boundary must follow, any case).
   */
  unreadCounts(
    userId: string,
    mention: string,
    channels: readonly { readonly channelId: string; readonly after: number }[],
    cap: number,
  ): Promise<ReadonlyMap<string, UnreadCount>>;

  /** Changes a channel's title, topic or archived flag. Throws `not_found` for an unknown channel. */
  updateChannel(id: string, patch: ChannelPatch): Promise<StoredChannel>;

  /** The user's ban flag and token cut-off, or undefined for an unknown user. */
  getUserStatus(id: string): Promise<UserStatus | undefined>;
  /** Changes the user's ban flag and/or token cut-off. Throws `not_found` for an unknown user. */
  setUserStatus(id: string, patch: Partial<UserStatus>): Promise<UserStatus>;

  /**
   * Creates a user and their local account in one transaction. Throws `conflict` when the
   * login or the user id is taken.
   */
  createAccount(account: StoredAccount & { readonly username: string }): Promise<StoredUser>;
  /** The account with that login name, or undefined. */
  getAccount(login: string): Promise<StoredAccount | undefined>;
  /** Stores a refresh token's id (a hash of the token) for the user, valid until `expiresAt`. */
  saveRefreshToken(token: {
    readonly id: string;
    readonly userId: string;
    readonly expiresAt: number;
  }): Promise<void>;
  /**
   * Removes the refresh token and returns its user, or undefined when it is unknown or expired
   * at `now`. Of two concurrent calls with one token, at most one gets the user.
   */
  takeRefreshToken(id: string, now: number): Promise<string | undefined>;
  /** Removes every refresh token of the user. */
  deleteRefreshTokens(userId: string): Promise<void>;

  // ─── the webhook outbox ──────────────────────────────────────────────────────────────────

  /**
   * From now on, `append` (`message.created`), `setMember` and `removeMember` (`member.added`,
   * `member.updated`, `member.removed`) write their events to the outbox for these URLs in the
   * same transaction as the change; undefined stops it.
   */
  routeWebhooks(routing: WebhookRouting | undefined): void;
  /** Writes deliveries of events that have no transaction of their own (presence, Pusher's). */
  enqueueWebhooks(deliveries: readonly NewWebhook[]): Promise<void>;
  /**
   * Claims up to `limit` pending deliveries due at `now`, oldest first, for `owner` (unique to
   * this claim, at most 64 characters) until `now + leaseMs`: no other claim gets them before
   * then (across processes), and a claim that lapses (its process died) makes them due again.
   */
  claimWebhooks(claim: {
    readonly owner: string;
    readonly limit: number;
    readonly leaseMs: number;
    readonly now: number;
  }): Promise<readonly WebhookDelivery[]>;
  /**
   * Records the outcome of `owner`'s attempt: delivered removes the delivery, retry makes it
   * due at `at`, dead keeps it in the dead list. False when the claim was lost (lapsed and
   * taken by another owner): nothing changes.
   */
  settleWebhook(id: string, owner: string, outcome: WebhookOutcome): Promise<boolean>;
  /** Deliveries in `state`, oldest first, after the one with id `after`. */
  listWebhooks(query: {
    readonly state: WebhookState;
    readonly limit: number;
    readonly after?: string;
  }): Promise<readonly WebhookDelivery[]>;
  /**
   * Makes dead deliveries (those of `ids`, or all when `ids` is undefined) pending again, due at
   * `now` with a fresh window ending at `expiresAt`; their ids and event ids stay. Returns how many.
   */
  replayWebhooks(ids: readonly string[] | undefined, now: number, expiresAt: number): Promise<number>;
  /** How many deliveries are pending and dead. */
  countWebhooks(): Promise<{ readonly pending: number; readonly dead: number }>;

  // ─── who is online across the cluster ───────────────────────────────────────────────────

  /**
   * Records that `node` holds a connection of the user (call once per user per node, when its
   * first one opens there). True when this made the user online across the cluster; then, with
   * webhooks routed, `user.online` is written to the outbox in the same transaction.
   */
  markOnline(
    node: string,
    user: { readonly id: string; readonly username: string },
    now: number,
  ): Promise<boolean>;
  /**
   * Records that `node` holds no connection of the user any more. True when this made the user
   * offline across the cluster (then `user.offline` is written in the same transaction); false
   * also when the node was not holding them (already let go, e.g. by `sweepNodes`).
   */
  markOffline(node: string, userId: string, now: number): Promise<boolean>;
  /**
   * Stores the node's heartbeat time. False when the node was not known (new, or swept as dead
   * while it was only slow: it should mark its users online again).
   */
  nodeSeen(node: string, at: number): Promise<boolean>;
  /**
   * Lets go of the users of every node not seen since `before` (as `markOffline` would, each
   * exactly once however many nodes sweep at once), then forgets those nodes. Returns how many
   * users went offline.
   */
  sweepNodes(before: number, now: number): Promise<number>;

  /** Bans, mutes, slow mode, word filters and reports (issue 17). */
  readonly moderation: ModerationStore;

  // ─── server admins and the admin console's searches (#17) ───────────────────────────────

  /** True when the user is a server admin; false for an unknown user. */
  isUserAdmin(id: string): Promise<boolean>;
  /** Sets or clears the user's server-admin flag. Throws `not_found` for an unknown user. */
  setUserAdmin(id: string, admin: boolean): Promise<void>;
  /**
   * Up to `limit` users whose id or username contains `query` (ASCII letters in any case;
   * `%` and `_` are plain characters), ordered by id; `''` lists the first users.
   */
  searchUsers(query: string, limit: number): Promise<readonly AdminUser[]>;
  /** Up to `limit` channels whose id or title contains `query`, as `searchUsers`, ordered by id. */
  searchChannels(query: string, limit: number): Promise<readonly AdminChannel[]>;

  // Retention, export and erasure (issue 17): `RetentionStore` (store/retention-store.ts), above.

  // ─── Web Push ───────────────────────────────────────────────────────────────────────────

  /** The Web Push records (subscriptions, levels, pending pushes): see `PushStore`. */
  readonly push: PushStore;

  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  /** Finishes pending appends, then closes connections. */
  close(): Promise<void>;
}
