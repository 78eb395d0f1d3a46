// `KyselyStore`'s Web Push records: subscriptions, levels, the pending pushes and their claims,
// the per-user rate window and the VAPID keys (see `PushStore`).
import { createHash, randomUUID } from 'node:crypto';
import { type Insertable, type Kysely, sql } from 'kysely';
import { INSERT_CHUNK } from './chunk-sizes.js';
import type { KyselyRunner } from './kysely-runner.js';
import { toInt } from './message-row.js';
import {
  type NewPushSubscription,
  type PendingPush,
  PUSH_LEVELS,
  type PushCandidate,
  type PushEntry,
  type PushLevel,
  type PushSettlement,
  type PushStore,
  type StoredPushSubscription,
} from './push-store.js';
import type { PushPendingTable, StoreTables } from './store-tables.js';

const VAPID_ROW = 'vapid';
/** Candidates looked up in one statement (far below every dialect's parameter limit). */
const CANDIDATE_CHUNK = 500;

/** The `PushStore` of a `KyselyStore`; each method is the `PushStore` method of its name. */
export class KyselyPush implements PushStore {
  readonly #run: KyselyRunner;

  constructor(run: KyselyRunner) {
    this.#run = run;
  }

  vapidKeys(
    generate: () => { readonly publicKey: string; readonly privateKey: string },
    now: number,
  ): Promise<{ readonly publicKey: string; readonly privateKey: string }> {
    return this.#run.write('reading the VAPID keys', async (trx) => {
      const found = await selectKeys(trx);
      if (found !== undefined) return found;
      const pair = generate();
      const insert = trx.insertInto('push_keys').values({
        id: VAPID_ROW,
        public_key: pair.publicKey,
        private_key: pair.privateKey,
        created_at: now,
      });
      // A node that lost the race keeps the winner's pair.
      await (this.#run.caps.upsert === 'on-conflict'
        ? insert.onConflict((oc) => oc.doNothing())
        : insert.ignore()
      ).execute();
      const stored = await selectKeys(trx);
      if (stored === undefined) throw new Error('the VAPID keys were not stored');
      return stored;
    });
  }

  savePushSubscription(sub: NewPushSubscription, max: number, now: number): Promise<StoredPushSubscription> {
    return this.#run.write('saving a push subscription', async (trx) => {
      const hash = endpointHash(sub.endpoint);
      await trx.deleteFrom('push_subscriptions').where('endpoint_hash', '=', hash).execute();
      const row = {
        id: randomUUID(),
        user_id: sub.userId,
        endpoint_hash: hash,
        endpoint: sub.endpoint,
        p256dh: sub.p256dh,
        auth: sub.auth,
        created_at: now,
      };
      await trx.insertInto('push_subscriptions').values(row).execute();
      const rows = await trx
        .selectFrom('push_subscriptions')
        .select('id')
        .where('user_id', '=', sub.userId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute();
      // The new one, and the newest others up to `max` in all (it is kept even when others
      // share its millisecond).
      const others = rows.filter((r) => r.id !== row.id).map((r) => r.id);
      const old = others.slice(Math.max(0, max - 1));
      if (old.length > 0) await trx.deleteFrom('push_subscriptions').where('id', 'in', old).execute();
      return toSubscription(row);
    });
  }

  deletePushSubscription(userId: string, endpoint: string): Promise<boolean> {
    return this.#run.writeGuard('removing a push subscription', async () => {
      const r = await this.#run.writer
        .deleteFrom('push_subscriptions')
        .where('endpoint_hash', '=', endpointHash(endpoint))
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return r.numDeletedRows > 0n;
    });
  }

  async dropPushSubscription(id: string): Promise<void> {
    await this.#run.writeGuard('dropping a push subscription', () =>
      this.#run.writer.deleteFrom('push_subscriptions').where('id', '=', id).execute(),
    );
  }

  pushSubscriptionsOf(userId: string): Promise<readonly StoredPushSubscription[]> {
    return this.#run.guard('reading push subscriptions', async () => {
      const rows = await this.#run.db
        .selectFrom('push_subscriptions')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toSubscription);
    });
  }

  async setPushLevel(userId: string, channelId: string, level: PushLevel | null): Promise<void> {
    await this.#run.write('saving a push level', async (trx) => {
      await trx
        .deleteFrom('push_settings')
        .where('user_id', '=', userId)
        .where('channel_id', '=', channelId)
        .execute();
      if (level !== null)
        await trx
          .insertInto('push_settings')
          .values({ user_id: userId, channel_id: channelId, level })
          .execute();
    });
  }

  pushLevel(userId: string, channelId: string): Promise<PushLevel | null> {
    return this.#run.guard('reading a push level', async () => {
      const row = await this.#run.db
        .selectFrom('push_settings')
        .select('level')
        .where('user_id', '=', userId)
        .where('channel_id', '=', channelId)
        .executeTakeFirst();
      return row === undefined ? null : toLevel(row.level);
    });
  }

  pushCandidates(query: {
    readonly channelId: string;
    readonly senderId: string;
    readonly members: boolean;
    readonly mentioned: readonly string[];
  }): Promise<readonly PushCandidate[]> {
    return this.#run.guard('finding whom to push', async () => {
      const db = this.#run.db;
      // Each source on its own index (a message with no mention in a public channel costs one
      // lookup of the channel's "all" choosers); only a mention looks through usernames.
      const ids = new Set<string>();
      const all = await db
        .selectFrom('push_settings')
        .select('user_id')
        .where('channel_id', '=', query.channelId)
        .where('level', '=', 'all')
        .execute();
      for (const r of all) ids.add(r.user_id);
      if (query.members) {
        const members = await db
          .selectFrom('members')
          .select('user_id')
          .where('channel_id', '=', query.channelId)
          .execute();
        for (const r of members) ids.add(r.user_id);
      }
      if (query.mentioned.length > 0) {
        const named = await db
          .selectFrom('users')
          .select('id')
          .where((eb) => eb(eb.fn('lower', ['username']), 'in', [...query.mentioned]))
          .execute();
        for (const r of named) ids.add(r.id);
      }
      ids.delete(query.senderId);
      if (ids.size === 0) return [];
      const found: PushCandidate[] = [];
      const wanted = [...ids];
      for (let start = 0; start < wanted.length; start += CANDIDATE_CHUNK) {
        const chunk = wanted.slice(start, start + CANDIDATE_CHUNK);
        const rows = await db
          .selectFrom('users as u')
          .leftJoin('push_settings as ps', (join) =>
            join.onRef('ps.user_id', '=', 'u.id').on('ps.channel_id', '=', query.channelId),
          )
          .select(['u.id as user_id', 'u.username as username', 'ps.level as level'])
          .where('u.id', 'in', chunk)
          .where((eb) =>
            eb.exists(
              eb
                .selectFrom('push_subscriptions as s')
                .select(sql`1`.as('one'))
                .whereRef('s.user_id', '=', 'u.id'),
            ),
          )
          .execute();
        for (const r of rows)
          found.push({
            userId: r.user_id,
            username: r.username,
            level: r.level === null ? null : toLevel(r.level),
          });
      }
      return found;
    });
  }

  async queuePushes(entries: readonly PushEntry[], now: number, dueAt: number): Promise<void> {
    if (entries.length === 0) return;
    // One row per user and channel (PostgreSQL refuses an upsert that meets one row twice).
    const folded = new Map<string, { entry: PushEntry; messages: number; urgent: boolean }>();
    for (const e of entries) {
      const key = `${e.userId}\u0000${e.channelId}`;
      const had = folded.get(key);
      if (had === undefined) folded.set(key, { entry: e, messages: 1, urgent: e.urgent });
      else {
        had.messages++;
        had.urgent ||= e.urgent;
        if (e.seq > had.entry.seq) had.entry = e;
      }
    }
    const rows = [...folded.values()].map(({ entry, messages, urgent }) => ({
      user_id: entry.userId,
      channel_id: entry.channelId,
      last_seq: entry.seq,
      last_message_id: entry.messageId,
      messages,
      urgent: urgent ? 1 : 0,
      created_at: now,
      due_at: dueAt,
      claimed_by: null,
    }));
    await this.#run.write('queueing pushes', async (trx) => {
      for (let start = 0; start < rows.length; start += INSERT_CHUNK)
        await this.#queueRows(trx, rows.slice(start, start + INSERT_CHUNK));
    });
  }

  async #queueRows(trx: Kysely<StoreTables>, rows: readonly Insertable<PushPendingTable>[]): Promise<void> {
    const insert = trx.insertInto('push_pending').values([...rows]);
    if (this.#run.caps.upsert === 'on-conflict') {
      await insert
        .onConflict((oc) =>
          oc.columns(['user_id', 'channel_id']).doUpdateSet({
            last_message_id: sql<string>`case when excluded.last_seq > push_pending.last_seq then excluded.last_message_id else push_pending.last_message_id end`,
            last_seq: sql<number>`case when excluded.last_seq > push_pending.last_seq then excluded.last_seq else push_pending.last_seq end`,
            messages: sql<number>`push_pending.messages + excluded.messages`,
            urgent: sql<number>`case when excluded.urgent > push_pending.urgent then excluded.urgent else push_pending.urgent end`,
          }),
        )
        .execute();
      return;
    }
    // MySQL/MariaDB assign left to right, each seeing the assignments before it: the message id
    // is decided before last_seq changes.
    await insert
      .onDuplicateKeyUpdate({
        last_message_id: sql<string>`case when values(last_seq) > last_seq then values(last_message_id) else last_message_id end`,
        last_seq: sql<number>`greatest(last_seq, values(last_seq))`,
        messages: sql<number>`messages + values(messages)`,
        urgent: sql<number>`greatest(urgent, values(urgent))`,
      })
      .execute();
  }

  claimPushes(claim: {
    readonly owner: string;
    readonly limit: number;
    readonly leaseMs: number;
    readonly now: number;
  }): Promise<readonly PendingPush[]> {
    return this.#run.guard('claiming pushes', async () => {
      const due = await this.#run.db
        .selectFrom('push_pending')
        .select(['user_id', 'channel_id'])
        .where('due_at', '<=', claim.now)
        .orderBy('due_at')
        .limit(claim.limit)
        .execute();
      if (due.length === 0) return [];
      // As the webhook outbox's claims: the `due` condition again gives a row to one claim only.
      await this.#run.writeGuard('claiming pushes', () =>
        this.#run.writer
          .updateTable('push_pending')
          .set({ claimed_by: claim.owner, due_at: claim.now + claim.leaseMs })
          .where((eb) =>
            eb.or(
              due.map((d) => eb.and([eb('user_id', '=', d.user_id), eb('channel_id', '=', d.channel_id)])),
            ),
          )
          .where('due_at', '<=', claim.now)
          .execute(),
      );
      const rows = await this.#run.writer
        .selectFrom('push_pending')
        .selectAll()
        .where('claimed_by', '=', claim.owner)
        .execute();
      return rows.map((r) => ({
        userId: r.user_id,
        channelId: r.channel_id,
        lastSeq: toInt(r.last_seq),
        lastMessageId: r.last_message_id,
        messages: toInt(r.messages),
        urgent: toInt(r.urgent) > 0,
        createdAt: toInt(r.created_at),
        attempts: toInt(r.attempts),
        claimedBy: claim.owner,
      }));
    });
  }

  settlePush(push: PendingPush, outcome: PushSettlement, now: number): Promise<boolean> {
    return this.#run.write('settling a push', async (trx) => {
      const mine = trx
        .updateTable('push_pending')
        .where('user_id', '=', push.userId)
        .where('channel_id', '=', push.channelId)
        .where('claimed_by', '=', push.claimedBy);
      if (outcome.kind === 'later') {
        const r = await mine
          .set((eb) => ({
            claimed_by: null,
            due_at: outcome.at,
            attempts: outcome.failed ? eb('attempts', '+', 1) : eb.ref('attempts'),
          }))
          .executeTakeFirst();
        return r.numUpdatedRows > 0n;
      }
      const gone = await trx
        .deleteFrom('push_pending')
        .where('user_id', '=', push.userId)
        .where('channel_id', '=', push.channelId)
        .where('claimed_by', '=', push.claimedBy)
        .where('last_seq', '=', outcome.lastSeq)
        .executeTakeFirst();
      if (gone.numDeletedRows > 0n) return true;
      // Messages came while it was being sent: they wait for their own grace period.
      const r = await mine
        .set((eb) => ({
          claimed_by: null,
          due_at: now + outcome.graceMs,
          attempts: 0,
          messages: sql<number>`case when ${eb.ref('messages')} > ${outcome.messages} then ${eb.ref('messages')} - ${outcome.messages} else 1 end`,
          urgent: 0,
        }))
        .executeTakeFirst();
      return r.numUpdatedRows > 0n;
    });
  }

  async takePushBudget(
    userId: string,
    windowMs: number,
    max: number,
    now: number,
  ): Promise<number | undefined> {
    const window = Math.floor(now / windowMs) * windowMs;
    // Two single statements, no transaction: an insert-if-missing and then one UPDATE of the row
    // by its key take no gap locks, which made concurrent calls deadlock on MariaDB.
    await this.#run.writeGuard('counting a push', async () => {
      const insert = this.#run.writer
        .insertInto('push_rate')
        .values({ user_id: userId, window_start: window, sent: 0 });
      await (this.#run.caps.upsert === 'on-conflict'
        ? insert.onConflict((oc) => oc.doNothing())
        : insert.ignore()
      ).execute();
    });
    const counted = await this.#run.writeGuard('counting a push', () =>
      this.#run.writer
        .updateTable('push_rate')
        // `sent` first: MySQL/MariaDB assign left to right, each seeing the ones before it.
        .set({
          sent: sql<number>`case when window_start < ${window} then 1 else sent + 1 end`,
          window_start: sql<number>`case when window_start < ${window} then ${window} else window_start end`,
        })
        .where('user_id', '=', userId)
        .where((eb) => eb.or([eb('window_start', '<', window), eb('sent', '<', max)]))
        .executeTakeFirst(),
    );
    return counted.numUpdatedRows > 0n ? undefined : window + windowMs;
  }

  pendingPushes(userId: string): Promise<ReadonlyMap<string, number>> {
    return this.#run.guard('reading pending pushes', async () => {
      const rows = await this.#run.db
        .selectFrom('push_pending')
        .select(['channel_id', 'messages'])
        .where('user_id', '=', userId)
        .execute();
      return new Map(rows.map((r) => [r.channel_id, toInt(r.messages)]));
    });
  }

  userOnline(userId: string): Promise<boolean> {
    return this.#run.guard('reading whether a user is online', async () => {
      const row = await this.#run.db
        .selectFrom('online_users')
        .select('user_id')
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return row !== undefined;
    });
  }
}

/** The key a subscription's endpoint is found by (endpoints are longer than an index allows). */
function endpointHash(endpoint: string): string {
  return createHash('sha256').update(endpoint).digest('hex');
}

async function selectKeys(
  trx: Kysely<StoreTables>,
): Promise<{ readonly publicKey: string; readonly privateKey: string } | undefined> {
  const row = await trx
    .selectFrom('push_keys')
    .select(['public_key', 'private_key'])
    .where('id', '=', VAPID_ROW)
    .executeTakeFirst();
  return row === undefined ? undefined : { publicKey: row.public_key, privateKey: row.private_key };
}

function toLevel(raw: string): PushLevel {
  return (PUSH_LEVELS as readonly string[]).includes(raw) ? (raw as PushLevel) : 'mentions';
}

function toSubscription(row: {
  readonly id: string;
  readonly user_id: string;
  readonly endpoint: string;
  readonly p256dh: string;
  readonly auth: string;
  readonly created_at: number | string;
}): StoredPushSubscription {
  return {
    id: row.id,
    userId: row.user_id,
    endpoint: row.endpoint,
    p256dh: row.p256dh,
    auth: row.auth,
    createdAt: toInt(row.created_at),
  };
}
