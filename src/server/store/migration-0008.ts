import type { Migration } from 'kysely';
import { type AnyDb, schemaOf } from './migration-schema.js';
import type { StoreDialect } from './store-dialect.js';

/**
 * Web Push (issue 16): each user's browser subscriptions (`push_subscriptions`, one row per
 * endpoint, keyed by the endpoint's SHA-256 so the key stays short), their per-channel choice
 * (`push_settings`), the pushes waiting for their grace period or their turn (`push_pending`,
 * one row per user and channel: the collapse), each user's pushes in the current rate window
 * (`push_rate`) and the VAPID key pair every node signs with (`push_keys`). Every per-user table
 * goes with its user (ON DELETE CASCADE), and the per-channel ones with their channel.
 */
export function migration0008(dialect: StoreDialect): Migration {
  return {
    async up(db: AnyDb): Promise<void> {
      const { id, table } = schemaOf(dialect);
      await table(
        db.schema
          .createTable('push_subscriptions')
          .addColumn('id', 'varchar(36)', (c) => id(c).primaryKey())
          .addColumn('user_id', 'varchar(128)', (c) => id(c).notNull())
          .addColumn('endpoint_hash', 'varchar(64)', (c) => id(c).notNull().unique())
          .addColumn('endpoint', 'varchar(2048)', (c) => c.notNull())
          .addColumn('p256dh', 'varchar(128)', (c) => c.notNull())
          .addColumn('auth', 'varchar(64)', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addForeignKeyConstraint('push_subscriptions_user_fk', ['user_id'], 'users', ['id'], (fk) =>
            fk.onDelete('cascade'),
          ),
      ).execute();
      await db.schema
        .createIndex('push_subscriptions_user')
        .on('push_subscriptions')
        .column('user_id')
        .execute();
      await table(
        db.schema
          .createTable('push_settings')
          .addColumn('user_id', 'varchar(128)', (c) => id(c).notNull())
          .addColumn('channel_id', 'varchar(100)', (c) => id(c).notNull())
          .addColumn('level', 'varchar(8)', (c) => c.notNull())
          .addPrimaryKeyConstraint('push_settings_pk', ['user_id', 'channel_id'])
          .addForeignKeyConstraint('push_settings_user_fk', ['user_id'], 'users', ['id'], (fk) =>
            fk.onDelete('cascade'),
          )
          .addForeignKeyConstraint('push_settings_channel_fk', ['channel_id'], 'channels', ['id'], (fk) =>
            fk.onDelete('cascade'),
          ),
      ).execute();
      await db.schema
        .createIndex('push_settings_channel')
        .on('push_settings')
        .columns(['channel_id', 'level'])
        .execute();
      await table(
        db.schema
          .createTable('push_pending')
          .addColumn('user_id', 'varchar(128)', (c) => id(c).notNull())
          .addColumn('channel_id', 'varchar(100)', (c) => id(c).notNull())
          .addColumn('last_seq', 'bigint', (c) => c.notNull())
          .addColumn('last_message_id', 'varchar(36)', (c) => id(c).notNull())
          .addColumn('messages', 'integer', (c) => c.notNull())
          .addColumn('urgent', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('due_at', 'bigint', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('claimed_by', 'varchar(64)')
          .addPrimaryKeyConstraint('push_pending_pk', ['user_id', 'channel_id'])
          .addForeignKeyConstraint('push_pending_user_fk', ['user_id'], 'users', ['id'], (fk) =>
            fk.onDelete('cascade'),
          )
          .addForeignKeyConstraint('push_pending_channel_fk', ['channel_id'], 'channels', ['id'], (fk) =>
            fk.onDelete('cascade'),
          ),
      ).execute();
      await db.schema.createIndex('push_pending_due').on('push_pending').column('due_at').execute();
      await db.schema.createIndex('push_pending_claim').on('push_pending').column('claimed_by').execute();
      await table(
        db.schema
          .createTable('push_rate')
          .addColumn('user_id', 'varchar(128)', (c) => id(c).primaryKey())
          .addColumn('window_start', 'bigint', (c) => c.notNull())
          .addColumn('sent', 'integer', (c) => c.notNull())
          .addForeignKeyConstraint('push_rate_user_fk', ['user_id'], 'users', ['id'], (fk) =>
            fk.onDelete('cascade'),
          ),
      ).execute();
      await table(
        db.schema
          .createTable('push_keys')
          .addColumn('id', 'varchar(16)', (c) => id(c).primaryKey())
          .addColumn('public_key', 'varchar(128)', (c) => c.notNull())
          .addColumn('private_key', 'varchar(64)', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull()),
      ).execute();
    },

    async down(db: AnyDb): Promise<void> {
      for (const name of ['push_keys', 'push_rate', 'push_pending', 'push_settings', 'push_subscriptions'])
        await db.schema.dropTable(name).ifExists().execute();
    },
  };
}
