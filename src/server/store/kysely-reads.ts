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
      const limit = Math.max(0, Math.floor(cap));
      // One position per channel: a channel listed twice would otherwise be counted twice.
      const wanted = new Map(channels.map(({ channelId, after }) => [channelId, Math.floor(after)]));
      const counts = new Map<string, { unread: number; mentions: number }>();
      for (const id of wanted.keys()) counts.set(id, { unread: 0, mentions: 0 });
      if (limit === 0) return counts;
      const mentions = mentionTest(mention);
      const like = mentionLike(mention);
      const ranges = [...wanted];
      for (let i = 0; i < ranges.length; i += UNREAD_CHUNK) {
        const rows = await this.#unread(ranges.slice(i, i + UNREAD_CHUNK), userId, like, limit);
        for (const row of rows) {
          const count = counts.get(row.channel_id);
          if (count === undefined) continue;
          const n = toInt(row.n);
          count.unread += n;
          if (row.text !== null && mentions.test(row.text)) count.mentions += n;
        }
      }
      return counts;
    });
  }

  /**
   * One statement for up to `UNREAD_CHUNK` channels: per channel the first `limit` unread
   * messages, each read as one channel's history page is (a bounded range of the
   * `(channel_id, seq)` index, stopping at the cap), then per channel one row counting those
   * that cannot mention the user and one row per message that may, with its text looked up by
   * primary key (a join was planned by PostgreSQL as a merge over the whole primary key).
   *
   * A window function (`row_number() over (partition by channel_id …)`) would rank every
   * unread message before the cap applies, so each dialect gets a form with a limit per
   * channel: PostgreSQL a LATERAL subquery over the arrays of channels and positions (planned
   * once; a UNION of 250 took it 170 ms to plan), SQLite and MariaDB (no LATERAL) a UNION ALL
   * of per-channel limited subqueries.
   */
  async #unread(
    ranges: readonly Range[],
    userId: string,
    like: string,
    limit: number,
  ): Promise<readonly UnreadRow[]> {
    if (this.#run.dialect !== 'postgres') return this.#unreadUnion(ranges, userId, like, limit);
    return this.#run.db.transaction().execute(async (trx) => {
      // With many busy channels the plan's estimated cost passes `jit_above_cost` (default
      // 100,000), and compiling it costs more than it saves (54 ms for 250 channels).
      await sql`set local jit = off`.execute(trx);
      const { rows } = await sql<UnreadRow>`
        select g.channel_id, g.n, (select m.text from messages m where m.id = g.candidate) as text
        from (
          select r.channel_id, r.candidate, count(*) as n
          from unnest(cast(${ranges.map((r) => r[0])} as text[]), cast(${ranges.map((r) => r[1])} as bigint[]))
            as c(channel_id, after_seq)
          cross join lateral (
            select m.channel_id, case when m.text collate "C" ilike ${like} then m.id end as candidate
            from messages m
            where m.channel_id = c.channel_id and m.seq > c.after_seq
              and m.user_id <> ${userId} and m.deleted_at is null
            order by m.seq
            limit ${limit}
          ) as r
          group by r.channel_id, r.candidate
        ) as g`.execute(trx);
      return rows;
    });
  }

  /** `#unread` as a UNION ALL of one limited subquery per channel (SQLite, MariaDB). */
  #unreadUnion(
    ranges: readonly Range[],
    userId: string,
    like: string,
    limit: number,
  ): Promise<readonly UnreadRow[]> {
    const db = this.#run.db;
    // SQLite's LIKE folds ASCII letters only; MariaDB's `text` is utf8mb4_unicode_ci (migration
    // 0002), which folds case (and accents: more candidates, never fewer).
    const mayMention = sql<
      string | null
    >`case when ${sql.ref('text')} like ${like} then ${sql.ref('id')} end`;
    const range = ([channelId, after]: Range, i: number) =>
      db
        .selectFrom((eb) =>
          eb
            .selectFrom('messages')
            .select(['channel_id', mayMention.as('candidate')])
            .where('channel_id', '=', channelId)
            .where('seq', '>', after)
            .where('user_id', '<>', userId)
            .where('deleted_at', 'is', null)
            .orderBy('seq', 'asc')
            .limit(limit)
            .as(`r${i}`),
        )
        .selectAll();
    const [first, ...rest] = ranges.map(range);
    if (first === undefined) return Promise.resolve([]);
    const unread = rest.reduce((union, next) => union.unionAll(next), first);
    return db
      .selectFrom((eb) =>
        eb
          .selectFrom(unread.as('u'))
          .select(['u.channel_id', 'u.candidate', eb.fn.countAll<number | string>().as('n')])
          .groupBy(['u.channel_id', 'u.candidate'])
          .as('g'),
      )
      .select((eb) => [
        'g.channel_id',
        'g.n',
        eb.selectFrom('messages as m').select('m.text').whereRef('m.id', '=', 'g.candidate').as('text'),
      ])
      .execute();
  }
}

/** A channel and the seq after which its messages are unread. */
type Range = readonly [channelId: string, after: number];

/** Per channel, a count of unread messages and, when they may mention the user, their text. */
interface UnreadRow {
  readonly channel_id: string;
  readonly n: number | string | bigint;
  /** The one message's text (n = 1), or null for the messages that cannot mention the user. */
  readonly text: string | null;
}

/**
 * Most channels counted in one statement: half SQLite's 500 terms of a compound SELECT
 * (SQLITE_MAX_COMPOUND_SELECT), five bound values each, far below every parameter limit
 * (PostgreSQL's form takes two arrays whatever their length).
 */
const UNREAD_CHUNK = 250;

/** The exact test of a mention: `@name`, any case, not followed by a letter, digit or `_`. */
function mentionTest(mention: string): RegExp {
  const escaped = mention.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`@${escaped}(?![\\p{L}\\p{N}_])`, 'iu');
}

/**
 * A LIKE pattern that every text `mentionTest` accepts matches, so only the texts that may
 * mention the user leave the database and `mentionTest` decides. Each character of the name
 * stays when it is an ASCII letter or digit whose only case-insensitive equal is its other
 * case; any other becomes `_` (any one character). (JavaScript's case folding makes K, KELVIN
 * SIGN, equal k and ſ, LONG S, equal s: k and s become `_` too.) The databases compare the
 * ASCII letters case-insensitively and keep every other character one character: SQLite's
 * LIKE, MariaDB's utf8mb4_unicode_ci and PostgreSQL's ILIKE under the "C" collation (a locale's
 * or ICU's full case mapping could change a string's length; "C" folds ASCII only).
 */
function mentionLike(mention: string): string {
  let pattern = '%@';
  for (const c of mention) pattern += /^[a-jl-rt-zA-JL-RT-Z0-9]$/.test(c) ? c.toLowerCase() : '_';
  return `${pattern}%`;
}
