// Migration 0010 (issue 17): what retention, export and erasure need of the schema. In a file of
// its own so that the shared migrations.ts grows by one line.
import { type Kysely, type Migration, sql } from 'kysely';
import type { StoreDialect } from './store-dialect.js';

type AnyDb = Kysely<unknown>;

/**
 * Retention, export and erasure (issue 17):
 * - `channels.retention_days`: the channel's own retention (NULL = the server's
 *   `PARLEY_RETENTION_DAYS`, 0 = keep forever); `channels.pruned_seq`: every message with a seq
 *   up to it was pruned (0 = none), so a resume from before it is refused;
 * - `messages_user` and `reactions_user`: a user's messages and reactions without a scan
 *   (export, erasure);
 * - `leases`: named leases with an owner and an end, so that one node of a cluster runs a job
 *   (the retention pruner) at a time;
 * - `erased_users`: the ids of erased users and when, so that tokens issued before the erasure
 *   stay refused once the user's row is gone (no name or other data is kept).
 */
export function migration0010(dialect: StoreDialect): Migration {
  const id = (type: string) => sql.raw(dialect === 'postgres' ? `${type} collate "C"` : type);
  const table = dialect === 'mysql' ? sql` engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin` : sql``;
  return {
    async up(db: AnyDb): Promise<void> {
      await db.schema.alterTable('channels').addColumn('retention_days', 'integer').execute();
      await db.schema
        .alterTable('channels')
        .addColumn('pruned_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('messages_user').on('messages').columns(['user_id', 'id']).execute();
      await db.schema
        .createIndex('reactions_user')
        .on('reactions')
        .columns(['user_id', 'message_id', 'emoji'])
        .execute();
      await sql`create table leases (
        name ${id('varchar(64)')} primary key,
        owner varchar(64) not null,
        expires_at bigint not null
      )${table}`.execute(db);
      await sql`create table erased_users (
        user_id ${id('varchar(128)')} primary key,
        erased_at bigint not null
      )${table}`.execute(db);
    },

    async down(db: AnyDb): Promise<void> {
      for (const name of ['erased_users', 'leases']) await db.schema.dropTable(name).ifExists().execute();
      for (const [index, on] of [
        ['reactions_user', 'reactions'],
        ['messages_user', 'messages'],
      ] as const) {
        const drop = db.schema.dropIndex(index).ifExists();
        await (dialect === 'mysql' ? drop.on(on) : drop).execute();
      }
    },
  };
}
