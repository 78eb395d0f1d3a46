/**
 * Parley's wire protocol: JSON text frames over one WebSocket, in both directions. Every frame
 * is an object with a `type`. A client request may carry `ref` (a string or integer of its
 * choosing); the reply echoes it. docs/protocol.md is the prose version of this file.
 *
 * One file of ~500 lines on purpose: it is the protocol, read beside docs/protocol.md, and it
 * holds only types; were it to grow, client frames and server frames would be its two halves.
 */

/** A channel's kind: anyone may join a public one; private ones and DMs are members only. */
export type ChannelKind = 'public' | 'private' | 'dm';

/** A member's role in a channel, strongest first. */
export type Role = 'owner' | 'admin' | 'moderator' | 'member' | 'readonly';

/** All roles, strongest first. */
export const ROLES: readonly Role[] = ['owner', 'admin', 'moderator', 'member', 'readonly'];

/** A request correlation id chosen by the client. */
export type Ref = string | number;

/** A user as peers see one. */
export interface UserInfo {
  readonly id: string;
  readonly username: string;
}

/** One stored chat message: the same object in live delivery, history pages and resume. */
export interface Message {
  readonly id: string;
  readonly channel: string;
  /** Position in the channel: 1, 2, 3… with no gaps, in commit order. */
  readonly seq: number;
  readonly user_id: string;
  readonly username: string;
  readonly text: string;
  /** Commit time, milliseconds since the Unix epoch. */
  readonly ts: number;
  /** The sender's idempotency key; null for messages published without one. */
  readonly client_msg_id: string | null;
  /** Present on a reply: the id of the message (same channel) it answers. */
  readonly reply_to?: string;
  /** Present on a message triggered through the Pusher-compatible API: its event name (its data is `text`). */
  readonly event?: string;
  /** Present once edited: when it was last edited, ms since the epoch. */
  readonly edited_at?: number;
  /** Present (true) on a deleted message; its `text` is then ''. */
  readonly deleted?: true;
  /** Present in history and replies when the message has reactions, by emoji. */
  readonly reactions?: readonly ReactionCount[];
  /** Present when files were attached (issue 16), in the order the sender listed them. */
  readonly attachments?: readonly Attachment[];
}

/**
 * A file attached to a message (issue 16). `url` and `thumbnail_url` are paths on Parley's HTTP
 * API: fetch them with the bearer token, or add a channel's download ticket (`?ticket=…`, from
 * `GET /api/channels/:id/attachments/ticket`) to use them in an `<img>` tag.
 */
export interface Attachment {
  readonly id: string;
  /** The file's name as uploaded (at most 255 characters, no path). */
  readonly name: string;
  /** The media type sniffed from the file's bytes. */
  readonly type: string;
  /** Bytes, as stored (an image is stored re-encoded, without its metadata). */
  readonly size: number;
  /** Images only: pixels. */
  readonly width?: number;
  readonly height?: number;
  readonly url: string;
  /** Images only: a small preview (at most 320 pixels on its longer side). */
  readonly thumbnail_url?: string;
}

/** One emoji's reactions to a message. */
export interface ReactionCount {
  readonly emoji: string;
  readonly count: number;
  /** Who reacted, ordered by id. */
  readonly user_ids: readonly string[];
}

/** A channel as a member sees it. */
export interface ChannelInfo {
  readonly id: string;
  readonly kind: ChannelKind;
  readonly title: string;
  /** The caller's role, or null when the caller is not a member (public channels only). */
  readonly role: Role | null;
}

/** A channel as one user sees it in a list or a lookup of the HTTP API (`GET /api/channels`). */
export interface ChannelDetail {
  readonly id: string;
  readonly kind: ChannelKind;
  readonly title: string;
  readonly topic: string;
  readonly archived: boolean;
  /** The caller's role, or null when not a member (public channels to join). */
  readonly role: Role | null;
  readonly last_seq: number;
  /** The caller's read position (0 when never read). */
  readonly last_read_seq: number;
  /** Messages of others after the read position (members only; capped at `unreadCountMax`). */
  readonly unread: number;
  /** Of those, how many mention `@username`. */
  readonly mentions: number;
}

/** One search hit of the HTTP API: the message and where the search terms occur in its text. */
export interface SearchHit {
  readonly message: Message;
  /** [start, end) offsets in UTF-16 code units. */
  readonly highlights: readonly (readonly [number, number])[];
}

