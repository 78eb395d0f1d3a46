// The tables `migrations.ts` creates, as Kysely sees them: shared by `KyselyStore` and each of
// its aggregates.
import type { ColumnType } from 'kysely';

/** A BIGINT column: pg returns it as a string, mysql2 as a string when it exceeds 2^53. */
type Int64 = ColumnType<number | string, number, number>;

/** The `users` table, as Kysely sees it. */
export interface UsersTable {
  id: string;
  username: string;
  password_hash: string | null;
  created_at: Int64;
  tokens_valid_after: ColumnType<number | string, number | undefined, number>;
  banned: ColumnType<number, number | undefined, number>;
  /** A server admin (migration 0011): may use the admin console and the server API. */
  admin: ColumnType<number, number | undefined, number>;
}

/** The `channels` table, as Kysely sees it. */
export interface ChannelsTable {
  id: string;
  kind: string;
  title: string;
  epoch: string;
  last_seq: ColumnType<number | string, number | undefined, number>;
  created_by: string | null;
  created_at: Int64;
  topic: ColumnType<string, string | undefined, string>;
  archived: ColumnType<number, number | undefined, number>;
  /** Migration 0010: the channel's own retention in days (NULL = the server's). */
  retention_days: ColumnType<number | null, number | null | undefined, number | null>;
  /** Migration 0010: every seq up to this one was pruned. */
  pruned_seq: ColumnType<number | string, number | undefined, number>;
}

/** The `members` table, as Kysely sees it. */
export interface MembersTable {
  channel_id: string;
  user_id: string;
  role: string;
  joined_at: Int64;
}

/** The `messages` table, as Kysely sees it. */
export interface MessagesTable {
  id: string;
  channel_id: string;
  seq: Int64;
  user_id: string;
  username: string;
  text: string;
  timestamp: Int64;
  client_msg_id: string | null;
  reply_to: ColumnType<string | null, string | null | undefined, string | null>;
  event: ColumnType<string | null, string | null | undefined, string | null>;
  attachments: ColumnType<string | null, string | null | undefined, string | null>;
  edited_at: ColumnType<number | string | null, number | null | undefined, number | null>;
  deleted_at: ColumnType<number | string | null, number | null | undefined, number | null>;
}

/** The `accounts` table (local logins). */
export interface AccountsTable {
  login: string;
  user_id: string;
  password_hash: string;
  created_at: Int64;
}

/** The `refresh_tokens` table. */
export interface RefreshTokensTable {
  id: string;
  user_id: string;
  expires_at: Int64;
  created_at: Int64;
}

/** The `reactions` table. */
export interface ReactionsTable {
  message_id: string;
  user_id: string;
  emoji: string;
  created_at: Int64;
}

/** The `message_versions` table: the texts edits replaced. */
export interface MessageVersionsTable {
  message_id: string;
  version: number;
  text: string;
  edited_at: Int64;
}

/** The `read_positions` table. */
export interface ReadPositionsTable {
  channel_id: string;
  user_id: string;
  last_read_seq: Int64;
  updated_at: Int64;
}

/** The `webhook_outbox` table: deliveries waiting or dead. */
export interface WebhookOutboxTable {
  id: string;
  event_id: string;
  type: string;
  url: string;
  body: string;
  headers: string | null;
  created_at: Int64;
  expires_at: Int64;
  attempts: number;
  next_attempt_at: Int64;
  state: string;
  claimed_by: string | null;
  last_error: string | null;
}

/** The `online_users` table: users with a connection on some node, and how many nodes. */
export interface OnlineUsersTable {
  user_id: string;
  username: string;
  nodes: number;
  since: Int64;
}

/** The `online_nodes` table: which nodes hold a user's connections. */
export interface OnlineNodesTable {
  user_id: string;
  node_id: string;
}

/** The `nodes` table: each node's last heartbeat. */
export interface NodesTable {
  id: string;
  seen_at: Int64;
}

/** The `push_subscriptions` table: a browser's Web Push subscription, per user. */
export interface PushSubscriptionsTable {
  id: string;
  user_id: string;
  endpoint_hash: string;
  endpoint: string;
  p256dh: string;
  auth: string;
  created_at: Int64;
}

