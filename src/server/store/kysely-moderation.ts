// `KyselyStore`'s moderation aggregate (issue 17): bans and mutes, slow mode and post slots,
// word-filter lists and message reports.
import type { Kysely, Selectable } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { ParleyError } from '../../protocol/error-catalogue.js';
import { checkLength, MAX_CHANNEL_ID, MAX_CLIENT_MSG_ID, MAX_USER_ID } from './check-length.js';
import { insertWebhookRows, type WebhookRoutingRef } from './kysely-outbox.js';
import type { KyselyRunner } from './kysely-runner.js';
import { toInt } from './message-row.js';
import {
  type ChannelModeration,
  type FilterAction,
  MAX_MODERATION_REASON,
  type MessageReport,
  type ModerationStore,
  type ReportState,
  type Sanction,
  type SanctionKind,
  type WordFilterList,
} from './moderation-store.js';
import type { MessageReportsTable, StoreTables } from './store-tables.js';
import { parleyWebhooks, webhookRow } from './webhook-rows.js';

const SANCTION_EVENTS: Readonly<Record<SanctionKind, { on: string; off: string }>> = {
  ban: { on: 'member.banned', off: 'member.unbanned' },
  mute: { on: 'member.muted', off: 'member.unmuted' },
};

/** The moderation tables of a `KyselyStore`; each method is the `ModerationStore` method of its name. */
export class KyselyModeration implements ModerationStore {
  readonly #run: KyselyRunner;
  readonly #webhooks: WebhookRoutingRef;

  constructor(run: KyselyRunner, webhooks: WebhookRoutingRef) {
    this.#run = run;
    this.#webhooks = webhooks;
  }

