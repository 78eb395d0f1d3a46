import { randomBytes } from 'node:crypto';
import { type ColumnType, CompiledQuery, type Kysely, type Selectable, sql } from 'kysely';
import { ParleyError } from '../../protocol/error-catalogue.js';
import { type ChannelKind, type Message, ROLES, type Role } from '../../protocol/frames.js';
import { AppendBatch, type ClientId, exactClientKey } from './append-batch.js';
import { classifyDatabaseError } from './classify-database-error.js';
import { GroupCommit } from './group-commit.js';
import {
  MESSAGE_COLUMNS,
  MESSAGE_SELECT,
  type MessageRow,
  type NewMessageRow,
  toInt,
  toMessage,
} from './message-row.js';
import { runMigrations } from './migrations.js';
import { searchTerms } from './search-terms.js';
import type {
  AppendResult,
  ChannelPatch,
  MessageVersion,
  NewMessage,
  SearchQuery,
  Store,
  StoredAccount,
  StoredChannel,
  StoredMember,
  StoredUser,
  UnreadCount,
  UserStatus,
} from './store.js';
import { DIALECT_CAPABILITIES, type DialectCapabilities, type StoreDialect } from './store-dialect.js';

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
}

/** Options of a `KyselyStore`. */
export interface KyselyStoreOptions {
  /** The database; the store owns it and destroys it on `close()`. */
  readonly db: Kysely<StoreTables>;
  readonly dialect: StoreDialect;
  /** Most appends committed in one transaction. Default 500. */
  readonly maxBatch?: number;
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

/**
 * Runs group-commit batches of appends on a connection of its own, off the store's thread. Its
 * transaction must make the same decisions as the store's own (`AppendBatch`) and hold the
 * database's write lock (SQLite's `BEGIN IMMEDIATE`) from before its lookups to its commit.
 */
export interface AppendCommitter {
  /**
   * Commits `items` in one transaction and resolves after COMMIT (durable), with one result per
   * item as `GroupCommitOptions.commit` does. Rejects with the driver's error, its `code`
   * kept, when the transaction failed and was rolled back, or with `ParleyError('unavailable')`
   * when the outcome is unknown (the committer died).
   */
  commit(items: readonly NewMessage[]): Promise<(AppendResult | Error)[]>;
  /** Whether commits can run (a stopped committer is restarted). */
  ping(): Promise<boolean>;
  /** Stops; called once no commit is in flight. */
  close(): Promise<void>;
}

/** The default of `KyselyStoreOptions.maxAppendAttempts`. */
export const DEFAULT_MAX_APPEND_ATTEMPTS = 5;

// Column limits of the schema, checked before a value reaches SQL: SQLite does not enforce
// varchar lengths and PostgreSQL/MySQL would fail the whole append batch for one long value.
const MAX_CHANNEL_ID = 100;
const MAX_USER_ID = 128;
const MAX_USERNAME = 200;
const MAX_TITLE = 200;
const MAX_CLIENT_MSG_ID = 64;
/** MySQL's TEXT holds 65,535 bytes; the same cap applies everywhere so dialects agree. */
const MAX_TEXT_BYTES = 65_535;

// Rows per INSERT and client ids per duplicate lookup: far below every dialect's
// bound-parameter limit (SQLite 32,766; MySQL and PostgreSQL 65,535).
const INSERT_CHUNK = 1000;
const LOOKUP_CHUNK = 1000;

const KINDS: readonly ChannelKind[] = ['public', 'private', 'dm'];

const MAX_TOPIC = 500;
const MAX_LOGIN = 64;

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
 * this store's own writes take turns with them (see `#exclusive`); reads never wait for them.
 */
export class KyselyStore implements Store {
  /** The SQL dialect of the database. */
  readonly dialect: StoreDialect;
  readonly #db: Kysely<StoreTables>;
  readonly #caps: DialectCapabilities;
  readonly #queue: GroupCommit<NewMessage, AppendResult>;
  readonly #maxAttempts: number;
  readonly #appender: AppendCommitter | undefined;
  /** Where writes run: `db`, or for a SQLite file the append worker's connection. */
  readonly #writer: Kysely<StoreTables>;
  /** SQLite: upserts of one tick, committed in one transaction (one fsync, not one each). */
  readonly #upserts: GroupCommit<Upsert, unknown> | undefined;
  /** Settles when the last write queued by `#exclusive` has. */
  #writes: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;