// ─── client → server ────────────────────────────────────────────────────────────────────────

/** First frame of every connection: authenticate with a JWT. */
export interface AuthFrame {
  readonly type: 'auth';
  readonly token: string;
  readonly ref?: Ref;
}
/** Replace the session's token before it expires. */
export interface RefreshFrame {
  readonly type: 'refresh';
  readonly token: string;
  readonly ref?: Ref;
}
/** Application-level ping; answered by `pong`. */
export interface PingFrame {
  readonly type: 'ping';
  readonly ref?: Ref;
}
/**
 * Start receiving a channel's messages. Without `since`: the latest `history` messages, then
 * live. With `since`: every message after that seq (a resume), or `recovered: false` when the
 * gap is too large or the channel's epoch changed.
 */
export interface SubscribeFrame {
  readonly type: 'subscribe';
  readonly ref?: Ref;
  readonly channel: string;
  readonly history?: number;
  readonly since?: number;
  readonly epoch?: string;
}
/** Stop receiving a channel's messages (membership is kept). */
export interface UnsubscribeFrame {
  readonly type: 'unsubscribe';
  readonly ref?: Ref;
  readonly channel: string;
}
/** Post a message; acked once durable. The same `client_msg_id` never stores twice. */
export interface PublishFrame {
  readonly type: 'publish';
  readonly ref?: Ref;
  readonly channel: string;
  readonly text: string;
  readonly client_msg_id: string;
  /** Reply to this message (of the same channel). */
  readonly reply_to?: string;
  /** Ids of one's own uploads to this channel, not sent yet, that the message carries. */
  readonly attachments?: readonly string[];
}
/** Replace the text of one's own message (or, as channel admin/owner, anyone's). */
export interface MessageEditFrame {
  readonly type: 'message_edit';
  readonly ref?: Ref;
  readonly channel: string;
  readonly id: string;
  readonly text: string;
}
/** Delete a message (its author, or a channel admin/owner). */
export interface MessageDeleteFrame {
  readonly type: 'message_delete';
  readonly ref?: Ref;
  readonly channel: string;
  readonly id: string;
}
/** Add one's reaction `emoji` to a message, or remove it when it is there (a toggle). */
export interface ReactFrame {
  readonly type: 'react';
  readonly ref?: Ref;
  readonly channel: string;
  readonly id: string;
  readonly emoji: string;
}
/** "I have read up to `seq`": moves the caller's read position forward. */
export interface ReadFrame {
  readonly type: 'read';
  readonly ref?: Ref;
  readonly channel: string;
  readonly seq: number;
}
/** Read a page of history: before a seq (paging back) or after one (filling a gap). */
export interface HistoryFrame {
  readonly type: 'history';
  readonly ref?: Ref;
  readonly channel: string;
  readonly before?: number;
  readonly after?: number;
  readonly limit?: number;
}
/** "I am typing" in a channel; relayed to its other subscribers, never stored. */
export interface TypingFrame {
  readonly type: 'typing';
  readonly ref?: Ref;
  readonly channel: string;
}
/** Who is online in a channel. */
export interface PresenceQueryFrame {
  readonly type: 'presence';
  readonly ref?: Ref;
  readonly channel: string;
}
/** Create a channel; the caller becomes its owner. */
export interface ChannelCreateFrame {
  readonly type: 'channel_create';
  readonly ref?: Ref;
  readonly channel: string;
  readonly private?: boolean;
  readonly title?: string;
}
/** Add a user to a channel, or change their role (owner or admin only). */
export interface MemberAddFrame {
  readonly type: 'member_add';
  readonly ref?: Ref;
  readonly channel: string;
  readonly user_id: string;
  readonly role?: Role;
}
/** Remove a user from a channel (owner or admin, or a member leaving). */
export interface MemberRemoveFrame {
  readonly type: 'member_remove';
  readonly ref?: Ref;
  readonly channel: string;
  readonly user_id: string;
}
/**
 * Ban, unban, mute or unmute a user in a channel (its owners, admins and moderators): the same
 * as the HTTP API's `…/bans/:userId` and `…/mutes/:userId`. Answered with a `moderation` frame.
 */
