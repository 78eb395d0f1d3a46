import { ParleyError } from '../../protocol/error-catalogue.js';
import type { Role } from '../../protocol/frames.js';
import type { Store, StoredChannel } from '../store/store.js';
import type { Actor } from './actor.js';
import { canRead, joinsOnUse } from './permissions.js';

/** What the core keeps of a channel between requests. */
export type ChannelMeta = Pick<StoredChannel, 'id' | 'kind' | 'title' | 'epoch' | 'archived'>;

const ROLE_TTL_MS = 60_000;
const CACHE_MAX = 100_000;

/** The refusal for a channel the caller may not use, the same whether or not it exists. */
export function noAccess(channel: string): ParleyError {
  // Indistinguishable on purpose: a caller must not learn whether a private channel exists.
  return new ParleyError('forbidden', `no channel "${channel}", or you may not use it`);
}

/**
 * Who may read a channel: the node's cache of channels and of roles in front of the Store, and
 * the checks every action makes with them. Roles are invalidated by `member` events on the bus;
 * the TTL bounds the damage of a lost bus event.
 */
export class Access {
  readonly #store: Store;
  readonly #channels = new Map<string, ChannelMeta>();
  readonly #roles = new Map<string, { readonly role: Role | undefined; readonly at: number }>();

  constructor(store: Store) {
    this.#store = store;
  }

  /**
   * The channel and the actor's role, or the same refusal as for a missing channel when the
   * actor may not read it. System actors read every channel.
   */
  async check(actor: Actor, channelId: string): Promise<{ channel: ChannelMeta; role: Role | undefined }> {
    const channel = await this.channel(channelId);
    if (actor.system === true) {
      if (channel === undefined) throw new ParleyError('not_found', `no channel "${channelId}"`);
      return { channel, role: undefined };
    }
    const role = await this.role(channelId, actor.user.id);
    if (channel === undefined || !canRead(channel.kind, role)) throw noAccess(channelId);
    return { channel, role };
  }

  /** Makes the user a member of a public channel they use without being one; returns their role. */
  async joinIfPublic(
    channel: ChannelMeta,
    userId: string,
    role: Role | undefined,
  ): Promise<Role | undefined> {
    if (!joinsOnUse(channel.kind, role)) return role;
    await this.#store.setMember(channel.id, userId, 'member');
    this.setRole(channel.id, userId, 'member');
    return 'member';
  }

  /** The channel, from the cache or the Store. */
  async channel(id: string): Promise<ChannelMeta | undefined> {
    const cached = this.#channels.get(id);
    if (cached !== undefined) return cached;
    const found = await this.#store.getChannel(id);
    if (found === undefined) return undefined;
    if (this.#channels.size >= CACHE_MAX) this.#channels.clear();
    const meta: ChannelMeta = {
      id: found.id,
      kind: found.kind,
      title: found.title,
      epoch: found.epoch,
      archived: found.archived,
    };
    this.#channels.set(id, meta);
    return meta;
  }

  /** Forgets the cached channel (it changed, here or on another node). */
  forgetChannel(id: string): void {
    this.#channels.delete(id);
  }

  /** The user's role in the channel; membership changes read through (`fresh`). */
  async role(channelId: string, userId: string, fresh = false): Promise<Role | undefined> {
    const key = roleKey(channelId, userId);
    const cached = this.#roles.get(key);
    if (!fresh && cached !== undefined && Date.now() - cached.at < ROLE_TTL_MS) return cached.role;
    const role = await this.#store.getRole(channelId, userId);
    this.setRole(channelId, userId, role);
    return role;
  }

  /** Records a role this node just wrote. */
  setRole(channelId: string, userId: string, role: Role | undefined): void {
    if (this.#roles.size >= CACHE_MAX) this.#roles.clear();
    this.#roles.set(roleKey(channelId, userId), { role, at: Date.now() });
  }

  /** Forgets a cached role (it changed, here or on another node). */
  forgetRole(channelId: string, userId: string): void {
    this.#roles.delete(roleKey(channelId, userId));
  }

  /** A channel's title as `viewer` sees it: a DM is named after the other member. */
  async title(channel: ChannelMeta, viewer: string): Promise<string> {
    if (channel.kind !== 'dm') return channel.title;
    const members = await this.#store.listMembers(channel.id);
    const other = members.find((m) => m.userId !== viewer) ?? members[0];
    return other?.username ?? channel.title;
  }
}

function roleKey(channelId: string, userId: string): string {
  return `${channelId}\u0000${userId}`;
}
