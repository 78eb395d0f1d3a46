import { createHash } from 'node:crypto';
import { ParleyError } from '../../protocol/error-catalogue.js';
import type { ChannelDetail, ChannelInfo, Role } from '../../protocol/frames.js';
import { type Bus, CONTROL_TOPIC, channelTopic } from '../bus/bus.js';
import type { Limits } from '../config.js';
import type { ChannelPatch, Store, StoredChannel, StoredMember } from '../store/store.js';
import { type Access, noAccess } from './access.js';
import type { Actor } from './actor.js';
import type { ChatObserver } from './chat-observer.js';
import type { MemberChanged } from './events.js';
import { canManageMember, canRead, canUpdateChannel } from './permissions.js';
import { notify } from './sessions.js';

/** A channel to create. */
export interface ChannelInput {
  readonly channel: string;
  readonly private?: boolean | undefined;
  readonly title?: string | undefined;
  readonly topic?: string | undefined;
  /** System actors only: the owner (default none). */
  readonly owner?: string | undefined;
}

interface ChannelsDeps {
  readonly store: Store;
  readonly bus: Bus;
  readonly limits: Limits;
  readonly observer: ChatObserver;
  readonly access: Access;
}

/** Channels, direct messages and membership: creating, changing, listing, each checked. */
export class Channels {
  readonly #d: ChannelsDeps;

  constructor(deps: ChannelsDeps) {
    this.#d = deps;
  }

