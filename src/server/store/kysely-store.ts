// The SQL `Store` itself: its options, its lifecycle (migrate, ping, close) and the wiring of its
// aggregates, `KyselyUsers`, `KyselyChannels`, `KyselyAppends`, `KyselyMessages` and
// `KyselyReads`, which share one `KyselyRunner`.
import { type Kysely, sql } from 'kysely';
import { ParleyError } from '../../protocol/error-catalogue.js';
import type { ChannelKind, Message, Role } from '../../protocol/frames.js';
import type { AppendCommitter } from './append-committer.js';
import type { NewAttachment, StoredAttachment } from './attachment-rows.js';
import { classifyDatabaseError } from './classify-database-error.js';
import { KyselyAdmin } from './kysely-admin.js';
import { KyselyAppends } from './kysely-appends.js';
import { KyselyAttachments } from './kysely-attachments.js';
import { KyselyChannels } from './kysely-channels.js';
import { KyselyMessages } from './kysely-messages.js';
import { KyselyModeration } from './kysely-moderation.js';
import { KyselyOnline } from './kysely-online.js';
import { KyselyOutbox, type WebhookRoutingRef } from './kysely-outbox.js';
import { KyselyPush } from './kysely-push.js';
import { KyselyReads } from './kysely-reads.js';
import { KyselyRetention } from './kysely-retention.js';
import { KyselyRunner } from './kysely-runner.js';
import { KyselyUsers } from './kysely-users.js';
import { runMigrations } from './migrations.js';
import type { PushStore } from './push-store.js';
import type { ChannelRetention, ErasureMode, UserReaction } from './retention-store.js';
import type {
  AdminChannel,
  AdminUser,
  AppendResult,
  ChannelPatch,
  MessageVersion,
  NewMessage,
  NewWebhook,
  SearchQuery,
  Store,
  StoredAccount,
  StoredChannel,
  StoredMember,
  StoredUser,
  UnreadCount,
  UserStatus,
  WebhookDelivery,
  WebhookOutcome,
  WebhookRouting,
  WebhookState,
} from './store.js';
import type { StoreDialect } from './store-dialect.js';
import type { StoreTables } from './store-tables.js';
import { unavailable } from './to-store-error.js';

export type { AppendCommitter } from './append-committer.js';
export type {
  AccountsTable,
  ChannelsTable,
  MembersTable,
  MessagesTable,
  MessageVersionsTable,
  ReactionsTable,
  ReadPositionsTable,
  RefreshTokensTable,
  StoreTables,
  UsersTable,
} from './store-tables.js';

/** Options of a `KyselyStore`. */
export interface KyselyStoreOptions {
  /** The database; the store owns it and destroys it on `close()`. */
  readonly db: Kysely<StoreTables>;
  readonly dialect: StoreDialect;
  /** Most appends committed in one transaction. Default 500. */
  readonly maxBatch?: number;
  /** How long a batch of appends waits for more under load (`GroupCommitOptions.delayMs`). Default 0. */
  readonly commitDelayMs?: number;
  /**
   * How many times a batch runs before giving up when it loses a race to another process
   * (a unique clash on a client id stored meanwhile, a deadlock). Default 5.
   */
  readonly maxAppendAttempts?: number;
  /** Called after each committed batch of appends with its size and duration (metrics). */
  readonly onBatch?: (size: number, ms: number) => void;
  /**
   * Called after each committed batch of SQLite's user and membership upserts (`upsertUser`,
   * `setMember`, which commit together when they arrive in the same tick) with its size.
   */
  readonly onWriteBatch?: (size: number, ms: number) => void;
  /**
   * Commits append batches instead of `db` (SQLite files: `SqliteAppender`, a worker thread
   * with its own connection). The store closes it after the last batch.
   */
  readonly appender?: AppendCommitter;
  /**
   * Where every other write runs, transactions included (SQLite files: the append worker's
   * connection, through `SqliteWriteDialect`, so that no commit's fsync blocks the event
   * loop); default `db`. Reads stay on `db`. Writes take turns with the append batches.
   */
  readonly writeDb?: Kysely<StoreTables>;
}

/** The default of `KyselyStoreOptions.maxAppendAttempts`. */
export const DEFAULT_MAX_APPEND_ATTEMPTS = 5;

