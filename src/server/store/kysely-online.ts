// `KyselyStore`'s cluster-wide online state: which nodes hold each user's connections, the
// nodes' heartbeats, and the `user.online` / `user.offline` events of the transitions.
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { insertWebhookRows, type WebhookRoutingRef } from './kysely-outbox.js';
import type { KyselyRunner } from './kysely-runner.js';
import { toInt } from './message-row.js';
import type { StoreTables } from './store-tables.js';
import { parleyWebhooks, webhookRow } from './webhook-rows.js';

/** Users let go per dead node per sweep at most (the next sweep goes on). */
const SWEEP_USERS_MAX = 1000;

/**
 * The online state of a `KyselyStore`; each method is the `Store` method of its name. Every
 * transition runs in one transaction that first writes the user's `online_nodes` row (so two
 * sweepers, or a sweeper and the node itself, cannot both let one node's hold go), then
 * changes the user's node count under its row lock (so a connect on one node and a disconnect
 * on another are serialized), and writes the webhook with it.
 */
export class KyselyOnline {
  readonly #run: KyselyRunner;
  readonly #webhooks: WebhookRoutingRef;

  constructor(run: KyselyRunner, webhooks: WebhookRoutingRef) {
    this.#run = run;
    this.#webhooks = webhooks;
  }

  markOnline(
    node: string,
    user: { readonly id: string; readonly username: string },
    now: number,
  ): Promise<boolean> {
    return this.#run.write('marking a user online', async (trx) => {
      const held = trx.insertInto('online_nodes').values({ user_id: user.id, node_id: node });
      const added = await (this.#run.caps.upsert === 'on-conflict'
        ? held.onConflict((oc) => oc.doNothing())
        : held.ignore()
      ).executeTakeFirst();
      if (Number(added.numInsertedOrUpdatedRows ?? 0) === 0) return false;
      const row = trx
        .insertInto('online_users')
        .values({ user_id: user.id, username: user.username, nodes: 1, since: now });
      await (this.#run.caps.upsert === 'on-conflict'
        ? row.onConflict((oc) =>
            oc.column('user_id').doUpdateSet({ nodes: sql<number>`online_users.nodes + 1` }),
          )
        : row.onDuplicateKeyUpdate({ nodes: sql<number>`nodes + 1` })
      ).execute();
      const nodes = await this.#nodesOf(trx, user.id);
      if (nodes !== 1) return false;
      await this.#announce(trx, 'user.online', user, now);
      return true;
    });
  }

  markOffline(node: string, userId: string, now: number): Promise<boolean> {
    return this.#run.write('marking a user offline', (trx) => this.#letGo(trx, node, userId, now));
  }

  nodeSeen(node: string, at: number): Promise<boolean> {
    return this.#run.write('saving a heartbeat', async (trx) => {
      const r = await trx.updateTable('nodes').set({ seen_at: at }).where('id', '=', node).executeTakeFirst();
      if (r.numUpdatedRows > 0n) return true;
      await trx.insertInto('nodes').values({ id: node, seen_at: at }).execute();
      return false;
    });
  }

  sweepNodes(before: number, now: number): Promise<number> {
    return this.#run.guard('sweeping dead nodes', async () => {
      const dead = await this.#run.db
        .selectFrom('nodes')
        .select('id')
        .where('seen_at', '<', before)
        .execute();
      let offline = 0;
      for (const { id } of dead) {
        const users = await this.#run.db
          .selectFrom('online_nodes')
          .select('user_id')
          .where('node_id', '=', id)
          .limit(SWEEP_USERS_MAX)
          .execute();
        for (const { user_id } of users) {
          if (await this.#run.write('letting a dead node go', (trx) => this.#letGo(trx, id, user_id, now)))
            offline++;
        }
        if (users.length < SWEEP_USERS_MAX) {
          await this.#run.write('forgetting a dead node', (trx) =>
            trx.deleteFrom('nodes').where('id', '=', id).where('seen_at', '<', before).execute(),
          );
        }
      }
      return offline;
    });
  }

  async #letGo(trx: Kysely<StoreTables>, node: string, userId: string, now: number): Promise<boolean> {
    const held = await trx
      .deleteFrom('online_nodes')
      .where('user_id', '=', userId)
      .where('node_id', '=', node)
      .executeTakeFirst();
    if (held.numDeletedRows === 0n) return false;
    await trx
      .updateTable('online_users')
      .set({ nodes: sql<number>`nodes - 1` })
      .where('user_id', '=', userId)
      .execute();
    const row = await trx
      .selectFrom('online_users')
      .select(['nodes', 'username'])
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (row === undefined || toInt(row.nodes) > 0) return false;
    await trx.deleteFrom('online_users').where('user_id', '=', userId).execute();
    await this.#announce(trx, 'user.offline', { id: userId, username: row.username }, now);
    return true;
  }

  async #nodesOf(trx: Kysely<StoreTables>, userId: string): Promise<number> {
    const row = await trx
      .selectFrom('online_users')
      .select('nodes')
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row === undefined ? 0 : toInt(row.nodes);
  }

  async #announce(
    trx: Kysely<StoreTables>,
    type: 'user.online' | 'user.offline',
    user: { readonly id: string; readonly username: string },
    now: number,
  ): Promise<void> {
    const routing = this.#webhooks.routing;
    if (routing === undefined) return;
    const events = parleyWebhooks(routing, type, { user: { id: user.id, username: user.username } }, now);
    await insertWebhookRows(trx, events.map(webhookRow));
  }
}