  /** Creates the public channels named in the configuration when they are missing. */
  async ensure(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      if ((await this.#d.store.getChannel(id)) !== undefined) continue;
      try {
        await this.#d.store.createChannel({ id, kind: 'public', title: id, owner: null });
      } catch (err) {
        // Another node created it first.
        if (!(err instanceof ParleyError && err.code === 'conflict')) throw err;
      }
    }
  }

  /**
   * Makes sure a channel that another wire names implicitly exists (Pusher channels come into
   * being on first use), with no owner. A channel of that id that exists with another kind (a
   * Parley private channel or DM where the wire expects a public one) is refused as `forbidden`,
   * exactly like a missing one: a wire's own proof of access covers only its own kind.
   */
  async ensureOne(id: string, kind: 'public' | 'private', title: string): Promise<void> {
    let found = await this.#d.access.channel(id);
    if (found === undefined) {
      try {
        await this.#d.store.createChannel({ id, kind, title, owner: null });
        return;
      } catch (err) {
        // Another connection or node created it first.
        if (!(err instanceof ParleyError && err.code === 'conflict')) throw err;
      }
      found = await this.#d.access.channel(id);
    }
    if (found === undefined || found.kind !== kind) throw noAccess(id);
  }

  /** Creates a channel owned by the caller. */
  async create(actor: Actor, input: ChannelInput): Promise<ChannelInfo> {
    const kind = input.private === true ? 'private' : 'public';
    const owner = actor.system === true ? (input.owner ?? null) : actor.user.id;
    const created = await this.#d.store.createChannel({
      id: input.channel,
      kind,
      title: input.title ?? input.channel,
      owner,
      ...(input.topic === undefined ? {} : { topic: input.topic }),
    });
    if (owner !== null) this.#d.access.setRole(created.id, owner, 'owner');
    const role = owner === actor.user.id ? 'owner' : null;
    return { id: created.id, kind, title: created.title, role };
  }

  /** Opens (creating when needed) the direct-message channel between the caller and a user. */
  async openDm(actor: Actor, otherId: string): Promise<ChannelInfo> {
    const { store } = this.#d;
    const other = await store.getUser(otherId);
    if (other === undefined) throw new ParleyError('not_found', 'no such user');
    const id = dmChannelId(actor.user.id, other.id);
    if ((await store.getChannel(id)) === undefined) {
      try {
        await store.createChannel({ id, kind: 'dm', title: 'direct message', owner: null });
      } catch (err) {
        if (!(err instanceof ParleyError && err.code === 'conflict')) throw err;
      }
      await store.setMember(id, actor.user.id, 'member');
      if (other.id !== actor.user.id) await store.setMember(id, other.id, 'member');
      // Both users' pages (the opener's other tabs too) list the conversation now, not at their
      // next reload; webhooks see both members added.
      await this.#announceMember(id, actor.user.id, 'member', undefined);
      if (other.id !== actor.user.id) await this.#announceMember(id, other.id, 'member', undefined);
    }
    this.#d.access.setRole(id, actor.user.id, 'member');
    return { id, kind: 'dm', title: other.username, role: 'member' };
  }

  /** Adds a user to a channel or changes their role. */
  async setMember(actor: Actor, channelId: string, userId: string, role: Role): Promise<MemberChanged> {
    const targetRole = await this.#checkMemberChange(actor, channelId, userId, role);
    if ((await this.#d.store.getUser(userId)) === undefined)
      throw new ParleyError('not_found', 'no such user');
    if (targetRole === 'owner' && role !== 'owner') await this.#keepAnOwner(channelId);
    await this.#d.store.setMember(channelId, userId, role);
    return this.#announceMember(channelId, userId, role, targetRole);
  }

  /** Removes a user from a channel (or the caller leaves it); their subscriptions end at once. */
  async removeMember(actor: Actor, channelId: string, userId: string): Promise<MemberChanged> {
    const targetRole = await this.#checkMemberChange(actor, channelId, userId, undefined);
    if (targetRole === 'owner') await this.#keepAnOwner(channelId);
    if (!(await this.#d.store.removeMember(channelId, userId))) {
      throw new ParleyError('not_found', `that user is not a member of "${channelId}"`);
    }
    return this.#announceMember(channelId, userId, null, targetRole);
  }

  /** The actor's channels and the public ones to join, by id, with unread and mention counts. */
  async list(actor: Actor): Promise<readonly ChannelDetail[]> {
    const { store, limits, access } = this.#d;
    const rows = await store.listChannelsFor(actor.user.id);
    const positions = await store.readPositions(actor.user.id);
    const counts = await store.unreadCounts(
      actor.user.id,
      actor.user.username,
      rows.filter((r) => r.role !== null).map((r) => ({ channelId: r.id, after: positions.get(r.id) ?? 0 })),
      limits.unreadCountMax,
    );
    return Promise.all(
      rows.map(async (row) => {
        const title = row.kind === 'dm' ? await access.title(row, actor.user.id) : row.title;
        return detail(row, title, row.role, positions.get(row.id) ?? 0, counts.get(row.id));
      }),
    );
  }

  /** One channel as the actor sees it (refused exactly like a missing one when not readable). */
  async get(actor: Actor, channelId: string): Promise<ChannelDetail> {
    const { store, limits, access } = this.#d;
    const { role } = await access.check(actor, channelId);
    const row = await store.getChannel(channelId);
    if (row === undefined) throw noAccess(channelId);
    const last = (await store.readPositions(actor.user.id)).get(channelId) ?? 0;
    const counts =
      role === undefined
        ? undefined
        : (
            await store.unreadCounts(
              actor.user.id,
              actor.user.username,
              [{ channelId, after: last }],
              limits.unreadCountMax,
            )
          ).get(channelId);
    const title = await access.title(row, actor.user.id);
    return detail(row, title, role ?? null, last, counts);
  }

  /**
   * Renames, describes, archives or unarchives a channel (see `canUpdateChannel`); every node
   * forgets its cached copy and subscribers are told.
   */
  async update(actor: Actor, channelId: string, patch: ChannelPatch): Promise<ChannelDetail> {
    const { store, bus, access } = this.#d;
    const { channel, role } = await access.check(actor, channelId);
    if (actor.system !== true && !canUpdateChannel(channel.kind, role, patch.archived !== undefined)) {
      throw new ParleyError('forbidden', `you may not change "${channelId}"`);
    }
    if (channel.kind === 'dm')
      throw new ParleyError('forbidden', 'direct-message channels cannot be changed');
    const updated = await store.updateChannel(channelId, patch);
    access.forgetChannel(channelId);
    await bus.publish(CONTROL_TOPIC, { kind: 'channel', channel: channelId });
    await bus.publish(channelTopic(channelId), {
      kind: 'channel_updated',
      channel: channelId,
      title: updated.title,
      topic: updated.topic,
      archived: updated.archived,
    });
    return detail(updated, updated.title, role ?? null, 0, undefined);
  }

  /** The channel's members (anyone who may read the channel may list them). */
  async members(actor: Actor, channelId: string): Promise<readonly StoredMember[]> {
    await this.#d.access.check(actor, channelId);
    return this.#d.store.listMembers(channelId);
  }

  // The checks of every membership change: the caller may see the channel and may give `userId`
  // the role `next` (undefined = removal). The system actor skips them, DMs aside. Returns the
  // target's current role.
  async #checkMemberChange(
    actor: Actor,
    channelId: string,
    userId: string,
    next: Role | undefined,
  ): Promise<Role | undefined> {
    const { access } = this.#d;
    const channel = await access.channel(channelId);
    const actorRole = await access.role(channelId, actor.user.id, true);
    if (actor.system === true) {
      if (channel === undefined) throw new ParleyError('not_found', `no channel "${channelId}"`);
      if (channel.kind === 'dm')
        throw new ParleyError('forbidden', 'direct-message channels have fixed members');
    } else if (
      channel === undefined ||
      !canRead(channel.kind, actorRole) ||
      (channel.kind !== 'public' && !actorRole)
    ) {
      throw noAccess(channelId);
    }
    const targetRole = await access.role(channelId, userId, true);
    if (
      actor.system !== true &&
      !canManageMember(
        channel.kind,
        { id: actor.user.id, role: actorRole },
        { id: userId, role: targetRole },
        next,
      )
    ) {
      throw new ParleyError(
        'forbidden',
        next === undefined
          ? `you may not remove members from "${channelId}"`
          : `you may not give that role in "${channelId}"`,
      );
    }
    return targetRole;
  }

  async #announceMember(
    channelId: string,
    userId: string,
    role: Role | null,
    previous: Role | undefined,
  ): Promise<MemberChanged> {
    const { access, bus, observer } = this.#d;
    access.forgetRole(channelId, userId);
    const event: MemberChanged = { kind: 'member', channel: channelId, user_id: userId, role };
    await bus.publish(CONTROL_TOPIC, event);
    if (role !== previous)
      notify(observer, () => observer.memberChanged?.(channelId, userId, role, previous));
    return event;
  }

  async #keepAnOwner(channelId: string): Promise<void> {
    const owners = (await this.#d.store.listMembers(channelId)).filter((m) => m.role === 'owner');
    if (owners.length <= 1) {
      throw new ParleyError('conflict', 'a channel keeps at least one owner; make someone else owner first');
    }
  }
}

function detail(
  row: StoredChannel,
  title: string,
  role: Role | null,
  lastRead: number,
  counts: { readonly unread: number; readonly mentions: number } | undefined,
): ChannelDetail {
  return {
    id: row.id,
    kind: row.kind,
    title,
    topic: row.topic,
    archived: row.archived,
    role,
    last_seq: row.lastSeq,
    last_read_seq: lastRead,
    unread: counts?.unread ?? 0,
    mentions: counts?.mentions ?? 0,
  };
}

/** The stable id of the direct-message channel between two users (the same from either side). */
export function dmChannelId(a: string, b: string): string {
  const [x, y] = a < b ? [a, b] : [b, a];
  return `dm:${createHash('sha256').update(`${x}\u0000${y}`).digest('base64url').slice(0, 32)}`;
}