/**
 * The SQL `Store`: one implementation for SQLite, MySQL/MariaDB and PostgreSQL, through Kysely.
 *
 * Appends go through a `GroupCommit` queue: each batch is one transaction that, per channel in
 * id order (so two processes lock channels in the same order and cannot deadlock), looks up
 * client ids already stored, bumps `channels.last_seq` by the number of new messages and takes
 * the seqs below it, then stores all new messages with one multi-row INSERT. The `last_seq`
 * update holds the channel row's lock until commit (on SQLite, `BEGIN IMMEDIATE` holds the
 * database's), which is what keeps seqs gap-free and in commit order across processes. A
 * unique clash at insert means another process stored one of the client ids after the lookup:
 * the batch is rolled back and runs again, and the lookup then finds it.
 *
 * With an `appender` (a SQLite file), batches commit on the appender's connection instead, and
 * this store's own writes take turns with them (see `KyselyRunner.exclusive`); reads never wait for them.
 */
export class KyselyStore implements Store {
  /** The SQL dialect of the database. */
  readonly dialect: StoreDialect;
  readonly #run: KyselyRunner;
  readonly #users: KyselyUsers;
  readonly #channels: KyselyChannels;
  readonly #appends: KyselyAppends;
  readonly #messages: KyselyMessages;
  readonly #reads: KyselyReads;
  readonly #outbox: KyselyOutbox;
  readonly #online: KyselyOnline;
  readonly #retention: KyselyRetention;
  readonly #admin: KyselyAdmin;
  readonly #attachments: KyselyAttachments;
  readonly #webhooks: WebhookRoutingRef = { routing: undefined };
  /** Bans, mutes, slow mode, word filters and reports. */
  readonly moderation: KyselyModeration;
  readonly push: PushStore;

