import {
  type ColumnDefinitionBuilder,
  type CreateTableBuilder,
  type Kysely,
  type Migration,
  Migrator,
  sql,
} from 'kysely';
import { DIALECT_CAPABILITIES, type StoreDialect } from './store-dialect.js';

// Kysely's migrations are written against an unknown schema: they create it.
type AnyDb = Kysely<unknown>;

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
        const id = (col: ColumnDefinitionBuilder): ColumnDefinitionBuilder =>
          dialect === 'postgres' ? col.modifyEnd(sql`collate "C"`) : col;
        const table = <T extends string, C extends string>(
          builder: CreateTableBuilder<T, C>,
        ): CreateTableBuilder<T, C> =>
          dialect === 'mysql'
            ? builder.modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin`)
            : builder;

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
