// `KyselyStore`'s retention aggregate (issue 17): pruning old messages in bounded batches, the
// leases that let one node prune, a user's messages and reactions for an export, and erasure.
import type { Kysely } from 'kysely';
import type { Message } from '../../protocol/frames.js';
import { insertWebhookRows, type WebhookRoutingRef } from './kysely-outbox.js';
import type { KyselyRunner } from './kysely-runner.js';
import { MESSAGE_SELECT, toInt, toMessage } from './message-row.js';
import {
  type ChannelRetention,
  ERASED_AUTHOR,
  type ErasureMode,
  type RetentionStore,
  type UserReaction,
} from './retention-store.js';
import type { StoreTables } from './store-tables.js';
import { parleyWebhooks, webhookRow } from './webhook-rows.js';

/** The retention methods of a `KyselyStore`; each is the `RetentionStore` method of its name. */
export class KyselyRetention implements RetentionStore {
  readonly #run: KyselyRunner;
  readonly #webhooks: WebhookRoutingRef;

  constructor(run: KyselyRunner, webhooks: WebhookRoutingRef) {
    this.#run = run;
    this.#webhooks = webhooks;
  }

  retentionChannels(after: string | undefined, limit: number): Promise<readonly ChannelRetention[]> {
    return this.#run.guard('listing channels', async () => {
      const rows = await this.#run.db
        .selectFrom('channels')
        .select(['id', 'retention_days', 'pruned_seq'])
        .$if(after !== undefined, (q) => q.where('id', '>', after as string))
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        id: r.id,
        retentionDays: r.retention_days === null ? null : toInt(r.retention_days),
        prunedSeq: toInt(r.pruned_seq),
      }));
    });
  }

  pruneChannel(channelId: string, olderThan: number, limit: number): Promise<number> {
    if (!(limit >= 1)) return Promise.resolve(0);
    return this.#run.write('pruning messages', async (trx) => {
      // The lowest seqs, through the (channel_id, seq) index: at most `limit` rows read.
      const oldest = await trx
        .selectFrom('messages')
        .select(['id', 'seq', 'timestamp'])
        .where('channel_id', '=', channelId)
        .orderBy('seq', 'asc')
        .limit(Math.floor(limit))
        .execute();
      const gone: string[] = [];
      let through = 0;
      for (const row of oldest) {
        if (toInt(row.timestamp) >= olderThan) break;
        gone.push(row.id);
        through = toInt(row.seq);
      }
      if (gone.length === 0) return 0;
      await trx.deleteFrom('reactions').where('message_id', 'in', gone).execute();
      await trx.deleteFrom('message_versions').where('message_id', 'in', gone).execute();
      // Search entries go with the rows: SQLite's FTS5 by trigger, FULLTEXT and tsvector with the row.
      await trx
        .deleteFrom('messages')
        .where('channel_id', '=', channelId)
        .where('seq', '<=', through)
        .execute();
      await trx
        .updateTable('channels')
        .set({ pruned_seq: through })
        .where('id', '=', channelId)
        .where('pruned_seq', '<', through)
        .execute();
      return gone.length;
    });
  }

  takeLease(name: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    const until = now + leaseMs;
    return this.#run.writeGuard('taking a lease', async () => {
      const w = this.#run.writer;
      const taken = await w
        .updateTable('leases')
        .set({ owner, expires_at: until })
        .where('name', '=', name)
        .where((eb) => eb.or([eb('owner', '=', owner), eb('expires_at', '<=', now)]))
        .executeTakeFirst();
      if (Number(taken.numUpdatedRows) === 0) {
        // No row yet, or another owner's: of two inserts at once, one stores its row.
        const insert = w.insertInto('leases').values({ name, owner, expires_at: until });
        await (this.#run.caps.upsert === 'on-conflict'
          ? insert.onConflict((oc) => oc.column('name').doNothing())
          : insert.ignore()
        ).execute();
      }
      // Whoever's row it is now holds the lease (MySQL counts an update that changed nothing as none).
      const row = await w.selectFrom('leases').select(['owner']).where('name', '=', name).executeTakeFirst();
      return row?.owner === owner;
    });
  }

  releaseLease(name: string, owner: string): Promise<void> {
    return this.#run.writeGuard('releasing a lease', async () => {
      await this.#run.writer
        .deleteFrom('leases')
        .where('name', '=', name)
        .where('owner', '=', owner)
        .execute();
    });
  }

  userMessages(userId: string, after: string | undefined, limit: number): Promise<readonly Message[]> {
    return this.#run.guard('reading a user’s messages', async () => {
      const rows = await this.#run.db
        .selectFrom('messages')
        .select(MESSAGE_SELECT)
        .where('user_id', '=', userId)
        .$if(after !== undefined, (q) => q.where('id', '>', after as string))
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map(toMessage);
    });
  }

  userReactions(
    userId: string,
    after: { readonly messageId: string; readonly emoji: string } | undefined,
    limit: number,
  ): Promise<readonly UserReaction[]> {
    return this.#run.guard('reading a user’s reactions', async () => {
      const rows = await this.#run.db
        .selectFrom('reactions as r')
        .innerJoin('messages as m', 'm.id', 'r.message_id')
        .select(['r.message_id', 'm.channel_id', 'r.emoji', 'r.created_at'])
        .where('r.user_id', '=', userId)
        .$if(after !== undefined, (q) =>
          q.where((eb) =>
            eb.or([
              eb('r.message_id', '>', after?.messageId ?? ''),
              eb.and([
                eb('r.message_id', '=', after?.messageId ?? ''),
                eb('r.emoji', '>', after?.emoji ?? ''),
              ]),
            ]),
          ),
        )
        .orderBy('r.message_id')
        .orderBy('r.emoji')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        messageId: r.message_id,
        channelId: r.channel_id,
        emoji: r.emoji,
        createdAt: toInt(r.created_at),
      }));
    });
  }

  eraseUserContent(
    userId: string,
    mode: ErasureMode,
    limit: number,
  ): Promise<{ readonly changed: number; readonly channels: readonly string[] }> {
    if (!(limit >= 1)) return Promise.resolve({ changed: 0, channels: [] });
    return this.#run.write('erasing a user’s messages', async (trx) => {
      const n = Math.floor(limit);
      const reactions = await trx
        .selectFrom('reactions')
        .select(['message_id'])
        .where('user_id', '=', userId)
        .limit(n)
        .execute();
      if (reactions.length > 0) {
        await trx
          .deleteFrom('reactions')
          .where('user_id', '=', userId)
          .where(
            'message_id',
            'in',
            reactions.map((r) => r.message_id),
          )
          .execute();
      }
      const messages = await trx
        .selectFrom('messages')
        .select(['id', 'channel_id'])
        .where('user_id', '=', userId)
        .limit(n)
        .execute();
      if (messages.length > 0) {
        const ids = messages.map((m) => m.id);
        if (mode === 'delete') {
          await trx.deleteFrom('reactions').where('message_id', 'in', ids).execute();
          await trx.deleteFrom('message_versions').where('message_id', 'in', ids).execute();
        }
        await trx
          .updateTable('messages')
          .set({
            user_id: ERASED_AUTHOR.id,
            username: ERASED_AUTHOR.username,
            // Two erased users' client ids must not clash under the one placeholder author.
            client_msg_id: null,
            ...(mode === 'delete' ? { text: '' } : {}),
          })
          .where('id', 'in', ids)
          .execute();
        if (mode === 'delete') {
          await trx
            .updateTable('messages')
            .set({ deleted_at: Date.now() })
            .where('id', 'in', ids)
            .where('deleted_at', 'is', null)
            .execute();
        }
      }
      return {
        changed: reactions.length + messages.length,
        channels: [...new Set(messages.map((m) => m.channel_id))],
      };
    });
  }

  eraseUser(userId: string, now: number, data: Readonly<Record<string, unknown>>): Promise<boolean> {
    const routing = this.#webhooks.routing;
    return this.#run.write('erasing a user', async (trx) => {
      const found = await trx.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
      if (found === undefined) return false;
      for (const table of ['read_positions', 'members', 'refresh_tokens', 'accounts'] as const) {
        await trx.deleteFrom(table).where('user_id', '=', userId).execute();
      }
      await trx.deleteFrom('users').where('id', '=', userId).execute();
      await recordErased(trx, this.#run, userId, now);
      if (routing !== undefined) {
        const rows = parleyWebhooks(routing, 'user.erased', data, now).map(webhookRow);
        await insertWebhookRows(trx, rows);
      }
      return true;
    });
  }
}

/** Records (or re-records) the user id as erased at `now`. */
async function recordErased(
  trx: Kysely<StoreTables>,
  run: KyselyRunner,
  userId: string,
  now: number,
): Promise<void> {
  const insert = trx.insertInto('erased_users').values({ user_id: userId, erased_at: now });
  await (run.caps.upsert === 'on-conflict'
    ? insert.onConflict((oc) => oc.column('user_id').doUpdateSet({ erased_at: now }))
    : insert.onDuplicateKeyUpdate({ erased_at: now })
  ).execute();
}
