import { type ColumnDefinitionBuilder, type Kysely, type Migration, Migrator, sql } from 'kysely';
import { migration0007 } from './migration-0007.js';
import { migration0008 } from './migration-0008.js';
import { migration0009 } from './migration-0009.js';
import { migration0010 } from './migration-0010.js';
import { type AnyDb, schemaOf } from './migration-schema.js';
import { DIALECT_CAPABILITIES, type StoreDialect } from './store-dialect.js';

/**
 * The schema's migrations, in the order they apply (Kysely sorts them by name), written for
 * one dialect. Names never change once released; a schema change is a new migration.
 *
 * Dialect differences live here and nowhere else in the schema:
 * - MySQL/MariaDB tables are InnoDB, `utf8mb4` (so emoji fit) with the binary collation, so
 *   ids compare and sort by code point, as they do in SQLite;
 * - PostgreSQL id columns use `COLLATE "C"` for the same reason (the database's locale
 *   collation would sort `B` between `a` and `c`, and differ between servers).
 */
export function migrations(dialect: StoreDialect): Readonly<Record<string, Migration>> {
  return {
    '0001_initial': {
      async up(db: AnyDb): Promise<void> {
        const { id, table } = schemaOf(dialect);

        await table(
          db.schema
            .createTable('users')
            .addColumn('id', 'varchar(128)', (c) => id(c).primaryKey())
            .addColumn('username', 'varchar(200)', (c) => c.notNull())
            // Reserved for local accounts (argon2id); users from external tokens have none.
            .addColumn('password_hash', 'varchar(255)')
            .addColumn('created_at', 'bigint', (c) => c.notNull()),
        ).execute();

        await table(
          db.schema
            .createTable('channels')
            .addColumn('id', 'varchar(100)', (c) => id(c).primaryKey())
            .addColumn('kind', 'varchar(16)', (c) => c.notNull())
            .addColumn('title', 'varchar(200)', (c) => c.notNull())
            .addColumn('epoch', 'varchar(32)', (c) => c.notNull())
            // The channel's seq counter: appends bump it under the row lock, which is what
            // serializes writers of one channel across processes.
            .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0))
            .addColumn('created_by', 'varchar(128)', (c) => id(c))
            .addColumn('created_at', 'bigint', (c) => c.notNull()),
        ).execute();

        await table(
          db.schema
            .createTable('members')
            .addColumn('channel_id', 'varchar(100)', (c) => id(c).notNull())
            .addColumn('user_id', 'varchar(128)', (c) => id(c).notNull())
            .addColumn('role', 'varchar(16)', (c) => c.notNull())
            .addColumn('joined_at', 'bigint', (c) => c.notNull())
            .addPrimaryKeyConstraint('members_pk', ['channel_id', 'user_id'])
            .addForeignKeyConstraint('members_channel_fk', ['channel_id'], 'channels', ['id'], (fk) =>
              fk.onDelete('cascade'),
            )
            .addForeignKeyConstraint('members_user_fk', ['user_id'], 'users', ['id'], (fk) =>
              fk.onDelete('cascade'),
            ),
        ).execute();
        await db.schema.createIndex('members_user_id').on('members').column('user_id').execute();

        await table(
          db.schema
            .createTable('messages')
            .addColumn('id', 'varchar(36)', (c) => id(c).primaryKey())
            .addColumn('channel_id', 'varchar(100)', (c) => id(c).notNull())
            .addColumn('seq', 'bigint', (c) => c.notNull())
            // No foreign key to users: senders published through the HTTP API need no account,
            // and the username is kept as it was when the message was sent.
            .addColumn('user_id', 'varchar(128)', (c) => id(c).notNull())
            .addColumn('username', 'varchar(200)', (c) => c.notNull())
            .addColumn('text', 'text', (c) => c.notNull())
            .addColumn('timestamp', 'bigint', (c) => c.notNull())
            .addColumn('client_msg_id', 'varchar(64)', (c) => id(c))
            // Also the index every history page reads.
            .addUniqueConstraint('messages_channel_seq', ['channel_id', 'seq'])
            // Idempotency: one message per (channel, user, client id). The client id comes before
            // the user so the duplicate lookup can probe `channel_id = ? AND client_msg_id IN (…)`.
            // NULL client ids never clash (NULLs are distinct in all three dialects).
            .addUniqueConstraint('messages_channel_client_user', ['channel_id', 'client_msg_id', 'user_id'])
            .addForeignKeyConstraint('messages_channel_fk', ['channel_id'], 'channels', ['id'], (fk) =>
              fk.onDelete('cascade'),
            ),
        ).execute();
      },

      async down(db: AnyDb): Promise<void> {
        for (const name of ['messages', 'members', 'channels', 'users']) {
          await db.schema.dropTable(name).ifExists().execute();
        }
      },
    },
    '0002_chat_features': migration0002(dialect),
    '0003_message_versions': migration0003(dialect),
    '0004_message_event': migration0004(),
    '0005_webhook_outbox': migration0005(dialect),
    '0006_online_users': migration0006(dialect),
    '0007_attachments': migration0007(dialect),
    '0008_push': migration0008(dialect),
    '0009_moderation': migration0009(dialect, schemaOf(dialect)),
    '0010_retention': migration0010(dialect),
    '0011_admin': migration0011(),
  };
}