export interface ModerateFrame {
  readonly type: 'moderate';
  readonly ref?: Ref;
  readonly channel: string;
  readonly user_id: string;
  readonly action: 'ban' | 'unban' | 'mute' | 'unmute';
  /** When a ban or mute ends, ms since the epoch (a mute needs one; a ban without lasts until lifted). */
  readonly until?: number;
  /** Why, for the channel's moderators (1–500 characters). */
  readonly reason?: string;
}

/** Open (or get) the direct-message channel with another user. */
export interface DmOpenFrame {
  readonly type: 'dm_open';
  readonly ref?: Ref;
  readonly user_id: string;
}

/** Every frame a client may send. */
export type ClientFrame =
  | AuthFrame
  | RefreshFrame
  | PingFrame
  | SubscribeFrame
  | UnsubscribeFrame
  | PublishFrame
  | HistoryFrame
  | TypingFrame
  | PresenceQueryFrame
  | ChannelCreateFrame
  | MemberAddFrame
  | MemberRemoveFrame
  | DmOpenFrame
  | ModerateFrame
  | MessageEditFrame
  | MessageDeleteFrame
  | ReactFrame
  | ReadFrame;

/** The `type` of a client frame. */
export type ClientFrameType = ClientFrame['type'];

// ─── server → client ────────────────────────────────────────────────────────────────────────

/** Limits the server enforces, announced in `welcome`. */
export interface ServerLimits {
  readonly max_message_chars: number;
  readonly max_payload_bytes: number;
  readonly history_page_max: number;
}