  sanction(s: Sanction): Promise<void> {
    checkLength('channel id', s.channelId, MAX_CHANNEL_ID);
    checkLength('user id', s.userId, MAX_USER_ID);
    checkLength('user id', s.by, MAX_USER_ID);
    if (s.reason !== null) checkLength('reason', s.reason, MAX_MODERATION_REASON);
    return this.#run.write('saving a ban or mute', async (trx) => {
      const key = { channel_id: s.channelId, user_id: s.userId, kind: s.kind };
      await trx
        .deleteFrom('channel_sanctions')
        .where('channel_id', '=', s.channelId)
        .where('user_id', '=', s.userId)
        .where('kind', '=', s.kind)
        .execute();
      await trx
        .insertInto('channel_sanctions')
        .values({ ...key, until: s.until, reason: s.reason, created_by: s.by, created_at: s.createdAt })
        .execute();
      await this.#announce(trx, SANCTION_EVENTS[s.kind].on, s.createdAt, {
        channel: s.channelId,
        user_id: s.userId,
        until: s.until,
        reason: s.reason,
        by: s.by,
      });
    });
  }

  lift(channelId: string, userId: string, kind: SanctionKind, by: string, now: number): Promise<boolean> {
    return this.#run.write('lifting a ban or mute', async (trx) => {
      const row = await trx
        .selectFrom('channel_sanctions')
        .select('until')
        .where('channel_id', '=', channelId)
        .where('user_id', '=', userId)
        .where('kind', '=', kind)
        .executeTakeFirst();
      if (row === undefined) return false;
      await trx
        .deleteFrom('channel_sanctions')
        .where('channel_id', '=', channelId)
        .where('user_id', '=', userId)
        .where('kind', '=', kind)
        .execute();
      if (row.until !== null && toInt(row.until) <= now) return false;
      await this.#announce(trx, SANCTION_EVENTS[kind].off, now, { channel: channelId, user_id: userId, by });
      return true;
    });
  }

  channelModeration(channelId: string, now: number): Promise<ChannelModeration> {
    return this.#run.guard('reading a channel’s moderation', async () => {
      const rows = await this.#run.db
        .selectFrom('channel_sanctions')
        .selectAll()
        .where('channel_id', '=', channelId)
        .where((eb) => eb.or([eb('until', 'is', null), eb('until', '>', now)]))
        .orderBy('user_id')
        .orderBy('kind')
        .execute();
      const slow = await this.#run.db
        .selectFrom('channel_slow_mode')
        .select('seconds')
        .where('channel_id', '=', channelId)
        .executeTakeFirst();
      return {
        sanctions: rows.map((row) => ({
          channelId: row.channel_id,
          userId: row.user_id,
          kind: row.kind === 'ban' ? 'ban' : 'mute',
          until: row.until === null ? null : toInt(row.until),
          reason: row.reason,
          by: row.created_by,
          createdAt: toInt(row.created_at),
        })),
        slowModeSeconds: slow === undefined ? 0 : Number(slow.seconds),
      };
    });
  }

  setSlowMode(channelId: string, seconds: number): Promise<void> {
    return this.#run.write('setting slow mode', async (trx) => {
      await trx.deleteFrom('channel_slow_mode').where('channel_id', '=', channelId).execute();
      if (seconds > 0) {
        try {
          await trx.insertInto('channel_slow_mode').values({ channel_id: channelId, seconds }).execute();
        } catch (error) {
          throw new ParleyError('not_found', `channel ${channelId} does not exist`, { cause: error });
        }
      }
    });
  }

  takePostSlot(slot: {
    readonly channelId: string;
    readonly userId: string;
    readonly clientMsgId: string | null;
    readonly now: number;
    readonly windowMs: number;
  }): Promise<number> {
    const { channelId, userId, clientMsgId, now, windowMs } = slot;
    if (clientMsgId !== null) checkLength('client_msg_id', clientMsgId, MAX_CLIENT_MSG_ID);
    return this.#run.writeGuard('taking a slow-mode slot', async () => {
      const db = this.#run.writer;
      // The one statement that decides, atomically per row on every database: two nodes racing
      // both run it, and the second sees the first's new time.
      const updated = await db
        .updateTable('channel_post_times')
        .set({ last_post_at: now, client_msg_id: clientMsgId })
        .where('channel_id', '=', channelId)
        .where('user_id', '=', userId)
        .where('last_post_at', '<=', now - windowMs)
        .executeTakeFirst();
      if (updated.numUpdatedRows > 0n) return 0;
      const insert = db
        .insertInto('channel_post_times')
        .values({ channel_id: channelId, user_id: userId, last_post_at: now, client_msg_id: clientMsgId });
      const inserted = await (this.#run.caps.upsert === 'on-conflict'
        ? insert.onConflict((oc) => oc.doNothing())
        : insert.ignore()
      ).executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) return 0;
      const row = await db
        .selectFrom('channel_post_times')
        .select(['last_post_at', 'client_msg_id'])
        .where('channel_id', '=', channelId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      if (row === undefined) return 1;
      if (clientMsgId !== null && row.client_msg_id === clientMsgId) return 0;
      return Math.max(1, toInt(row.last_post_at) + windowMs - now);
    });
  }

  wordFilters(): Promise<readonly WordFilterList[]> {
    return this.#run.guard('reading word filters', async () => {
      const rows = await this.#run.db.selectFrom('word_filters').selectAll().orderBy('scope').execute();
      return rows.map((row) => ({
        channelId: row.scope === '' ? null : row.scope,
        words: parseWords(row.words),
        action: (row.action === 'mask' ? 'mask' : 'reject') satisfies FilterAction,
        updatedAt: toInt(row.updated_at),
      }));
    });
  }

  putWordFilter(list: WordFilterList): Promise<void> {
    const scope = list.channelId ?? '';
    checkLength('channel id', scope, MAX_CHANNEL_ID);
    return this.#run.write('saving word filters', async (trx) => {
      await trx.deleteFrom('word_filters').where('scope', '=', scope).execute();
      if (list.words.length === 0) return;
      await trx
        .insertInto('word_filters')
        .values({ scope, words: JSON.stringify(list.words), action: list.action, updated_at: list.updatedAt })
        .execute();
    });
  }

  report(r: Parameters<ModerationStore['report']>[0]): Promise<MessageReport> {
    checkLength('reason', r.reason, MAX_MODERATION_REASON);
    checkLength('user id', r.reporterId, MAX_USER_ID);
    const report: MessageReport = {
      id: uuidv7(),
      channelId: r.channelId,
      messageId: r.messageId,
      reporterId: r.reporterId,
      reason: r.reason,
      state: 'open',
      createdAt: r.now,
      settledAt: null,
      settledBy: null,
    };
    return this.#run.write('saving a report', async (trx) => {
      await trx
        .insertInto('message_reports')
        .values({
          id: report.id,
          channel_id: report.channelId,
          message_id: report.messageId,
          reporter_id: report.reporterId,
          reason: report.reason,
          state: report.state,
          created_at: report.createdAt,
          settled_at: null,
          settled_by: null,
        })
        .execute();
      await this.#announce(trx, 'message.reported', r.now, {
        report: reportView(report),
        message: r.message,
      });
      return report;
    });
  }

  listReports(query: {
    readonly state: ReportState;
    readonly limit: number;
    readonly after?: string | undefined;
  }): Promise<readonly MessageReport[]> {
    return this.#run.guard('listing reports', async () => {
      let q = this.#run.db.selectFrom('message_reports').selectAll().where('state', '=', query.state);
      if (query.after !== undefined) q = q.where('id', '>', query.after);
      const rows = await q.orderBy('id').limit(query.limit).execute();
      return rows.map(toReport);
    });
  }

  settleReport(
    id: string,
    state: 'resolved' | 'dismissed',
    by: string,
    now: number,
  ): Promise<MessageReport | undefined> {
    return this.#run.write('settling a report', async (trx) => {
      const updated = await trx
        .updateTable('message_reports')
        .set({ state, settled_at: now, settled_by: by })
        .where('id', '=', id)
        .where('state', '=', 'open')
        .executeTakeFirst();
      const row = await trx.selectFrom('message_reports').selectAll().where('id', '=', id).executeTakeFirst();
      if (row === undefined) return undefined;
      if (updated.numUpdatedRows === 0n)
        throw new ParleyError('conflict', `report ${id} is ${row.state} already`);
      return toReport(row);
    });
  }

  async #announce(
    trx: Kysely<StoreTables>,
    type: string,
    now: number,
    data: Readonly<Record<string, unknown>>,
  ): Promise<void> {
    const routing = this.#webhooks.routing;
    if (routing === undefined) return;
    await insertWebhookRows(trx, parleyWebhooks(routing, type, data, now).map(webhookRow));
  }
}

/** A report as the API and webhooks show it. */
export function reportView(report: MessageReport): Readonly<Record<string, unknown>> {
  return {
    id: report.id,
    channel: report.channelId,
    message_id: report.messageId,
    reporter_id: report.reporterId,
    reason: report.reason,
    state: report.state,
    created_at: report.createdAt,
    settled_at: report.settledAt,
    settled_by: report.settledBy,
  };
}

function toReport(row: Selectable<MessageReportsTable>): MessageReport {
  const state: ReportState = row.state === 'resolved' || row.state === 'dismissed' ? row.state : 'open';
  return {
    id: row.id,
    channelId: row.channel_id,
    messageId: row.message_id,
    reporterId: row.reporter_id,
    reason: row.reason,
    state,
    createdAt: toInt(row.created_at),
    settledAt: row.settled_at === null ? null : toInt(row.settled_at),
    settledBy: row.settled_by,
  };
}

function parseWords(json: string): readonly string[] {
  const value: unknown = JSON.parse(json);
  if (!Array.isArray(value)) return [];
  return value.filter((w): w is string => typeof w === 'string');
}
