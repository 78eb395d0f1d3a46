import type { ChannelKind, Message, Role } from '../../protocol/frames.js';

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
}

/** The outcome of an append: the stored message, and whether it was stored by an earlier call. */
export interface AppendResult {
  readonly message: Message;
  readonly duplicate: boolean;
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
export interface Store {
  /** Creates or upgrades the schema. Safe to call from several processes at once. */
  migrate(): Promise<void>;

  /** Inserts the user, or updates the username of an existing one. Returns the stored row. */
  upsertUser(user: { readonly id: string; readonly username: string }): Promise<StoredUser>;
  /** The user, or undefined. */
  getUser(id: string): Promise<StoredUser | undefined>;

  /**
   * Creates a channel with `lastSeq` 0 and a fresh epoch; when `owner` is given they become
   * its owner in the same transaction. Throws `conflict` when the id is taken.
   */
  createChannel(channel: {
    readonly id: string;
    readonly kind: ChannelKind;
    readonly title: string;
    readonly owner: string | null;
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

  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  /** Finishes pending appends, then closes connections. */
  close(): Promise<void>;
}