/** The `push_settings` table: a user's notification level in a channel. */
export interface PushSettingsTable {
  user_id: string;
  channel_id: string;
  level: string;
}

/** The `push_pending` table: a user's pushes of one channel waiting to be sent, collapsed. */
export interface PushPendingTable {
  user_id: string;
  channel_id: string;
  last_seq: Int64;
  last_message_id: string;
  messages: number;
  urgent: number;
  created_at: Int64;
  due_at: Int64;
  attempts: ColumnType<number, number | undefined, number>;
  claimed_by: string | null;
}

/** The `push_rate` table: pushes sent to a user in their current rate window. */
export interface PushRateTable {
  user_id: string;
  window_start: Int64;
  sent: number;
}

/** The `push_keys` table: the cluster's VAPID key pair. */
export interface PushKeysTable {
  id: string;
  public_key: string;
  private_key: string;
  created_at: Int64;
}

/** The `attachments` table: uploaded files and the message each is attached to (issue 16). */
export interface AttachmentsTable {
  id: string;
  channel_id: string;
  uploader_id: string;
  name: string;
  type: string;
  size: Int64;
  width: number | null;
  height: number | null;
  file_key: string;
  thumbnail_key: string | null;
  created_at: Int64;
  message_id: ColumnType<string | null, string | null | undefined, string | null>;
}

// ─── moderation (migration 0009) ─────────────────────────────────────────────────────────

/** The `channel_sanctions` table: bans and mutes. */
export interface ChannelSanctionsTable {
  channel_id: string;
  user_id: string;
  kind: string;
  until: ColumnType<number | string | null, number | null, number | null>;
  reason: string | null;
  created_by: string;
  created_at: Int64;
}

/** The `channel_slow_mode` table: channels with slow mode on. */
export interface ChannelSlowModeTable {
  channel_id: string;
  seconds: number;
}

/** The `channel_post_times` table: each user's last post in a slow-mode channel. */
export interface ChannelPostTimesTable {
  channel_id: string;
  user_id: string;
  last_post_at: Int64;
  client_msg_id: string | null;
}

/** The `word_filters` table: one list per scope ('' = server-wide). */
export interface WordFiltersTable {
  scope: string;
  /** A JSON array of strings. */
  words: string;
  action: string;
  updated_at: Int64;
}

/** The `message_reports` table. */
export interface MessageReportsTable {
  id: string;
  channel_id: string;
  message_id: string;
  reporter_id: string;
  reason: string;
  state: string;
  created_at: Int64;
  settled_at: ColumnType<number | string | null, number | null, number | null>;
  settled_by: string | null;
}

/** The `leases` table (migration 0010): which owner runs a named job, until when. */
export interface LeasesTable {
  name: string;
  owner: string;
  expires_at: Int64;
}

/** The `erased_users` table (migration 0010): erased user ids and when they were erased. */
export interface ErasedUsersTable {
  user_id: string;
  erased_at: Int64;
}

/** The schema `migrations.ts` creates, for `Kysely<StoreTables>`. */
export interface StoreTables {
  users: UsersTable;
  channels: ChannelsTable;
  members: MembersTable;
  messages: MessagesTable;
  accounts: AccountsTable;
  refresh_tokens: RefreshTokensTable;
  reactions: ReactionsTable;
  read_positions: ReadPositionsTable;
  message_versions: MessageVersionsTable;
  webhook_outbox: WebhookOutboxTable;
  online_users: OnlineUsersTable;
  online_nodes: OnlineNodesTable;
  nodes: NodesTable;
  push_subscriptions: PushSubscriptionsTable;
  push_settings: PushSettingsTable;
  push_pending: PushPendingTable;
  push_rate: PushRateTable;
  push_keys: PushKeysTable;
  attachments: AttachmentsTable;
  channel_sanctions: ChannelSanctionsTable;
  channel_slow_mode: ChannelSlowModeTable;
  channel_post_times: ChannelPostTimesTable;
  word_filters: WordFiltersTable;
  message_reports: MessageReportsTable;
  leases: LeasesTable;
  erased_users: ErasedUsersTable;
}