  constructor(options: KyselyStoreOptions) {
    this.dialect = options.dialect;
    this.#db = options.db;
    this.#writer = options.writeDb ?? options.db;
    this.#caps = DIALECT_CAPABILITIES[options.dialect];
    this.#maxAttempts = options.maxAppendAttempts ?? DEFAULT_MAX_APPEND_ATTEMPTS;
    this.#appender = options.appender;
    this.#queue = new GroupCommit({
      commit: (items) => this.#commitBatch(items),
      ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
      ...(options.onBatch === undefined ? {} : { onBatch: options.onBatch }),
      closedError: () => new ParleyError('unavailable', 'the store is closed'),
    });
    // Every connection of a new user, and its first subscribe to a public channel, upserts a
    // row: alone, each would be a commit and an fsync (SQLite has one writer; a file's commit
    // runs on the append worker, `sqlite::memory:`'s on the event loop). Other databases commit
    // concurrent transactions in parallel and group their fsyncs themselves.
    this.#upserts = this.#caps.databaseWriteLock
      ? new GroupCommit({
          commit: (upserts) => this.#transaction((trx) => runUpserts(trx, upserts)),
          ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
          ...(options.onWriteBatch === undefined ? {} : { onBatch: options.onWriteBatch }),
          closedError: () => new ParleyError('unavailable', 'the store is closed'),
        })
      : undefined;
  }

  async migrate(): Promise<void> {
    this.#assertOpen();
    try {
      await this.#exclusive(() => runMigrations(this.#db, this.dialect));
    } catch (error) {
      if (classifyDatabaseError(error) === 'unavailable') throw unavailable('migrating the schema', error);
      const reason = error instanceof Error ? error.message : String(error);
      throw new ParleyError('internal', `database migration failed: ${reason}`, { cause: error });
    }
  }

  async upsertUser(user: { readonly id: string; readonly username: string }): Promise<StoredUser> {
    checkLength('user id', user.id, MAX_USER_ID);
    checkLength('username', user.username, MAX_USERNAME);
    return this.#upsert('saving a user', async (db) => {
      const insert = db
        .insertInto('users')
        .values({ id: user.id, username: user.username, password_hash: null, created_at: Date.now() });
      const upsert =
        this.#caps.upsert === 'on-conflict'
          ? insert.onConflict((oc) => oc.column('id').doUpdateSet({ username: user.username }))
          : insert.onDuplicateKeyUpdate({ username: user.username });
      const row = this.#caps.returning
        ? await upsert.returning(['id', 'username', 'created_at']).executeTakeFirst()
        : await upsert.execute().then(() => this.#selectUser(user.id));
      if (row === undefined) throw new Error(`user ${user.id} vanished right after its upsert`);
      return toUser(row);
    });
  }

  getUser(id: string): Promise<StoredUser | undefined> {
    return this.#guard('reading a user', async () => {
      const row = await this.#selectUser(id);
      return row === undefined ? undefined : toUser(row);
    });
  }

  async createChannel(channel: {
    readonly id: string;
    readonly kind: ChannelKind;
    readonly title: string;
    readonly owner: string | null;
    readonly topic?: string;
  }): Promise<StoredChannel> {
    checkLength('channel id', channel.id, MAX_CHANNEL_ID);
    checkLength('channel title', channel.title, MAX_TITLE);
    checkLength('channel topic', channel.topic ?? '', MAX_TOPIC);
    if (channel.owner !== null) checkLength('user id', channel.owner, MAX_USER_ID);
    return this.#guard('creating a channel', async () => {
      const stored: StoredChannel = {
        id: channel.id,
        kind: channel.kind,
        title: channel.title,
        epoch: randomBytes(8).toString('hex'),
        lastSeq: 0,
        createdBy: channel.owner,
        createdAt: Date.now(),
        topic: channel.topic ?? '',
        archived: false,
      };
      try {
        await this.#transaction(async (trx) => {
          await trx
            .insertInto('channels')
            .values({
              id: stored.id,
              kind: stored.kind,
              title: stored.title,
              epoch: stored.epoch,
              last_seq: 0,
              created_by: stored.createdBy,
              created_at: stored.createdAt,
              topic: stored.topic,
            })
            .execute();
          if (channel.owner !== null) {
            await trx
              .insertInto('members')
              .values({
                channel_id: stored.id,
                user_id: channel.owner,
                role: 'owner',
                joined_at: stored.createdAt,
              })
              .execute();
          }
        });
      } catch (error) {
        const kind = classifyDatabaseError(error);
        if (kind === 'unique_violation') {
          throw new ParleyError('conflict', `channel ${channel.id} already exists`, { cause: error });
        }
        if (kind === 'foreign_key_violation') {
          throw new ParleyError('not_found', `user ${channel.owner} does not exist`, { cause: error });
        }
        throw error;
      }
      return stored;
    });
  }

  getChannel(id: string): Promise<StoredChannel | undefined> {
    return this.#guard('reading a channel', async () => {
      const row = await this.#db.selectFrom('channels').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toChannel(row);
    });
  }

  listChannelsFor(userId: string): Promise<readonly (StoredChannel & { readonly role: Role | null })[]> {
    return this.#guard('listing channels', async () => {
      const rows = await this.#db
        .selectFrom('channels as c')
        .leftJoin('members as m', (join) =>
          join.onRef('m.channel_id', '=', 'c.id').on('m.user_id', '=', userId),
        )
        .selectAll('c')
        .select('m.role')
        .where((eb) => eb.or([eb('c.kind', '=', 'public'), eb('m.user_id', 'is not', null)]))
        .orderBy('c.id')
        .execute();
      return rows.map((row) => ({ ...toChannel(row), role: row.role === null ? null : toRole(row.role) }));
    });
  }

  getRole(channelId: string, userId: string): Promise<Role | undefined> {
    return this.#guard('reading a role', async () => {
      const row = await this.#db
        .selectFrom('members')
        .select('role')
        .where('channel_id', '=', channelId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return row === undefined ? undefined : toRole(row.role);
    });
  }

  setMember(channelId: string, userId: string, role: Role): Promise<void> {
    return this.#upsert('saving a member', async (db) => {
      const insert = db
        .insertInto('members')
        .values({ channel_id: channelId, user_id: userId, role, joined_at: Date.now() });
      const upsert =
        this.#caps.upsert === 'on-conflict'
          ? insert.onConflict((oc) => oc.columns(['channel_id', 'user_id']).doUpdateSet({ role }))
          : insert.onDuplicateKeyUpdate({ role });
      try {
        await upsert.execute();
      } catch (error) {
        if (classifyDatabaseError(error) === 'foreign_key_violation') {
          throw new ParleyError('not_found', `channel ${channelId} or user ${userId} does not exist`, {
            cause: error,
          });
        }
        throw error;
      }
    });
  }

  removeMember(channelId: string, userId: string): Promise<boolean> {
    return this.#writeGuard('removing a member', async () => {
      const result = await this.#writer
        .deleteFrom('members')
        .where('channel_id', '=', channelId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    });
  }

  listMembers(channelId: string): Promise<readonly StoredMember[]> {
    return this.#guard('listing members', async () => {
      const rows = await this.#db
        .selectFrom('members as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select(['m.channel_id', 'm.user_id', 'u.username', 'm.role', 'm.joined_at'])
        .where('m.channel_id', '=', channelId)
        .orderBy('m.user_id')
        .execute();
      return rows.map((row) => ({
        channelId: row.channel_id,
        userId: row.user_id,
        username: row.username,
        role: toRole(row.role),
        joinedAt: toInt(row.joined_at),
      }));
    });
  }

  append(message: NewMessage): Promise<AppendResult> {
    try {
      this.#assertOpen();
      checkLength('channel id', message.channelId, MAX_CHANNEL_ID);
      checkLength('user id', message.userId, MAX_USER_ID);
      checkLength('username', message.username, MAX_USERNAME);
      if (message.clientMsgId !== null) checkLength('client_msg_id', message.clientMsgId, MAX_CLIENT_MSG_ID);
      checkText(message.text);
      if (message.replyTo != null) checkLength('reply_to', message.replyTo, 36);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#queue.push(message);
  }

  latest(channelId: string, limit: number): Promise<readonly Message[]> {
    return this.#page('reading history', limit, async (n) => {
      const rows = await this.#db
        .selectFrom('messages')
        .select(MESSAGE_SELECT)
        .where('channel_id', '=', channelId)
        .orderBy('seq', 'desc')
        .limit(n)
        .execute();
      return rows.reverse();
    });
  }

  before(channelId: string, before: number, limit: number): Promise<readonly Message[]> {
    return this.#page('reading history', limit, async (n) => {
      const rows = await this.#db
        .selectFrom('messages')
        .select(MESSAGE_SELECT)
        .where('channel_id', '=', channelId)
        .where('seq', '<', before)
        .orderBy('seq', 'desc')
        .limit(n)
        .execute();
      return rows.reverse();
    });
  }

  after(channelId: string, after: number, limit: number): Promise<readonly Message[]> {
    return this.#page('reading history', limit, (n) =>
      this.#db
        .selectFrom('messages')
        .select(MESSAGE_SELECT)
        .where('channel_id', '=', channelId)
        .where('seq', '>', after)
        .orderBy('seq', 'asc')
        .limit(n)
        .execute(),
    );
  }

  getMessage(channelId: string, id: string): Promise<Message | undefined> {
    return this.#guard('reading a message', () => this.#selectMessage(this.#db, channelId, id));
  }

  editMessage(channelId: string, id: string, text: string): Promise<Message> {
    checkText(text);
    return this.#write('editing a message', async (trx) => {
      // Locked: a concurrent edit would take the same version number, and a concurrent delete
      // would leave this version behind.
      const found = await this.#selectMessage(trx, channelId, id, { lock: true });
      if (found === undefined) throw new ParleyError('not_found', 'no such message');
      if (found.deleted === true) throw new ParleyError('conflict', 'the message was deleted');
      const editedAt = Date.now();
      const last = await trx
        .selectFrom('message_versions')
        .select((eb) => eb.fn.max('version').as('version'))
        .where('message_id', '=', id)
        .executeTakeFirst();
      await trx
        .insertInto('message_versions')
        .values({
          message_id: id,
          version: toInt(last?.version ?? 0) + 1,
          text: found.text,
          edited_at: editedAt,
        })
        .execute();
      await trx
        .updateTable('messages')
        .set({ text, edited_at: editedAt })
        .where('id', '=', id)
        .where('channel_id', '=', channelId)
        .execute();
      return { ...found, text, edited_at: editedAt };
    });
  }

  deleteMessage(channelId: string, id: string): Promise<Message> {
    return this.#write('deleting a message', async (trx) => {
      const found = await this.#selectMessage(trx, channelId, id, { lock: true });
      if (found === undefined) throw new ParleyError('not_found', 'no such message');
      if (found.deleted === true) return found;
      await trx
        .updateTable('messages')
        .set({ text: '', deleted_at: Date.now() })
        .where('id', '=', id)
        .where('channel_id', '=', channelId)
        .execute();
      await trx.deleteFrom('reactions').where('message_id', '=', id).execute();
      // A deleted text is gone from storage, earlier versions included.
      await trx.deleteFrom('message_versions').where('message_id', '=', id).execute();
      const { reactions: _gone, ...rest } = found;
      return { ...rest, text: '', deleted: true as const };
    });
  }

  messageVersions(channelId: string, messageId: string): Promise<readonly MessageVersion[]> {
    return this.#guard('reading message versions', async () => {
      const found = await this.#db
        .selectFrom('messages')
        .select('deleted_at')
        .where('id', '=', messageId)
        .where('channel_id', '=', channelId)
        .executeTakeFirst();
      if (found === undefined) throw new ParleyError('not_found', 'no such message');
      if (found.deleted_at !== null) return [];
      const rows = await this.#db
        .selectFrom('message_versions')
        .select(['version', 'text', 'edited_at'])
        .where('message_id', '=', messageId)
        .orderBy('version', 'asc')
        .execute();
      return rows.map((row) => ({
        version: toInt(row.version),
        text: row.text,
        editedAt: toInt(row.edited_at),
      }));
    });
  }

  toggleReaction(
    channelId: string,
    messageId: string,
    userId: string,
    emoji: string,
  ): Promise<{ readonly added: boolean; readonly message: Message }> {
    checkLength('user id', userId, MAX_USER_ID);
    checkLength('emoji', emoji, 32);
    return this.#write('reacting to a message', async (trx) => {
      const found = await this.#selectMessage(trx, channelId, messageId);
      if (found === undefined) throw new ParleyError('not_found', 'no such message');
      if (found.deleted === true) throw new ParleyError('conflict', 'the message was deleted');
      const removed = await trx
        .deleteFrom('reactions')
        .where('message_id', '=', messageId)
        .where('user_id', '=', userId)
        .where('emoji', '=', emoji)
        .executeTakeFirst();
      const added = Number(removed.numDeletedRows) === 0;
      if (added) {
        await trx
          .insertInto('reactions')
          .values({ message_id: messageId, user_id: userId, emoji, created_at: Date.now() })
          .execute();
      }
      const message = await this.#selectMessage(trx, channelId, messageId);
      return { added, message: message ?? found };
    });
  }

  thread(channelId: string, rootId: string, after: number, limit: number): Promise<readonly Message[]> {
    return this.#page('reading a thread', limit, (n) =>
      this.#db
        .selectFrom('messages')
        .select(MESSAGE_SELECT)
        .where('channel_id', '=', channelId)
        .where('reply_to', '=', rootId)
        .where('seq', '>', after)
        .orderBy('seq', 'asc')
        .limit(n)
        .execute(),
    );
  }

  search(query: SearchQuery): Promise<readonly Message[]> {
    return this.#page('searching', query.limit, async (n) => {
      let terms = searchTerms(query.text);
      // InnoDB does not index words shorter than innodb_ft_min_token_size (3 by default);
      // required short terms would match nothing.
      if (this.dialect === 'mysql') terms = terms.filter((t) => t.length >= 3);
      if (terms.length === 0 || query.channelIds.length === 0) return [];
      const offset = Math.max(0, Math.floor(query.offset));
      let q = this.#db
        .selectFrom('messages as m')
        .select(MESSAGE_SELECT.map((c) => `m.${c}` as const))
        .where('m.channel_id', 'in', [...query.channelIds])
        .where('m.deleted_at', 'is', null);
      if (this.dialect === 'sqlite') {
        const match = terms.map((t) => `"${t}"*`).join(' ');
        q = q.where(
          sql<boolean>`m.id in (select s.message_id from messages_fts f join message_search s on s.rowid = f.rowid where messages_fts match ${match})`,
        );
      } else if (this.dialect === 'mysql') {
        const match = terms.map((t) => `+${t}*`).join(' ');
        q = q.where(sql<boolean>`match (m.text) against (${match} in boolean mode)`);
      } else {
        const match = terms.map((t) => `'${t}':*`).join(' & ');
        q = q.where(sql<boolean>`m.search @@ to_tsquery('simple', ${match})`);
      }
      return q.orderBy('m.timestamp', 'desc').orderBy('m.id', 'desc').limit(n).offset(offset).execute();
    });
  }

  setReadPosition(channelId: string, userId: string, seq: number): Promise<number> {
    return this.#write('saving a read position', async (trx) => {
      const channel = await trx
        .selectFrom('channels')
        .select('id')
        .where('id', '=', channelId)
        .executeTakeFirst();
      if (channel === undefined) throw new ParleyError('not_found', `channel ${channelId} does not exist`);
      const now = Date.now();
      const insert = trx
        .insertInto('read_positions')
        .values({ channel_id: channelId, user_id: userId, last_read_seq: seq, updated_at: now });
      const forward =
        this.dialect === 'sqlite'
          ? sql<number>`max(last_read_seq, excluded.last_read_seq)`
          : this.dialect === 'postgres'
            ? sql<number>`greatest(read_positions.last_read_seq, excluded.last_read_seq)`
            : sql<number>`greatest(last_read_seq, values(last_read_seq))`;
      await (this.#caps.upsert === 'on-conflict'
        ? insert.onConflict((oc) =>
            oc.columns(['user_id', 'channel_id']).doUpdateSet({ last_read_seq: forward, updated_at: now }),
          )
        : insert.onDuplicateKeyUpdate({ last_read_seq: forward, updated_at: now })
      ).execute();
      const row = await trx
        .selectFrom('read_positions')
        .select('last_read_seq')
        .where('user_id', '=', userId)
        .where('channel_id', '=', channelId)
        .executeTakeFirstOrThrow();
      return toInt(row.last_read_seq);
    });
  }

  readPositions(userId: string): Promise<ReadonlyMap<string, number>> {
    return this.#guard('reading read positions', async () => {
      const rows = await this.#db
        .selectFrom('read_positions')
        .select(['channel_id', 'last_read_seq'])
        .where('user_id', '=', userId)
        .execute();
      return new Map(rows.map((r) => [r.channel_id, toInt(r.last_read_seq)]));
    });
  }

  unreadCounts(
    userId: string,
    mention: string,
    channels: readonly { readonly channelId: string; readonly after: number }[],
    cap: number,
  ): Promise<ReadonlyMap<string, UnreadCount>> {
    return this.#guard('counting unread messages', async () => {
      const escaped = mention.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const mentions = new RegExp(`@${escaped}(?![\\p{L}\\p{N}_])`, 'iu');
      const counts = new Map<string, UnreadCount>();
      // One bounded index range per channel: the cost follows the unread messages, capped.
      await Promise.all(
        channels.map(async ({ channelId, after }) => {
          const rows = await this.#db
            .selectFrom('messages')
            .select(['text'])
            .where('channel_id', '=', channelId)
            .where('seq', '>', after)
            .where('user_id', '<>', userId)
            .where('deleted_at', 'is', null)
            .orderBy('seq', 'asc')
            .limit(Math.max(0, Math.floor(cap)))
            .execute();
          counts.set(channelId, {
            unread: rows.length,
            mentions: rows.filter((r) => mentions.test(r.text)).length,
          });
        }),
      );
      return counts;
    });
  }

  updateChannel(id: string, patch: ChannelPatch): Promise<StoredChannel> {
    if (patch.title !== undefined) checkLength('channel title', patch.title, MAX_TITLE);
    if (patch.topic !== undefined) checkLength('channel topic', patch.topic, MAX_TOPIC);
    return this.#write('updating a channel', async (trx) => {
      const set: { title?: string; topic?: string; archived?: number } = {};
      if (patch.title !== undefined) set.title = patch.title;
      if (patch.topic !== undefined) set.topic = patch.topic;
      if (patch.archived !== undefined) set.archived = patch.archived ? 1 : 0;
      if (Object.keys(set).length > 0)
        await trx.updateTable('channels').set(set).where('id', '=', id).execute();
      const row = await trx.selectFrom('channels').selectAll().where('id', '=', id).executeTakeFirst();
      if (row === undefined) throw new ParleyError('not_found', `channel ${id} does not exist`);
      return toChannel(row);
    });
  }

  getUserStatus(id: string): Promise<UserStatus | undefined> {
    return this.#guard('reading a user', async () => {
      const row = await this.#db
        .selectFrom('users')
        .select(['banned', 'tokens_valid_after'])
        .where('id', '=', id)
        .executeTakeFirst();
      return row === undefined ? undefined : toStatus(row);
    });
  }

  setUserStatus(id: string, patch: Partial<UserStatus>): Promise<UserStatus> {
    return this.#write('updating a user', async (trx) => {
      const set: { banned?: number; tokens_valid_after?: number } = {};
      if (patch.banned !== undefined) set.banned = patch.banned ? 1 : 0;
      if (patch.tokensValidAfter !== undefined) set.tokens_valid_after = patch.tokensValidAfter;
      if (Object.keys(set).length > 0) await trx.updateTable('users').set(set).where('id', '=', id).execute();
      const row = await trx
        .selectFrom('users')
        .select(['banned', 'tokens_valid_after'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (row === undefined) throw new ParleyError('not_found', 'no such user');
      return toStatus(row);
    });
  }

  createAccount(account: StoredAccount & { readonly username: string }): Promise<StoredUser> {
    checkLength('user id', account.userId, MAX_USER_ID);
    checkLength('username', account.username, MAX_USERNAME);
    checkLength('login', account.login, MAX_LOGIN);
    return this.#guard('creating an account', async () => {
      const createdAt = Date.now();
      try {
        await this.#transaction(async (trx) => {
          await trx
            .insertInto('users')
            .values({
              id: account.userId,
              username: account.username,
              password_hash: null,
              created_at: createdAt,
            })
            .execute();
          await trx
            .insertInto('accounts')
            .values({
              login: account.login,
              user_id: account.userId,
              password_hash: account.passwordHash,
              created_at: createdAt,
            })
            .execute();
        });
      } catch (error) {
        if (classifyDatabaseError(error) === 'unique_violation') {
          throw new ParleyError('conflict', 'that username is taken', { cause: error });
        }
        throw error;
      }
      return { id: account.userId, username: account.username, createdAt };
    });
  }

  getAccount(login: string): Promise<StoredAccount | undefined> {
    return this.#guard('reading an account', async () => {
      const row = await this.#db
        .selectFrom('accounts')
        .select(['login', 'user_id', 'password_hash'])
        .where('login', '=', login)
        .executeTakeFirst();
      return row === undefined
        ? undefined
        : { login: row.login, userId: row.user_id, passwordHash: row.password_hash };
    });
  }

  saveRefreshToken(token: {
    readonly id: string;
    readonly userId: string;
    readonly expiresAt: number;
  }): Promise<void> {
    return this.#writeGuard('saving a refresh token', async () => {
      await this.#writer
        .insertInto('refresh_tokens')
        .values({ id: token.id, user_id: token.userId, expires_at: token.expiresAt, created_at: Date.now() })
        .execute();
    });
  }

  takeRefreshToken(id: string, now: number): Promise<string | undefined> {
    return this.#write('using a refresh token', async (trx) => {
      const row = await trx
        .selectFrom('refresh_tokens')
        .select(['user_id', 'expires_at'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (row === undefined) return undefined;
      // Only the call whose DELETE removed the row gets the user.
      const gone = await trx.deleteFrom('refresh_tokens').where('id', '=', id).executeTakeFirst();
      if (Number(gone.numDeletedRows) === 0 || toInt(row.expires_at) <= now) return undefined;
      return row.user_id;
    });
  }

  deleteRefreshTokens(userId: string): Promise<void> {
    return this.#writeGuard('deleting refresh tokens', async () => {
      await this.#writer.deleteFrom('refresh_tokens').where('user_id', '=', userId).execute();
    });
  }

  async ping(): Promise<boolean> {
    if (this.#closing !== undefined) return false;
    try {
      await sql`select 1`.execute(this.#db);
    } catch {
      return false;
    }
    return this.#appender === undefined || this.#appender.ping();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([this.#queue.close(), this.#upserts?.close()]);
      // Writes already running finish (on SQLite, on the worker) before it closes.
      await this.#writes;
      await this.#appender?.close();
      await this.#db.destroy();
    })();
    return this.#closing;
  }

  // ─── appends ──────────────────────────────────────────────────────────────────────────────

  /** Commits one group-commit batch, running it again when it lost a race to another writer. */
  async #commitBatch(items: readonly NewMessage[]): Promise<(AppendResult | Error)[]> {
    const appender = this.#appender;
    const run =
      appender === undefined
        ? () => this.#transaction((trx) => this.#appendBatch(trx, items))
        : () => this.#exclusive(() => appender.commit(items));
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (error) {
        const kind = classifyDatabaseError(error);
        if (kind !== 'unique_violation' && kind !== 'retryable')
          throw toStoreError('appending messages', error);
        if (attempt >= this.#maxAttempts) {
          throw new ParleyError(
            'unavailable',
            `appending messages lost ${attempt} races to concurrent writers in a row`,
            { cause: error },
          );
        }
      }
    }
  }

  /** The body of one append transaction on this store's connection (see `AppendBatch`). */
  async #appendBatch(
    trx: Kysely<StoreTables>,
    items: readonly NewMessage[],
  ): Promise<(AppendResult | Error)[]> {
    const batch = new AppendBatch(items, {
      ts: Date.now(),
      clientKey: (userId, clientMsgId) => this.#clientKey(userId, clientMsgId),
    });
    for (const channel of batch.channels) {
      const count = batch.dedupe(channel, await this.#storedByClientId(trx, channel.id, channel.clientIds));
      if (count > 0) batch.assign(channel, await this.#reserveSeqs(trx, channel.id, count));
    }
    for (let start = 0; start < batch.rows.length; start += INSERT_CHUNK) {
      await trx.executeQuery(this.#insertMessages(batch.rows.slice(start, start + INSERT_CHUNK)));
    }
    return batch.results();
  }

  /**
   * One multi-row INSERT of messages, written by hand: Kysely's builder spends more time
   * compiling a 500-row VALUES list (~4 ms) than SQLite spends storing it, on the event loop.
   */
  #insertMessages(rows: readonly NewMessageRow[]): CompiledQuery {
    const q = this.#caps.quote;
    const parameters: unknown[] = [];
    const mark =
      this.#caps.placeholders === 'numbered'
        ? (value: unknown) => `$${parameters.push(value)}`
        : (value: unknown) => {
            parameters.push(value);
            return '?';
          };
    const tuples = rows.map((row) => `(${MESSAGE_COLUMNS.map((column) => mark(row[column])).join(', ')})`);
    const columns = MESSAGE_COLUMNS.map((c) => `${q}${c}${q}`).join(', ');
    return CompiledQuery.raw(
      `insert into ${q}messages${q} (${columns}) values ${tuples.join(', ')}`,
      parameters,
    );
  }

  /**
   * The messages of `channelId` stored under any of the client ids of `wanted` (possibly also
   * other users' messages with the same client id; `AppendBatch.dedupe` ignores those).
   */
  async #storedByClientId(
    trx: Kysely<StoreTables>,
    channelId: string,
    wanted: readonly ClientId[],
  ): Promise<Message[]> {
    const ids = [...new Set(wanted.map((c) => c.clientMsgId))];
    const stored: Message[] = [];
    for (let start = 0; start < ids.length; start += LOOKUP_CHUNK) {
      // A prefix of the (channel_id, client_msg_id, user_id) unique key: index probes in every
      // dialect.
      const rows = await trx
        .selectFrom('messages')
        .select(MESSAGE_SELECT)
        .where('channel_id', '=', channelId)
        .where('client_msg_id', 'in', ids.slice(start, start + LOOKUP_CHUNK))
        .execute();
      for (const row of rows) stored.push(toMessage(row));
    }
    return stored;
  }

  /**
   * Raises the channel's `last_seq` by `count` and returns the new value (the seqs
   * `value - count + 1 … value` are now this transaction's), or undefined when the channel does
   * not exist. The UPDATE takes the channel row's write lock, held until commit.
   */
  async #reserveSeqs(
    trx: Kysely<StoreTables>,
    channelId: string,
    count: number,
  ): Promise<number | undefined> {
    const bump = trx
      .updateTable('channels')
      .set({ last_seq: sql<number>`last_seq + ${count}` })
      .where('id', '=', channelId);
    if (this.#caps.returning) {
      const row = await bump.returning('last_seq').executeTakeFirst();
      return row === undefined ? undefined : toInt(row.last_seq);
    }
    await bump.execute();
    // Our own uncommitted update is visible to us; the row lock keeps anyone else out.
    const row = await trx
      .selectFrom('channels')
      .select('last_seq')
      .where('id', '=', channelId)
      .executeTakeFirst();
    return row === undefined ? undefined : toInt(row.last_seq);
  }

  /**
   * The in-memory key of a (user, client id) pair within one channel. MySQL's collations are
   * PAD SPACE (`'a'` = `'a '` in comparisons and unique keys), so there trailing spaces do not
   * count here either; otherwise a stored `'a'` would not be recognised as the duplicate of
   * `'a '` and the INSERT would hit the unique key on every retry.
   */
  #clientKey(userId: string, clientMsgId: string): string {
    return this.dialect === 'mysql'
      ? exactClientKey(userId.replace(/ +$/, ''), clientMsgId.replace(/ +$/, ''))
      : exactClientKey(userId, clientMsgId);
  }

  // ─── plumbing ─────────────────────────────────────────────────────────────────────────────

  /**
   * Runs `fn` in one transaction: `BEGIN IMMEDIATE` on SQLite (see
   * `DialectCapabilities.databaseWriteLock`), READ COMMITTED elsewhere, so that each statement
   * sees what other processes committed before it (the duplicate lookup after a lost race).
   */
  #transaction<T>(fn: (trx: Kysely<StoreTables>) => Promise<T>): Promise<T> {
    if (this.#caps.isolationLevels) {
      return this.#db.transaction().setIsolationLevel('read committed').execute(fn);
    }
    if (!this.#caps.databaseWriteLock) return this.#db.transaction().execute(fn);
    return this.#exclusive(() => this.#sqliteTransaction(fn));
  }

  /** `BEGIN IMMEDIATE` … `COMMIT` on the one connection of a SQLite store. */
  #sqliteTransaction<T>(fn: (trx: Kysely<StoreTables>) => Promise<T>): Promise<T> {
    return this.#writer.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        const result = await fn(conn);
        await sql`commit`.execute(conn);
        return result;
      } catch (error) {
        // Also after a failed COMMIT, which leaves the transaction open.
        await sql`rollback`.execute(conn).catch(() => undefined);
        throw error;
      }
    });
  }

  async #selectUser(
    id: string,
  ): Promise<Pick<Selectable<UsersTable>, 'id' | 'username' | 'created_at'> | undefined> {
    return this.#db
      .selectFrom('users')
      .select(['id', 'username', 'created_at'])
      .where('id', '=', id)
      .executeTakeFirst();
  }

  #page(
    doing: string,
    limit: number,
    read: (limit: number) => Promise<readonly MessageRow[]>,
  ): Promise<readonly Message[]> {
    return this.#guard(doing, async () => {
      if (!(limit >= 1)) return [];
      const rows = await read(Math.min(Math.floor(limit), Number.MAX_SAFE_INTEGER));
      return this.#withReactions(this.#db, rows.map(toMessage));
    });
  }

  /** `messages` with their reaction counts (one query for the whole page). */
  async #withReactions(db: Kysely<StoreTables>, messages: readonly Message[]): Promise<Message[]> {
    const ids = messages.filter((m) => m.deleted !== true).map((m) => m.id);
    if (ids.length === 0) return [...messages];
    const byMessage = new Map<string, Map<string, string[]>>();
    for (let start = 0; start < ids.length; start += LOOKUP_CHUNK) {
      const rows = await db
        .selectFrom('reactions')
        .select(['message_id', 'emoji', 'user_id'])
        .where('message_id', 'in', ids.slice(start, start + LOOKUP_CHUNK))
        .orderBy('message_id')
        .orderBy('created_at')
        .orderBy('emoji')
        .orderBy('user_id')
        .execute();
      for (const row of rows) {
        let emojis = byMessage.get(row.message_id);
        if (emojis === undefined) {
          emojis = new Map();
          byMessage.set(row.message_id, emojis);
        }
        const users = emojis.get(row.emoji);
        if (users === undefined) emojis.set(row.emoji, [row.user_id]);
        else users.push(row.user_id);
      }
    }
    return messages.map((m) => {
      const emojis = byMessage.get(m.id);
      if (emojis === undefined) return m;
      const reactions = [...emojis].map(([emoji, users]) => ({
        emoji,
        count: users.length,
        user_ids: users.sort(codePointOrder),
      }));
      return { ...m, reactions };
    });
  }

  /**
   * The message, or undefined. With `lock`, inside a transaction, its row stays locked until
   * commit (`FOR UPDATE`; SQLite's transactions hold the database write lock already).
   */
  async #selectMessage(
    db: Kysely<StoreTables>,
    channelId: string,
    id: string,
    options: { readonly lock?: boolean } = {},
  ): Promise<Message | undefined> {
    const row = await db
      .selectFrom('messages')
      .select(MESSAGE_SELECT)
      .where('id', '=', id)
      .where('channel_id', '=', channelId)
      .$if(options.lock === true && !this.#caps.databaseWriteLock, (q) => q.forUpdate())
      .executeTakeFirst();
    if (row === undefined) return undefined;
    const [message] = await this.#withReactions(db, [toMessage(row)]);
    return message;
  }

  /** Runs a small write in a transaction, turning outages into `unavailable`. */
  #write<T>(doing: string, fn: (trx: Kysely<StoreTables>) => Promise<T>): Promise<T> {
    return this.#guard(doing, () => this.#transaction(fn));
  }

  /**
   * Runs `fn`, a write, once the append batch in flight on the `appender` (if any) has
   * committed, and before the next one starts. Writes run on the appender's own connection
   * (`writeDb`): a batch arriving inside a write's open transaction would become part of it
   * (the worker refuses it). The migration, on the store's connection, would otherwise wait for
   * the batch's lock in SQLite's busy handler, which sleeps on the event loop.
   */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#appender === undefined) return fn();
    const run = this.#writes.then(fn);
    this.#writes = run.catch(() => undefined);
    return run;
  }

  /**
   * `#guard` for a single-statement upsert: on SQLite it joins the tick's batch of upserts
   * (`#upserts`), elsewhere it runs alone.
   */
  #upsert<T>(doing: string, fn: (db: Kysely<StoreTables>) => Promise<T>): Promise<T> {
    const upserts = this.#upserts;
    if (upserts === undefined) return this.#writeGuard(doing, () => fn(this.#writer));
    return this.#guard(doing, () => upserts.push(fn) as Promise<T>);
  }

  /** `#guard` for a single-statement write outside `#transaction`. */
  #writeGuard<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    return this.#guard(doing, () => this.#exclusive(fn));
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new ParleyError('unavailable', 'the store is closed');
  }

  /** Runs a read or a small write, turning connection failures into `unavailable`. */
  async #guard<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    this.#assertOpen();
    try {
      return await fn();
    } catch (error) {
      throw toStoreError(doing, error);
    }
  }
}

