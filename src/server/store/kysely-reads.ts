// `KyselyStore`'s read-positions aggregate: how far each user has read each channel, and the
// unread and mention counts after that.
import { sql } from 'kysely';
import { ParleyError } from '../../protocol/error-catalogue.js';
import type { KyselyRunner } from './kysely-runner.js';
import { toInt } from './message-row.js';
import type { UnreadCount } from './store.js';

/** The read positions and unread counts of a `KyselyStore`; each method is the `Store` method of its name. */
export class KyselyReads {
  readonly #run: KyselyRunner;

  constructor(run: KyselyRunner) {
    this.#run = run;
  }

  setReadPosition(channelId: string, userId: string, seq: number): Promise<number> {
    return this.#run.write('saving a read position', async (trx) => {
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
        this.#run.dialect === 'sqlite'
          ? sql<number>`max(last_read_seq, excluded.last_read_seq)`
          : this.#run.dialect === 'postgres'
            ? sql<number>`greatest(read_positions.last_read_seq, excluded.last_read_seq)`
            : sql<number>`greatest(last_read_seq, values(last_read_seq))`;
      await (this.#run.caps.upsert === 'on-conflict'
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
    return this.#run.guard('reading read positions', async () => {
      const rows = await this.#run.db
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
    return this.#run.guard('counting unread messages', async () => {
      const escaped = mention.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const mentions = new RegExp(`@${escaped}(?![\\p{L}\\p{N}_])`, 'iu');
      const counts = new Map<string, UnreadCount>();
      // One bounded index range per channel: the cost follows the unread messages, capped.
      await Promise.all(
        channels.map(async ({ channelId, after }) => {
          const rows = await this.#run.db
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
}