/**
 * Accounts, refresh tokens, revocation, channel topics and archiving, edits, deletes, replies,
 * reactions, read positions and full-text search, each dialect with its own engine:
 * - SQLite: an FTS5 table without content (`contentless_delete`) keyed by `message_search`, a
 *   rowid map with an INTEGER PRIMARY KEY (VACUUM may renumber the implicit rowids of
 *   `messages`, which would detach an index keyed on them), kept in step by triggers;
 * - MySQL/MariaDB: an InnoDB FULLTEXT index on `messages.text`, whose collation becomes
 *   case-insensitive (the binary one made FULLTEXT matching case-sensitive), built without the
 *   stop-word list (so "about" or "will" can be found); words shorter than
 *   `innodb_ft_min_token_size` (default 3, a server setting) are not indexed;
 * - PostgreSQL: a stored `tsvector` column (the `simple` configuration: no stemming, no stop
 *   words, any language) with a GIN index.
 */
function migration0002(dialect: StoreDialect): Migration {
  return {
    async up(db: AnyDb): Promise<void> {
      const { id, table } = schemaOf(dialect);

      // One column per ALTER: SQLite adds only one at a time.
      const addColumns = async (
        name: string,
        columns: readonly [string, string, (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder][],
      ) => {
        for (const [column, type, build] of columns) {
          await db.schema
            .alterTable(name)
            .addColumn(column, sql.raw(type), (c) => build(c))
            .execute();
        }
      };
      const asIs = (c: ColumnDefinitionBuilder) => c;
      const zero = (c: ColumnDefinitionBuilder) => c.notNull().defaultTo(0);

      await addColumns('users', [
        // Tokens issued (`iat`) before this time (ms) are refused: "log out everywhere".
        ['tokens_valid_after', 'bigint', zero],
        ['banned', 'integer', zero],
      ]);
      await addColumns('channels', [
        ['topic', 'varchar(500)', (c) => c.notNull().defaultTo('')],
        ['archived', 'integer', zero],
      ]);
      await addColumns('messages', [
        ['reply_to', 'varchar(36)', id],
        ['edited_at', 'bigint', asIs],
        ['deleted_at', 'bigint', asIs],
      ]);
      await db.schema
        .createIndex('messages_channel_reply')
        .on('messages')
        .columns(['channel_id', 'reply_to'])
        .execute();

      await table(
        db.schema
          .createTable('accounts')
          // The login name, lowercased: unique, unlike display names.
          .addColumn('login', 'varchar(64)', (c) => id(c).primaryKey())
          .addColumn('user_id', 'varchar(128)', (c) => id(c).notNull().unique())
          .addColumn('password_hash', 'varchar(255)', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addForeignKeyConstraint('accounts_user_fk', ['user_id'], 'users', ['id'], (fk) =>
            fk.onDelete('cascade'),
          ),
      ).execute();

      await table(
        db.schema
          .createTable('refresh_tokens')
          // SHA-256 of the token (hex): a stolen database holds no usable token.
          .addColumn('id', 'varchar(64)', (c) => id(c).primaryKey())
          .addColumn('user_id', 'varchar(128)', (c) => id(c).notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addForeignKeyConstraint('refresh_tokens_user_fk', ['user_id'], 'users', ['id'], (fk) =>
            fk.onDelete('cascade'),
          ),
      ).execute();
      await db.schema.createIndex('refresh_tokens_user_id').on('refresh_tokens').column('user_id').execute();

      await table(
        db.schema
          .createTable('reactions')
          .addColumn('message_id', 'varchar(36)', (c) => id(c).notNull())
          .addColumn('user_id', 'varchar(128)', (c) => id(c).notNull())
          .addColumn('emoji', 'varchar(32)', (c) => id(c).notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('reactions_pk', ['message_id', 'user_id', 'emoji'])
          .addForeignKeyConstraint('reactions_message_fk', ['message_id'], 'messages', ['id'], (fk) =>
            fk.onDelete('cascade'),
          ),
      ).execute();

      await table(
        db.schema
          .createTable('read_positions')
          .addColumn('channel_id', 'varchar(100)', (c) => id(c).notNull())
          .addColumn('user_id', 'varchar(128)', (c) => id(c).notNull())
          .addColumn('last_read_seq', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('read_positions_pk', ['user_id', 'channel_id'])
          .addForeignKeyConstraint('read_positions_channel_fk', ['channel_id'], 'channels', ['id'], (fk) =>
            fk.onDelete('cascade'),
          ),
      ).execute();

      if (dialect === 'sqlite') {
        await sql`create table message_search (rowid integer primary key, message_id varchar(36) not null unique)`.execute(
          db,
        );
        await sql`create virtual table messages_fts using fts5(text, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2')`.execute(
          db,
        );
        await sql`create trigger messages_fts_insert after insert on messages begin
          insert into message_search (message_id) values (new.id);
          insert into messages_fts (rowid, text)
            values ((select rowid from message_search where message_id = new.id), new.text);
        end`.execute(db);
        await sql`create trigger messages_fts_update after update of text on messages begin
          delete from messages_fts where rowid = (select rowid from message_search where message_id = old.id);
          insert into messages_fts (rowid, text)
            values ((select rowid from message_search where message_id = new.id), new.text);
        end`.execute(db);
        await sql`create trigger messages_fts_delete after delete on messages begin
          delete from messages_fts where rowid = (select rowid from message_search where message_id = old.id);
          delete from message_search where message_id = old.id;
        end`.execute(db);
        await sql`insert into message_search (message_id) select id from messages`.execute(db);
        await sql`insert into messages_fts (rowid, text)
          select s.rowid, m.text from messages m join message_search s on s.message_id = m.id`.execute(db);
      } else if (dialect === 'mysql') {
        // The stop-word setting is read when the index is built, from the session that builds it.
        await db.connection().execute(async (conn) => {
          await sql`set session innodb_ft_enable_stopword = 0`.execute(conn);
          await sql`alter table messages modify text text character set utf8mb4 collate utf8mb4_unicode_ci not null`.execute(
            conn,
          );
          await sql`alter table messages add fulltext index messages_text_ft (text)`.execute(conn);
        });
      } else {
        await sql`alter table messages add column search tsvector generated always as (to_tsvector('simple', text)) stored`.execute(
          db,
        );
        await sql`create index messages_search on messages using gin (search)`.execute(db);
      }
    },

    async down(db: AnyDb): Promise<void> {
      for (const name of ['read_positions', 'reactions', 'refresh_tokens', 'accounts']) {
        await db.schema.dropTable(name).ifExists().execute();
      }
      if (dialect === 'sqlite') {
        await sql`drop table if exists messages_fts`.execute(db);
        await sql`drop table if exists message_search`.execute(db);
      }
    },
  };
}

/**
 * The event name of a message triggered through the Pusher-compatible API (`messages.event`,
 * NULL for every other message): the message's text is the event's data, kept as it came.
 */
function migration0004(): Migration {
  return {
    async up(db: AnyDb): Promise<void> {
      await db.schema.alterTable('messages').addColumn('event', 'varchar(200)').execute();
    },
  };
}

/**
 * Edit history (issue 3): `message_versions` keeps the texts an edit replaced, numbered from 1
 * per message. `text` has the type and collation `messages.text` has on each dialect since 0002
 * (MySQL/MariaDB: `utf8mb4_unicode_ci`; PostgreSQL: the database's default), so a version
 * compares like the text it was. Versions are not in the search index: a search finds only a
 * message's current text.
 */
function migration0003(dialect: StoreDialect): Migration {
  return {
    async up(db: AnyDb): Promise<void> {
      const { id, table } = schemaOf(dialect);
      const textType =
        dialect === 'mysql' ? sql`text character set utf8mb4 collate utf8mb4_unicode_ci` : sql`text`;

      await table(
        db.schema
          .createTable('message_versions')
          .addColumn('message_id', 'varchar(36)', (c) => id(c).notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('text', textType, (c) => c.notNull())
          // When this text was replaced: the `edited_at` of the edit that replaced it.
          .addColumn('edited_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('message_versions_pk', ['message_id', 'version'])
          .addForeignKeyConstraint('message_versions_message_fk', ['message_id'], 'messages', ['id'], (fk) =>
            fk.onDelete('cascade'),
          ),
      ).execute();
    },

    async down(db: AnyDb): Promise<void> {
      await db.schema.dropTable('message_versions').ifExists().execute();
    },
  };
}

/**
 * The webhook outbox (issue 14): one row per event and URL, written in the transaction of the
 * change that caused the event, removed once delivered. `next_attempt_at` is also the claim's
 * lease: a claim moves it forward, so a claimed row is not due for anyone else until the claim
 * lapses. `body` holds a whole message (up to 64 KiB of text plus its JSON): MEDIUMTEXT on
 * MySQL/MariaDB, whose TEXT holds 64 KiB.
 */
function migration0005(dialect: StoreDialect): Migration {
  return {
    async up(db: AnyDb): Promise<void> {
      const { id, table } = schemaOf(dialect);
      const bodyType = dialect === 'mysql' ? sql`mediumtext` : sql`text`;
      await table(
        db.schema
          .createTable('webhook_outbox')
          .addColumn('id', 'varchar(36)', (c) => id(c).primaryKey())
          .addColumn('event_id', 'varchar(36)', (c) => id(c).notNull())
          .addColumn('type', 'varchar(64)', (c) => c.notNull())
          .addColumn('url', 'varchar(2048)', (c) => c.notNull())
          .addColumn('body', bodyType, (c) => c.notNull())
          .addColumn('headers', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
          .addColumn('state', 'varchar(8)', (c) => c.notNull())
          .addColumn('claimed_by', 'varchar(64)')
          .addColumn('last_error', 'varchar(500)'),
      ).execute();
      await db.schema
        .createIndex('webhook_outbox_due')
        .on('webhook_outbox')
        .columns(['state', 'next_attempt_at'])
        .execute();
      await db.schema.createIndex('webhook_outbox_claim').on('webhook_outbox').column('claimed_by').execute();
    },

    async down(db: AnyDb): Promise<void> {
      await db.schema.dropTable('webhook_outbox').ifExists().execute();
    },
  };
}

/**
 * Who is online across the cluster (issue 14), for `user.online` / `user.offline` exactly once
 * per transition: `online_users` counts, per user, the nodes that hold a connection of theirs
 * (the row exists while the count is above 0); `online_nodes` says which nodes, so that the
 * users of a node that died can be let go; `nodes` is each node's heartbeat.
 */
function migration0006(dialect: StoreDialect): Migration {
  return {
    async up(db: AnyDb): Promise<void> {
      const { id, table } = schemaOf(dialect);
      await table(
        db.schema
          .createTable('online_users')
          .addColumn('user_id', 'varchar(128)', (c) => id(c).primaryKey())
          .addColumn('username', 'varchar(200)', (c) => c.notNull())
          .addColumn('nodes', 'integer', (c) => c.notNull())
          .addColumn('since', 'bigint', (c) => c.notNull()),
      ).execute();
      await table(
        db.schema
          .createTable('online_nodes')
          .addColumn('user_id', 'varchar(128)', (c) => id(c).notNull())
          .addColumn('node_id', 'varchar(64)', (c) => id(c).notNull())
          .addPrimaryKeyConstraint('online_nodes_pk', ['user_id', 'node_id']),
      ).execute();
      await db.schema.createIndex('online_nodes_node').on('online_nodes').column('node_id').execute();
      await table(
        db.schema
          .createTable('nodes')
          .addColumn('id', 'varchar(64)', (c) => id(c).primaryKey())
          .addColumn('seen_at', 'bigint', (c) => c.notNull()),
      ).execute();
    },

    async down(db: AnyDb): Promise<void> {
      for (const name of ['nodes', 'online_nodes', 'online_users'])
        await db.schema.dropTable(name).ifExists().execute();
    },
  };
}

/** Server admins (#17): the `admin` flag on users, set by the server API or `parley user admin`. */
function migration0011(): Migration {
  return {
    async up(db: AnyDb): Promise<void> {
      await db.schema
        .alterTable('users')
        .addColumn('admin', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },

    async down(db: AnyDb): Promise<void> {
      await db.schema.alterTable('users').dropColumn('admin').execute();
    },
  };
}

/**
 * Brings the schema up to date with Kysely's `Migrator`. Safe to run from several processes at
 * once: PostgreSQL and MySQL/MariaDB take Kysely's migration lock (an advisory lock /
 * `GET_LOCK`); on SQLite, where Kysely's lock is only in-process, the whole run happens in one
 * `BEGIN IMMEDIATE` transaction, which holds the database write lock (other processes wait for
 * it up to their busy timeout, then see the migrations done). Rejects with the driver's error
 * when a migration fails.
 */
export async function runMigrations<DB>(db: Kysely<DB>, dialect: StoreDialect): Promise<void> {
  const run = async (conn: Kysely<DB>): Promise<void> => {
    const migrator = new Migrator({
      db: conn,
      provider: { getMigrations: async () => ({ ...migrations(dialect) }) },
    });
    const { error } = await migrator.migrateToLatest();
    if (error !== undefined) throw error;
  };
  if (!DIALECT_CAPABILITIES[dialect].databaseWriteLock) return run(db);
  // SQLite DDL is transactional, so the immediate transaction also makes the run atomic.
  await db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      await run(conn);
    } catch (error) {
      await sql`rollback`.execute(conn);
      throw error;
    }
    await sql`commit`.execute(conn);
  });
}
