import {
  type ColumnDefinitionBuilder,
  type CreateTableBuilder,
  type Kysely,
  type Migration,
  sql,
} from 'kysely';
import type { StoreDialect } from './store-dialect.js';

type AnyDb = Kysely<unknown>;

/** The dialect's column and table modifiers, as `migrations.ts` defines them (`schemaOf`). */
export interface SchemaModifiers {
  readonly id: (col: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
  readonly table: <T extends string, C extends string>(
    builder: CreateTableBuilder<T, C>,
  ) => CreateTableBuilder<T, C>;
}

/**
 * Moderation (issue 17): `channel_sanctions` (bans and mutes, one row per channel, user and
 * kind), `channel_slow_mode` (channels with slow mode on), `channel_post_times` (each user's
 * last post in a slow-mode channel, the row a conditional update claims), `word_filters` (one
 * list per scope: '' = server-wide, else a channel id) and `message_reports`.
 */
export function migration0009(dialect: StoreDialect, { id, table }: SchemaModifiers): Migration {
  return {
    async up(db: AnyDb): Promise<void> {
      const wordsType = dialect === 'mysql' ? sql`mediumtext` : sql`text`;
      await table(
        db.schema
          .createTable('channel_sanctions')
          .addColumn('channel_id', 'varchar(100)', (c) => id(c).notNull())
          .addColumn('user_id', 'varchar(128)', (c) => id(c).notNull())
          .addColumn('kind', 'varchar(8)', (c) => c.notNull())
          .addColumn('until', 'bigint')
          .addColumn('reason', 'varchar(500)')
          .addColumn('created_by', 'varchar(128)', (c) => id(c).notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('channel_sanctions_pk', ['channel_id', 'user_id', 'kind'])
          .addForeignKeyConstraint('channel_sanctions_channel_fk', ['channel_id'], 'channels', ['id'], (fk) =>
            fk.onDelete('cascade'),
          ),
      ).execute();
      await table(
        db.schema
          .createTable('channel_slow_mode')
          .addColumn('channel_id', 'varchar(100)', (c) => id(c).primaryKey())
          .addColumn('seconds', 'integer', (c) => c.notNull())
          .addForeignKeyConstraint('channel_slow_mode_channel_fk', ['channel_id'], 'channels', ['id'], (fk) =>
            fk.onDelete('cascade'),
          ),
      ).execute();
      await table(
        db.schema
          .createTable('channel_post_times')
          .addColumn('channel_id', 'varchar(100)', (c) => id(c).notNull())
          .addColumn('user_id', 'varchar(128)', (c) => id(c).notNull())
          .addColumn('last_post_at', 'bigint', (c) => c.notNull())
          .addColumn('client_msg_id', 'varchar(64)')
          .addPrimaryKeyConstraint('channel_post_times_pk', ['channel_id', 'user_id']),
      ).execute();
      await table(
        db.schema
          .createTable('word_filters')
          .addColumn('scope', 'varchar(100)', (c) => id(c).primaryKey())
          .addColumn('words', wordsType, (c) => c.notNull())
          .addColumn('action', 'varchar(8)', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull()),
      ).execute();
      await table(
        db.schema
          .createTable('message_reports')
          .addColumn('id', 'varchar(36)', (c) => id(c).primaryKey())
          .addColumn('channel_id', 'varchar(100)', (c) => id(c).notNull())
          .addColumn('message_id', 'varchar(36)', (c) => id(c).notNull())
          .addColumn('reporter_id', 'varchar(128)', (c) => id(c).notNull())
          .addColumn('reason', 'varchar(500)', (c) => c.notNull())
          .addColumn('state', 'varchar(16)', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('settled_at', 'bigint')
          .addColumn('settled_by', 'varchar(128)', (c) => id(c)),
      ).execute();
      await db.schema
        .createIndex('message_reports_state')
        .on('message_reports')
        .columns(['state', 'id'])
        .execute();
    },

    async down(db: AnyDb): Promise<void> {
      for (const name of [
        'message_reports',
        'word_filters',
        'channel_post_times',
        'channel_slow_mode',
        'channel_sanctions',
      ])
        await db.schema.dropTable(name).ifExists().execute();
    },
  };
}