/** Reply to a good `auth`. */
export interface WelcomeFrame {
  readonly type: 'welcome';
  readonly ref?: Ref;
  readonly user: UserInfo;
  readonly session_id: string;
  readonly heartbeat_ms: number;
  /** When the token stops being valid (ms since epoch); send `refresh` before then. */
  readonly expires_at: number;
  readonly limits: ServerLimits;
}
/** Reply to `refresh`. */
export interface RefreshedFrame {
  readonly type: 'refreshed';
  readonly ref?: Ref;
  readonly expires_at: number;
}
/** Sent shortly before the session's token expires. */
export interface TokenExpiringFrame {
  readonly type: 'token_expiring';
  readonly expires_at: number;
}
/** Reply to `ping`. */
export interface PongFrame {
  readonly type: 'pong';
  readonly ref?: Ref;
  readonly ts: number;
}
/** Reply to `publish`: the message is committed. */
export interface AckFrame {
  readonly type: 'ack';
  readonly ref?: Ref;
  readonly channel: string;
  readonly id: string;
  readonly seq: number;
  readonly ts: number;
  readonly client_msg_id: string;
  /** True when this `client_msg_id` had already been stored (a retry). */
  readonly duplicate: boolean;
}
/** A live message in a subscribed channel. */
export interface MessageFrame extends Message {
  readonly type: 'message';
}
/** Reply to `subscribe`. */
export interface SubscribedFrame {
  readonly type: 'subscribed';
  readonly ref?: Ref;
  readonly channel: string;
  readonly kind: ChannelKind;
  readonly title: string;
  readonly role: Role | null;
  /** Changes when the channel's history is reset; a resume across epochs is not recovered. */
  readonly epoch: string;
  /** The highest seq at subscribe time. */
  readonly last_seq: number;
  /** For a resume: true when `messages` holds every message after `since`. */
  readonly recovered: boolean;
  /** Ascending by seq: the history page, or the missed messages of a resume. */
  readonly messages: readonly Message[];
  /**
   * Users online in the channel, ordered by id; only you when more than `presenceMax` users
   * are online (ask with `presence` for the list then).
   */
  readonly presence: readonly UserInfo[];
  /** How many users are online in the channel, you included. */
  readonly presence_count: number;
}
/** Reply to `unsubscribe`, or sent unasked when the user loses access to the channel. */
export interface UnsubscribedFrame {
  readonly type: 'unsubscribed';
  readonly ref?: Ref;
  readonly channel: string;
  readonly reason: 'requested' | 'removed' | 'banned';
}
/** Reply to `history`. */
export interface HistoryPageFrame {
  readonly type: 'history';
  readonly ref?: Ref;
  readonly channel: string;
  /** Ascending by seq. */
  readonly messages: readonly Message[];
  /** True when more messages lie beyond this page in the direction asked. */
  readonly has_more: boolean;
}
/** A user came online in, or left, a channel (first connection in / last connection out). */
export interface PresenceEventFrame {
  readonly type: 'presence';
  readonly channel: string;
  readonly event: 'join' | 'leave';
  readonly user: UserInfo;
}
/** Reply to a `presence` query. */
export interface PresenceListFrame {
  readonly type: 'presence_list';
  readonly ref?: Ref;
  readonly channel: string;
  readonly users: readonly UserInfo[];
}
/** Someone is typing in a channel. */
export interface TypingEventFrame {
  readonly type: 'typing';
  readonly channel: string;
  readonly user: UserInfo;
}
/** Reply to `channel_create` and `dm_open`. */
export interface ChannelFrame {
  readonly type: 'channel';
  readonly ref?: Ref;
  readonly channel: ChannelInfo;
}
/** A membership change: the reply to `member_add`/`member_remove`, and pushed to the affected user. */
export interface MemberFrame {
  readonly type: 'member';
  readonly ref?: Ref;
  readonly channel: string;
  readonly user_id: string;
  /** The new role, or null when the user was removed. */
  readonly role: Role | null;
}
/** A message's text was edited: sent to the channel's subscribers; the reply to `message_edit`. */
export interface MessageEditedFrame {
  readonly type: 'message_edited';
  readonly ref?: Ref;
  readonly channel: string;
  readonly id: string;
  readonly seq: number;
  readonly text: string;
  readonly edited_at: number;
  /** Who edited it (the author, or a channel admin/owner). */
  readonly by: string;
}
/** A message was deleted: sent to the channel's subscribers; the reply to `message_delete`. */
export interface MessageDeletedFrame {
  readonly type: 'message_deleted';
  readonly ref?: Ref;
  readonly channel: string;
  readonly id: string;
  readonly seq: number;
  readonly by: string;
}
/** A reaction was added or removed: sent to the channel's subscribers; the reply to `react`. */
export interface ReactionFrame {
  readonly type: 'reaction';
  readonly ref?: Ref;
  readonly channel: string;
  readonly id: string;
  readonly seq: number;
  readonly emoji: string;
  readonly user_id: string;
  readonly added: boolean;
  /** How many users now react with this emoji. */
  readonly count: number;
}
/** The user's read position in a channel: the reply to `read`, and pushed to their other connections. */
export interface ReadPositionFrame {
  readonly type: 'read_position';
  readonly ref?: Ref;
  readonly channel: string;
  readonly seq: number;
}
/** A channel's title, topic or archived flag changed: sent to its subscribers. */
export interface ChannelUpdatedFrame {
  readonly type: 'channel_updated';
  readonly channel: string;
  readonly title: string;
  readonly topic: string;
  readonly archived: boolean;
}
/** A request failed (or, without `ref`, the connection did something wrong). */
export interface ErrorFrame {
  readonly type: 'error';
  readonly ref?: Ref;
  readonly code: string;
  readonly message: string;
  readonly channel?: string;
  readonly retry_after_ms?: number;
  /** `banned`, `muted`: when it ends (ms since the epoch; null = until lifted). */
  readonly until?: number | null;
}

/** A moderator banned, unbanned, muted or unmuted a user, or changed slow mode: sent to the channel. */
export interface ModerationFrame {
  readonly type: 'moderation';
  /** Set on the reply to a `moderate` frame. */
  readonly ref?: Ref;
  readonly channel: string;
  readonly action: 'banned' | 'unbanned' | 'muted' | 'unmuted' | 'slow_mode';
  readonly user_id: string | null;
  readonly until: number | null;
  readonly by: string;
  readonly slow_mode_seconds?: number;
}

/** Every frame a server may send. */
export type ServerFrame =
  | WelcomeFrame
  | RefreshedFrame
  | TokenExpiringFrame
  | PongFrame
  | AckFrame
  | MessageFrame
  | SubscribedFrame
  | UnsubscribedFrame
  | HistoryPageFrame
  | PresenceEventFrame
  | PresenceListFrame
  | TypingEventFrame
  | ChannelFrame
  | MemberFrame
  | MessageEditedFrame
  | MessageDeletedFrame
  | ReactionFrame
  | ReadPositionFrame
  | ChannelUpdatedFrame
  | ModerationFrame
  | ErrorFrame;
