// `KyselyStore`'s channels/members aggregate: channels, their members and roles, and the
// channels a user sees.
import { randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { ParleyError } from '../../protocol/error-catalogue.js';
import { type ChannelKind, ROLES, type Role } from '../../protocol/frames.js';
import { checkLength, MAX_CHANNEL_ID, MAX_TITLE, MAX_TOPIC, MAX_USER_ID } from './check-length.js';
import { classifyDatabaseError } from './classify-database-error.js';
import { insertWebhookRows, type WebhookRoutingRef } from './kysely-outbox.js';
import type { KyselyRunner } from './kysely-runner.js';
import { toInt } from './message-row.js';
import type { ChannelPatch, StoredChannel, StoredMember } from './store.js';
import type { ChannelsTable, StoreTables } from './store-tables.js';
import { memberWebhooks, webhookRow } from './webhook-rows.js';

const KINDS: readonly ChannelKind[] = ['public', 'private', 'dm'];

/** The channels and memberships of a `KyselyStore`; each method is the `Store` method of its name. */
export class KyselyChannels {
  readonly #run: KyselyRunner;
  readonly #webhooks: WebhookRoutingRef;

  constructor(run: KyselyRunner, webhooks: WebhookRoutingRef) {
    this.#run = run;
    this.#webhooks = webhooks;
  }

  async createChannel(channel: {
    readonly id: string;
    readonly kind: ChannelKind;
    readonly title: string;
    readonly owner: string | null;
    readonly topic?: string;
  }): Promise<StoredChannel> {
    checkLength('channel id', channel.id, MAX_CHANNEL_ID);
    checkLength('channel title', channel.title, MAX_TITLE);
    checkLength('channel topic', channel.topic ?? '', MAX_TOPIC);
    if (channel.owner !== null) checkLength('user id', channel.owner, MAX_USER_ID);
    return this.#run.guard('creating a channel', async () => {
      const stored: StoredChannel = {
        id: channel.id,
        kind: channel.kind,
        title: channel.title,
        epoch: randomBytes(8).toString('hex'),
        lastSeq: 0,
        createdBy: channel.owner,
        createdAt: Date.now(),
        topic: channel.topic ?? '',
        archived: false,
        retentionDays: null,
        prunedSeq: 0,
      };
      try {
        await this.#run.transaction(async (trx) => {
          await trx
            .insertInto('channels')
            .values({
              id: stored.id,
              kind: stored.kind,
              title: stored.title,
              epoch: stored.epoch,
              last_seq: 0,
              created_by: stored.createdBy,
              created_at: stored.createdAt,
              topic: stored.topic,
            })
            .execute();
          if (channel.owner !== null) {
            await trx
              .insertInto('members')
              .values({
                channel_id: stored.id,
                user_id: channel.owner,
                role: 'owner',
                joined_at: stored.createdAt,
              })
              .execute();
          }
        });
      } catch (error) {
        const kind = classifyDatabaseError(error);
        if (kind === 'unique_violation') {
          throw new ParleyError('conflict', `channel ${channel.id} already exists`, { cause: error });
        }
        if (kind === 'foreign_key_violation') {
          throw new ParleyError('not_found', `user ${channel.owner} does not exist`, { cause: error });
        }
        throw error;
      }
      return stored;
    });
  }

  getChannel(id: string): Promise<StoredChannel | undefined> {
    return this.#run.guard('reading a channel', async () => {
      const row = await this.#run.db
        .selectFrom('channels')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row === undefined ? undefined : toChannel(row);
    });
  }

  listChannelsFor(userId: string): Promise<readonly (StoredChannel & { readonly role: Role | null })[]> {
    return this.#run.guard('listing channels', async () => {
      const rows = await this.#run.db
        .selectFrom('channels as c')
        .leftJoin('members as m', (join) =>
          join.onRef('m.channel_id', '=', 'c.id').on('m.user_id', '=', userId),
        )
        .selectAll('c')
        .select('m.role')
        .where((eb) => eb.or([eb('c.kind', '=', 'public'), eb('m.user_id', 'is not', null)]))
        .orderBy('c.id')
        .execute();
      return rows.map((row) => ({ ...toChannel(row), role: row.role === null ? null : toRole(row.role) }));
    });
  }

  updateChannel(id: string, patch: ChannelPatch): Promise<StoredChannel> {
    if (patch.title !== undefined) checkLength('channel title', patch.title, MAX_TITLE);
    if (patch.topic !== undefined) checkLength('channel topic', patch.topic, MAX_TOPIC);
    return this.#run.write('updating a channel', async (trx) => {
      const set: { title?: string; topic?: string; archived?: number; retention_days?: number | null } = {};
      if (patch.title !== undefined) set.title = patch.title;
      if (patch.topic !== undefined) set.topic = patch.topic;
      if (patch.archived !== undefined) set.archived = patch.archived ? 1 : 0;
      if (patch.retentionDays !== undefined) set.retention_days = patch.retentionDays;
      if (Object.keys(set).length > 0)
        await trx.updateTable('channels').set(set).where('id', '=', id).execute();
      const row = await trx.selectFrom('channels').selectAll().where('id', '=', id).executeTakeFirst();
      if (row === undefined) throw new ParleyError('not_found', `channel ${id} does not exist`);
      return toChannel(row);
    });
  }

  getRole(channelId: string, userId: string): Promise<Role | undefined> {
    return this.#run.guard('reading a role', async () => {
      const row = await this.#run.db
        .selectFrom('members')
        .select('role')
        .where('channel_id', '=', channelId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return row === undefined ? undefined : toRole(row.role);
    });
  }

  /**
   * With webhooks routed, the change and its `member.*` outbox rows commit together: the role
   * before is read in the same transaction (locked, where the database has row locks), so the
   * event says what really changed.
   */
  setMember(channelId: string, userId: string, role: Role): Promise<void> {
    const routing = this.#webhooks.routing;
    const save = async (db: Kysely<StoreTables>): Promise<void> => {
      const previous = routing === undefined ? undefined : await this.#roleFor(db, channelId, userId);
      const insert = db
        .insertInto('members')
        .values({ channel_id: channelId, user_id: userId, role, joined_at: Date.now() });
      const upsert =
        this.#run.caps.upsert === 'on-conflict'
          ? insert.onConflict((oc) => oc.columns(['channel_id', 'user_id']).doUpdateSet({ role }))
          : insert.onDuplicateKeyUpdate({ role });
      try {
        await upsert.execute();
      } catch (error) {
        if (classifyDatabaseError(error) === 'foreign_key_violation') {
          throw new ParleyError('not_found', `channel ${channelId} or user ${userId} does not exist`, {
            cause: error,
          });
        }
        throw error;
      }
      if (routing !== undefined) {
        const events = memberWebhooks(routing, channelId, userId, role, previous, Date.now());
        await insertWebhookRows(db, events.map(webhookRow));
      }
    };
    // SQLite's upserts of a tick share one transaction already.
    if (routing === undefined || this.#run.caps.databaseWriteLock)
      return this.#run.upsert('saving a member', save);
    return this.#run.write('saving a member', save);
  }

  removeMember(channelId: string, userId: string): Promise<boolean> {
    const routing = this.#webhooks.routing;
    if (routing === undefined) {
      return this.#run.writeGuard('removing a member', async () => {
        const result = await this.#run.writer
          .deleteFrom('members')
          .where('channel_id', '=', channelId)
          .where('user_id', '=', userId)
          .executeTakeFirst();
        return result.numDeletedRows > 0n;
      });
    }
    return this.#run.write('removing a member', async (trx) => {
      const previous = await this.#roleFor(trx, channelId, userId);
      if (previous === undefined) return false;
      await trx
        .deleteFrom('members')
        .where('channel_id', '=', channelId)
        .where('user_id', '=', userId)
        .execute();
      const events = memberWebhooks(routing, channelId, userId, null, previous, Date.now());
      await insertWebhookRows(trx, events.map(webhookRow));
      return true;
    });
  }

  /** The user's role read in a write's transaction, locked until it ends where rows lock. */
  async #roleFor(db: Kysely<StoreTables>, channelId: string, userId: string): Promise<Role | undefined> {
    let q = db
      .selectFrom('members')
      .select('role')
      .where('channel_id', '=', channelId)
      .where('user_id', '=', userId);
    if (!this.#run.caps.databaseWriteLock) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row === undefined ? undefined : toRole(row.role);
  }

  listMembers(channelId: string): Promise<readonly StoredMember[]> {
    return this.#run.guard('listing members', async () => {
      const rows = await this.#run.db
        .selectFrom('members as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select(['m.channel_id', 'm.user_id', 'u.username', 'm.role', 'm.joined_at'])
        .where('m.channel_id', '=', channelId)
        .orderBy('m.user_id')
        .execute();
      return rows.map((row) => ({
        channelId: row.channel_id,
        userId: row.user_id,
        username: row.username,
        role: toRole(row.role),
        joinedAt: toInt(row.joined_at),
      }));
    });
  }
}

function toRole(value: string): Role {
  const role = ROLES.find((r) => r === value);
  if (role === undefined) throw new Error(`database holds an unknown role: ${value}`);
  return role;
}

function toKind(value: string): ChannelKind {
  const kind = KINDS.find((k) => k === value);
  if (kind === undefined) throw new Error(`database holds an unknown channel kind: ${value}`);
  return kind;
}

function toChannel(row: Selectable<ChannelsTable>): StoredChannel {
  return {
    id: row.id,
    kind: toKind(row.kind),
    title: row.title,
    epoch: row.epoch,
    lastSeq: toInt(row.last_seq),
    createdBy: row.created_by,
    createdAt: toInt(row.created_at),
    topic: row.topic,
    archived: Number(row.archived) !== 0,
    retentionDays: row.retention_days === null ? null : toInt(row.retention_days),
    prunedSeq: toInt(row.pruned_seq),
  };
}