/** `error` as the Store contract promises it: ParleyErrors as they are, outages as `unavailable`. */
function toStoreError(doing: string, error: unknown): unknown {
  if (error instanceof ParleyError) return error;
  return classifyDatabaseError(error) === 'unavailable' ? unavailable(doing, error) : error;
}

function unavailable(doing: string, cause: unknown): ParleyError {
  return new ParleyError('unavailable', `the database is unavailable (${doing})`, { cause });
}

/** Throws `bad_request` when `value` has more code points than its column holds. */
function checkLength(field: string, value: string, max: number): void {
  // Columns count characters (code points); .length counts UTF-16 units, so it can only
  // over-count: check it first, and count code points only for the rare long value.
  if (value.length > max && [...value].length > max) {
    throw new ParleyError('bad_request', `${field} is longer than ${max} characters`);
  }
}

/** Throws `bad_request` for text no dialect can store exactly. */
function checkText(text: string): void {
  if (text.length * 3 > MAX_TEXT_BYTES && Buffer.byteLength(text, 'utf8') > MAX_TEXT_BYTES) {
    throw new ParleyError('bad_request', `message text is longer than ${MAX_TEXT_BYTES} bytes`);
  }
  // PostgreSQL text cannot hold U+0000.
  if (text.includes('\u0000')) throw new ParleyError('bad_request', 'message text contains a NUL character');
}

