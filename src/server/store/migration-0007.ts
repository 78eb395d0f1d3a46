import type { Migration } from 'kysely';
import { type AnyDb, schemaOf } from './migration-schema.js';
import type { StoreDialect } from './store-dialect.js';

/**
 * Attachments (issue 16): `attachments` holds one row per uploaded file, with where its bytes
 * are (`file_key`, `thumbnail_key` in the file store) and the message it was attached to
 * (`message_id`, NULL until then). No foreign key to `messages`: a message removed by any path
 * (delete, retention, erase) leaves its rows for the attachment sweep, which removes the files
 * and then the rows. `messages.attachments` keeps the message's attachment records as JSON, so
 * history, search and webhooks read them with the message.
 */
export function migration0007(dialect: StoreDialect): Migration {
  return {
    async up(db: AnyDb): Promise<void> {
      const { id, table } = schemaOf(dialect);
      await table(
        db.schema
          .createTable('attachments')
          .addColumn('id', 'varchar(36)', (c) => id(c).primaryKey())
          .addColumn('channel_id', 'varchar(100)', (c) => id(c).notNull())
          .addColumn('uploader_id', 'varchar(128)', (c) => id(c).notNull())
          .addColumn('name', 'varchar(255)', (c) => c.notNull())
          .addColumn('type', 'varchar(100)', (c) => c.notNull())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('width', 'integer')
          .addColumn('height', 'integer')
          .addColumn('file_key', 'varchar(200)', (c) => c.notNull())
          .addColumn('thumbnail_key', 'varchar(200)')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('message_id', 'varchar(36)', (c) => id(c)),
      ).execute();
      await db.schema.createIndex('attachments_message').on('attachments').column('message_id').execute();
      await db.schema
        .createIndex('attachments_uploader')
        .on('attachments')
        .columns(['uploader_id', 'created_at'])
        .execute();
      await db.schema.alterTable('messages').addColumn('attachments', 'text').execute();
    },

    async down(db: AnyDb): Promise<void> {
      await db.schema.alterTable('messages').dropColumn('attachments').execute();
      await db.schema.dropTable('attachments').ifExists().execute();
    },
  };
}