  constructor(options: KyselyStoreOptions) {
    this.dialect = options.dialect;
    this.#run = new KyselyRunner(options);
    this.#users = new KyselyUsers(this.#run);
    this.#channels = new KyselyChannels(this.#run, this.#webhooks);
    this.#appends = new KyselyAppends(this.#run, {
      webhooks: this.#webhooks,
      maxAttempts: options.maxAppendAttempts ?? DEFAULT_MAX_APPEND_ATTEMPTS,
      ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
      ...(options.commitDelayMs === undefined ? {} : { delayMs: options.commitDelayMs }),
      ...(options.onBatch === undefined ? {} : { onBatch: options.onBatch }),
    });
    this.#messages = new KyselyMessages(this.#run);
    this.#reads = new KyselyReads(this.#run);
    this.#outbox = new KyselyOutbox(this.#run);
    this.#online = new KyselyOnline(this.#run, this.#webhooks);
    this.moderation = new KyselyModeration(this.#run, this.#webhooks);
    this.#retention = new KyselyRetention(this.#run, this.#webhooks);
    this.#admin = new KyselyAdmin(this.#run);
    this.#attachments = new KyselyAttachments(this.#run);
    this.push = new KyselyPush(this.#run);
  }

  async migrate(): Promise<void> {
    this.#run.assertOpen();
    try {
      await this.#run.exclusive(() => runMigrations(this.#run.db, this.dialect));
    } catch (error) {
      if (classifyDatabaseError(error) === 'unavailable') throw unavailable('migrating the schema', error);
      const reason = error instanceof Error ? error.message : String(error);
      throw new ParleyError('internal', `database migration failed: ${reason}`, { cause: error });
    }
  }

  // ─── users and accounts ───────────────────────────────────────────────────────────────────

  upsertUser(user: { readonly id: string; readonly username: string }): Promise<StoredUser> {
    return this.#users.upsertUser(user);
  }

  getUser(id: string): Promise<StoredUser | undefined> {
    return this.#users.getUser(id);
  }
  findUsers(prefix: string, limit: number): Promise<readonly StoredUser[]> {
    return this.#users.findUsers(prefix, limit);
  }

  getUserStatus(id: string): Promise<UserStatus | undefined> {
    return this.#users.getUserStatus(id);
  }

  setUserStatus(id: string, patch: Partial<UserStatus>): Promise<UserStatus> {
    return this.#users.setUserStatus(id, patch);
  }

  createAccount(account: StoredAccount & { readonly username: string }): Promise<StoredUser> {
    return this.#users.createAccount(account);
  }

  getAccount(login: string): Promise<StoredAccount | undefined> {
    return this.#users.getAccount(login);
  }

  saveRefreshToken(token: {
    readonly id: string;
    readonly userId: string;
    readonly expiresAt: number;
  }): Promise<void> {
    return this.#users.saveRefreshToken(token);
  }

  takeRefreshToken(id: string, now: number): Promise<string | undefined> {
    return this.#users.takeRefreshToken(id, now);
  }

  deleteRefreshTokens(userId: string): Promise<void> {
    return this.#users.deleteRefreshTokens(userId);
  }

  // ─── channels and members ─────────────────────────────────────────────────────────────────

  createChannel(channel: {
    readonly id: string;
    readonly kind: ChannelKind;
    readonly title: string;
    readonly owner: string | null;
    readonly topic?: string;
  }): Promise<StoredChannel> {
    return this.#channels.createChannel(channel);
  }

  getChannel(id: string): Promise<StoredChannel | undefined> {
    return this.#channels.getChannel(id);
  }

  listChannelsFor(userId: string): Promise<readonly (StoredChannel & { readonly role: Role | null })[]> {
    return this.#channels.listChannelsFor(userId);
  }

  updateChannel(id: string, patch: ChannelPatch): Promise<StoredChannel> {
    return this.#channels.updateChannel(id, patch);
  }

  getRole(channelId: string, userId: string): Promise<Role | undefined> {
    return this.#channels.getRole(channelId, userId);
  }

  setMember(channelId: string, userId: string, role: Role): Promise<void> {
    return this.#channels.setMember(channelId, userId, role);
  }

  removeMember(channelId: string, userId: string): Promise<boolean> {
    return this.#channels.removeMember(channelId, userId);
  }

  listMembers(channelId: string): Promise<readonly StoredMember[]> {
    return this.#channels.listMembers(channelId);
  }

  // ─── messages ─────────────────────────────────────────────────────────────────────────────

  append(message: NewMessage): Promise<AppendResult> {
    return this.#appends.append(message);
  }

  latest(channelId: string, limit: number): Promise<readonly Message[]> {
    return this.#messages.latest(channelId, limit);
  }

  before(channelId: string, before: number, limit: number): Promise<readonly Message[]> {
    return this.#messages.before(channelId, before, limit);
  }

  after(channelId: string, after: number, limit: number): Promise<readonly Message[]> {
    return this.#messages.after(channelId, after, limit);
  }

  getMessage(channelId: string, id: string): Promise<Message | undefined> {
    return this.#messages.getMessage(channelId, id);
  }

  editMessage(channelId: string, id: string, text: string): Promise<Message> {
    return this.#messages.editMessage(channelId, id, text);
  }

  deleteMessage(channelId: string, id: string): Promise<Message> {
    return this.#messages.deleteMessage(channelId, id);
  }

  messageVersions(channelId: string, messageId: string): Promise<readonly MessageVersion[]> {
    return this.#messages.messageVersions(channelId, messageId);
  }

  toggleReaction(
    channelId: string,
    messageId: string,
    userId: string,
    emoji: string,
  ): Promise<{ readonly added: boolean; readonly message: Message }> {
    return this.#messages.toggleReaction(channelId, messageId, userId, emoji);
  }

  thread(channelId: string, rootId: string, after: number, limit: number): Promise<readonly Message[]> {
    return this.#messages.thread(channelId, rootId, after, limit);
  }

  search(query: SearchQuery): Promise<readonly Message[]> {
    return this.#messages.search(query);
  }

  // ─── read positions ───────────────────────────────────────────────────────────────────────

  setReadPosition(channelId: string, userId: string, seq: number): Promise<number> {
    return this.#reads.setReadPosition(channelId, userId, seq);
  }

  readPositions(userId: string): Promise<ReadonlyMap<string, number>> {
    return this.#reads.readPositions(userId);
  }

  unreadCounts(
    userId: string,
    mention: string,
    channels: readonly { readonly channelId: string; readonly after: number }[],
    cap: number,
  ): Promise<ReadonlyMap<string, UnreadCount>> {
    return this.#reads.unreadCounts(userId, mention, channels, cap);
  }

  // ─── the webhook outbox ──────────────────────────────────────────────────────────────────

  routeWebhooks(routing: WebhookRouting | undefined): void {
    this.#webhooks.routing = routing === undefined || routing.urls.length === 0 ? undefined : routing;
  }

  enqueueWebhooks(deliveries: readonly NewWebhook[]): Promise<void> {
    return this.#outbox.enqueueWebhooks(deliveries);
  }

  claimWebhooks(claim: {
    readonly owner: string;
    readonly limit: number;
    readonly leaseMs: number;
    readonly now: number;
  }): Promise<readonly WebhookDelivery[]> {
    return this.#outbox.claimWebhooks(claim);
  }

  settleWebhook(id: string, owner: string, outcome: WebhookOutcome): Promise<boolean> {
    return this.#outbox.settleWebhook(id, owner, outcome);
  }

  listWebhooks(query: {
    readonly state: WebhookState;
    readonly limit: number;
    readonly after?: string;
  }): Promise<readonly WebhookDelivery[]> {
    return this.#outbox.listWebhooks(query);
  }

  replayWebhooks(ids: readonly string[] | undefined, now: number, expiresAt: number): Promise<number> {
    return this.#outbox.replayWebhooks(ids, now, expiresAt);
  }

  countWebhooks(): Promise<{ readonly pending: number; readonly dead: number }> {
    return this.#outbox.countWebhooks();
  }

  // ─── who is online across the cluster ───────────────────────────────────────────────────

  markOnline(
    node: string,
    user: { readonly id: string; readonly username: string },
    now: number,
  ): Promise<boolean> {
    return this.#online.markOnline(node, user, now);
  }

  markOffline(node: string, userId: string, now: number): Promise<boolean> {
    return this.#online.markOffline(node, userId, now);
  }

  nodeSeen(node: string, at: number): Promise<boolean> {
    return this.#online.nodeSeen(node, at);
  }

  sweepNodes(before: number, now: number): Promise<number> {
    return this.#online.sweepNodes(before, now);
  }

  // ─── retention, export and erasure (issue 17) ───────────────────────────────────────────

  retentionChannels(after: string | undefined, limit: number): Promise<readonly ChannelRetention[]> {
    return this.#retention.retentionChannels(after, limit);
  }

  pruneChannel(channelId: string, olderThan: number, limit: number): Promise<number> {
    return this.#retention.pruneChannel(channelId, olderThan, limit);
  }

  takeLease(name: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    return this.#retention.takeLease(name, owner, now, leaseMs);
  }

  releaseLease(name: string, owner: string): Promise<void> {
    return this.#retention.releaseLease(name, owner);
  }

  userMessages(userId: string, after: string | undefined, limit: number): Promise<readonly Message[]> {
    return this.#retention.userMessages(userId, after, limit);
  }

  userReactions(
    userId: string,
    after: { readonly messageId: string; readonly emoji: string } | undefined,
    limit: number,
  ): Promise<readonly UserReaction[]> {
    return this.#retention.userReactions(userId, after, limit);
  }

  eraseUserContent(
    userId: string,
    mode: ErasureMode,
    limit: number,
  ): Promise<{ readonly changed: number; readonly channels: readonly string[] }> {
    return this.#retention.eraseUserContent(userId, mode, limit);
  }

  eraseUser(userId: string, now: number, data: Readonly<Record<string, unknown>>): Promise<boolean> {
    return this.#retention.eraseUser(userId, now, data);
  }

  // ─── server admins (#17) ──────────────────────────────────────────────────────────────────

  isUserAdmin(id: string): Promise<boolean> {
    return this.#admin.isUserAdmin(id);
  }

  setUserAdmin(id: string, admin: boolean): Promise<void> {
    return this.#admin.setUserAdmin(id, admin);
  }

  searchUsers(query: string, limit: number): Promise<readonly AdminUser[]> {
    return this.#admin.searchUsers(query, limit);
  }

  searchChannels(query: string, limit: number): Promise<readonly AdminChannel[]> {
    return this.#admin.searchChannels(query, limit);
  }

  // ─── attachments ─────────────────────────────────────────────────────────────────────────

  createAttachment(attachment: NewAttachment): Promise<void> {
    return this.#attachments.createAttachment(attachment);
  }

  getAttachments(ids: readonly string[]): Promise<readonly StoredAttachment[]> {
    return this.#attachments.getAttachments(ids);
  }

  uploadsSince(userId: string, since: number): Promise<{ readonly count: number; readonly bytes: number }> {
    return this.#attachments.uploadsSince(userId, since);
  }

  staleAttachments(query: {
    readonly unattachedBefore: number;
    readonly limit: number;
  }): Promise<readonly StoredAttachment[]> {
    return this.#attachments.staleAttachments(query);
  }

  userAttachments(
    userId: string,
    after: string | undefined,
    limit: number,
  ): Promise<readonly StoredAttachment[]> {
    return this.#attachments.userAttachments(userId, after, limit);
  }

  deleteAttachments(ids: readonly string[]): Promise<void> {
    return this.#attachments.deleteAttachments(ids);
  }

  // ─── lifecycle ────────────────────────────────────────────────────────────────────────────

  async ping(): Promise<boolean> {
    if (this.#run.closing) return false;
    try {
      await sql`select 1`.execute(this.#run.db);
    } catch {
      return false;
    }
    return this.#run.appender === undefined || this.#run.appender.ping();
  }

  close(): Promise<void> {
    return this.#run.close(() => this.#appends.close());
  }
}