function toRole(value: string): Role {
  const role = ROLES.find((r) => r === value);
  if (role === undefined) throw new Error(`database holds an unknown role: ${value}`);
  return role;
}

function toKind(value: string): ChannelKind {
  const kind = KINDS.find((k) => k === value);
  if (kind === undefined) throw new Error(`database holds an unknown channel kind: ${value}`);
  return kind;
}

function toUser(row: Pick<Selectable<UsersTable>, 'id' | 'username' | 'created_at'>): StoredUser {
  return { id: row.id, username: row.username, createdAt: toInt(row.created_at) };
}

function toStatus(row: { banned: number; tokens_valid_after: number | string }): UserStatus {
  return { banned: Number(row.banned) !== 0, tokensValidAfter: toInt(row.tokens_valid_after) };
}

function codePointOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toChannel(row: Selectable<ChannelsTable>): StoredChannel {
  return {
    id: row.id,
    kind: toKind(row.kind),
    title: row.title,
    epoch: row.epoch,
    lastSeq: toInt(row.last_seq),
    createdBy: row.created_by,
    createdAt: toInt(row.created_at),
    topic: row.topic,
    archived: Number(row.archived) !== 0,
  };
}

/** One upsert of a batch, run on the batch's transaction. */
type Upsert = (trx: Kysely<StoreTables>) => Promise<unknown>;

/**
 * Runs a batch of upserts in one (SQLite) transaction. A statement that fails on a constraint,
 * or whose check throws a ParleyError, fails alone: SQLite undoes that statement only and the
 * transaction goes on. Any other error rolls back the batch and fails every upsert in it.
 */
async function runUpserts(trx: Kysely<StoreTables>, upserts: readonly Upsert[]): Promise<unknown[]> {
  const results: unknown[] = [];
  for (const upsert of upserts) {
    try {
      results.push(await upsert(trx));
    } catch (error) {
      const kind = classifyDatabaseError(error);
      const alone =
        error instanceof ParleyError
          ? error.code !== 'unavailable'
          : kind === 'unique_violation' || kind === 'foreign_key_violation';
      if (!alone) throw error;
      results.push(error);
    }
  }
  return results;
}
