// `KyselyStore`'s webhook outbox: deliveries written by changes (or enqueued alone), claimed
// with a lease by the nodes that send them, settled, listed and replayed.
import type { Kysely } from 'kysely';
import { INSERT_CHUNK } from './chunk-sizes.js';
import type { KyselyRunner } from './kysely-runner.js';
import { toInt } from './message-row.js';
import type { NewWebhook, WebhookDelivery, WebhookOutcome, WebhookRouting, WebhookState } from './store.js';
import type { StoreTables } from './store-tables.js';
import { type NewWebhookRow, webhookRow } from './webhook-rows.js';

/** The routing the store's writes read: changed by `routeWebhooks`, shared by its aggregates. */
export interface WebhookRoutingRef {
  routing: WebhookRouting | undefined;
}

/** The longest `last_error` kept (the column's width). */
const MAX_ERROR = 500;

/** Inserts outbox rows on `trx` (a change's own transaction, or alone). */
export async function insertWebhookRows(
  trx: Kysely<StoreTables>,
  rows: readonly NewWebhookRow[],
): Promise<void> {
  for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
    await trx
      .insertInto('webhook_outbox')
      .values(rows.slice(start, start + INSERT_CHUNK).map((row) => ({ ...row })))
      .execute();
  }
}

/** The webhook outbox of a `KyselyStore`; each method is the `Store` method of its name. */
export class KyselyOutbox {
  readonly #run: KyselyRunner;

  constructor(run: KyselyRunner) {
    this.#run = run;
  }

  enqueueWebhooks(deliveries: readonly NewWebhook[]): Promise<void> {
    if (deliveries.length === 0) return Promise.resolve();
    const rows = deliveries.map(webhookRow);
    return this.#run.write('queueing webhooks', (trx) => insertWebhookRows(trx, rows));
  }

  claimWebhooks(claim: {
    readonly owner: string;
    readonly limit: number;
    readonly leaseMs: number;
    readonly now: number;
  }): Promise<readonly WebhookDelivery[]> {
    return this.#run.guard('claiming webhooks', async () => {
      const due = await this.#run.db
        .selectFrom('webhook_outbox')
        .select('id')
        .where('state', '=', 'pending')
        .where('next_attempt_at', '<=', claim.now)
        .orderBy('next_attempt_at')
        .limit(claim.limit)
        .execute();
      if (due.length === 0) return [];
      // The rows this claim won are the ones that carry its owner. The `due` condition again
      // makes two concurrent claims of one row give it to one of them: the second UPDATE waits
      // for the first's row lock, then finds the row no longer due.
      const token = claim.owner;
      await this.#run.writeGuard('claiming webhooks', () =>
        this.#run.writer
          .updateTable('webhook_outbox')
          .set({ claimed_by: token, next_attempt_at: claim.now + claim.leaseMs })
          .where(
            'id',
            'in',
            due.map((r) => r.id),
          )
          .where('state', '=', 'pending')
          .where('next_attempt_at', '<=', claim.now)
          .execute(),
      );
      const rows = await this.#run.writer
        .selectFrom('webhook_outbox')
        .selectAll()
        .where('claimed_by', '=', token)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toDelivery);
    });
  }

  settleWebhook(id: string, owner: string, outcome: WebhookOutcome): Promise<boolean> {
    return this.#run.writeGuard('settling a webhook', async () => {
      if (outcome.kind === 'delivered') {
        const r = await this.#run.writer
          .deleteFrom('webhook_outbox')
          .where('id', '=', id)
          .where('claimed_by', '=', owner)
          .executeTakeFirst();
        return r.numDeletedRows > 0n;
      }
      const error = outcome.error.slice(0, MAX_ERROR);
      const r = await this.#run.writer
        .updateTable('webhook_outbox')
        .set((eb) => ({
          attempts: eb('attempts', '+', 1),
          claimed_by: null,
          last_error: error,
          ...(outcome.kind === 'retry' ? { next_attempt_at: outcome.at } : { state: 'dead' }),
        }))
        .where('id', '=', id)
        .where('claimed_by', '=', owner)
        .executeTakeFirst();
      return r.numUpdatedRows > 0n;
    });
  }

  listWebhooks(query: {
    readonly state: WebhookState;
    readonly limit: number;
    readonly after?: string;
  }): Promise<readonly WebhookDelivery[]> {
    return this.#run.guard('listing webhooks', async () => {
      let q = this.#run.db
        .selectFrom('webhook_outbox')
        .selectAll()
        .where('state', '=', query.state)
        .orderBy('id')
        .limit(query.limit);
      if (query.after !== undefined) q = q.where('id', '>', query.after);
      return (await q.execute()).map(toDelivery);
    });
  }

  replayWebhooks(ids: readonly string[] | undefined, now: number, expiresAt: number): Promise<number> {
    if (ids !== undefined && ids.length === 0) return Promise.resolve(0);
    return this.#run.writeGuard('replaying webhooks', async () => {
      let q = this.#run.writer
        .updateTable('webhook_outbox')
        .set({
          state: 'pending',
          attempts: 0,
          next_attempt_at: now,
          expires_at: expiresAt,
          claimed_by: null,
        })
        .where('state', '=', 'dead');
      if (ids !== undefined) q = q.where('id', 'in', [...ids]);
      const r = await q.executeTakeFirst();
      return Number(r.numUpdatedRows);
    });
  }

  countWebhooks(): Promise<{ readonly pending: number; readonly dead: number }> {
    return this.#run.guard('counting webhooks', async () => {
      const rows = await this.#run.db
        .selectFrom('webhook_outbox')
        .select((eb) => ['state', eb.fn.countAll<number | string>().as('n')])
        .groupBy('state')
        .execute();
      const of = (state: WebhookState) => toInt(rows.find((r) => r.state === state)?.n ?? 0);
      return { pending: of('pending'), dead: of('dead') };
    });
  }
}

function toDelivery(row: {
  readonly id: string;
  readonly event_id: string;
  readonly type: string;
  readonly url: string;
  readonly body: string;
  readonly headers: string | null;
  readonly created_at: number | string;
  readonly expires_at: number | string;
  readonly attempts: number;
  readonly next_attempt_at: number | string;
  readonly state: string;
  readonly last_error: string | null;
  readonly claimed_by: string | null;
}): WebhookDelivery {
  return {
    id: row.id,
    eventId: row.event_id,
    type: row.type,
    url: row.url,
    body: row.body,
    headers: row.headers === null ? null : (JSON.parse(row.headers) as Record<string, string>),
    createdAt: toInt(row.created_at),
    expiresAt: toInt(row.expires_at),
    attempts: toInt(row.attempts),
    nextAttemptAt: toInt(row.next_attempt_at),
    state: row.state === 'dead' ? 'dead' : 'pending',
    lastError: row.last_error,
    claimedBy: row.claimed_by,
  };
}
