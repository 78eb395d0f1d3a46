import { ParleyError } from '../../protocol/error-catalogue.js';
import type { Role } from '../../protocol/frames.js';
import type { Store, StoredChannel } from '../store/store.js';
import type { Actor } from './actor.js';
import { canRead, joinsOnUse } from './permissions.js';

/** What the core keeps of a channel between requests. */
export type ChannelMeta = Pick<StoredChannel, 'id' | 'kind' | 'title' | 'epoch' | 'archived'>;

const CACHE_MAX = 100_000;

/** Options of an Access; every one has a default. */
export interface AccessOptions {
  /**
   * How long a cached role or channel is trusted without an invalidation (`accessCacheTtlMs`):
   * the bound on an invalidation lost in a way no node noticed.
   */
  readonly ttlMs?: number;
  /**
   * True while invalidations may be getting lost (the bus is down): every read goes to the
   * Store, and what it finds is cached for when the bus is back.
   */
  readonly readThrough?: () => boolean;
  /** The clock, in ms (tests). */
  readonly now?: () => number;
}

interface Cached<T> {
  readonly value: T;
  readonly at: number;
}

/** The refusal for a channel the caller may not use, the same whether or not it exists. */
export function noAccess(channel: string): ParleyError {
  // Indistinguishable on purpose: a caller must not learn whether a private channel exists.
  return new ParleyError('forbidden', `no channel "${channel}", or you may not use it`);
}

/**
 * Who may read a channel: the node's cache of channels and of roles in front of the Store, and
 * the checks every action makes with them. Entries are forgotten on the bus's `member` and
 * `channel` events, all of them when the bus may have lost some (`clear`, on resync), and they
 * are trusted for `ttlMs` at most; while the bus is down (`readThrough`) every read goes to the
 * Store.
 */
export class Access {
  readonly #store: Store;
  readonly #ttlMs: number;
  readonly #readThrough: () => boolean;
  readonly #now: () => number;
  readonly #channels = new Map<string, Cached<ChannelMeta>>();
  readonly #roles = new Map<string, Cached<Role | undefined>>();
  /** Store reads in flight, by key, each with the generation it started in (`#shared`). */
  readonly #channelReads = new Map<string, Loading<ChannelMeta | undefined>>();
  readonly #roleReads = new Map<string, Loading<Role | undefined>>();
  // Bumped by every invalidation: a Store read that an invalidation overtook is not cached,
  // for it may have read the row before the change the invalidation announces.
  #generation = 0;

  constructor(store: Store, options: AccessOptions = {}) {
    this.#store = store;
    this.#ttlMs = options.ttlMs ?? 5000;
    this.#readThrough = options.readThrough ?? (() => false);
    this.#now = options.now ?? Date.now;
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
    const cached = this.#fresh(this.#channels.get(id));
    if (cached !== undefined) return cached.value;
    return this.#shared(this.#channelReads, id, () => this.#readChannel(id));
  }

  async #readChannel(id: string): Promise<ChannelMeta | undefined> {
    const generation = this.#generation;
    const found = await this.#store.getChannel(id);
    if (found === undefined) return undefined;
    const meta: ChannelMeta = {
      id: found.id,
      kind: found.kind,
      title: found.title,
      epoch: found.epoch,
      archived: found.archived,
    };
    if (generation === this.#generation) put(this.#channels, id, { value: meta, at: this.#now() });
    return meta;
  }

  /** Forgets the cached channel (it changed, here or on another node). */
  forgetChannel(id: string): void {
    this.#generation++;
    this.#channels.delete(id);
  }

  /** The user's role in the channel; membership changes read through (`fresh`). */
  async role(channelId: string, userId: string, fresh = false): Promise<Role | undefined> {
    const key = roleKey(channelId, userId);
    if (fresh) return this.#readRole(key, channelId, userId);
    const cached = this.#fresh(this.#roles.get(key));
    if (cached !== undefined) return cached.value;
    return this.#shared(this.#roleReads, key, () => this.#readRole(key, channelId, userId));
  }

  async #readRole(key: string, channelId: string, userId: string): Promise<Role | undefined> {
    const generation = this.#generation;
    const role = await this.#store.getRole(channelId, userId);
    if (generation === this.#generation) put(this.#roles, key, { value: role, at: this.#now() });
    return role;
  }

  /**
   * `read()`, or the same read already in flight for `key`: requests that miss the cache at
   * once (a burst of joins into one room, a hot entry past its TTL) make one Store read. A read
   * is shared only while nothing was invalidated since it started, and never while the bus is
   * down, so no caller gets a value read before a change it was told of.
   */
  #shared<T>(reads: Map<string, Loading<T>>, key: string, read: () => Promise<T>): Promise<T> {
    const inFlight = reads.get(key);
    if (inFlight !== undefined && inFlight.generation === this.#generation && !this.#readThrough())
      return inFlight.value;
    const loading: Loading<T> = { generation: this.#generation, value: read() };
    reads.set(key, loading);
    const done = () => {
      if (reads.get(key) === loading) reads.delete(key);
    };
    loading.value.then(done, done);
    return loading.value;
  }

  /** Records a role this node just wrote. */
  setRole(channelId: string, userId: string, role: Role | undefined): void {
    put(this.#roles, roleKey(channelId, userId), { value: role, at: this.#now() });
  }

  /** Forgets a cached role (it changed, here or on another node). */
  forgetRole(channelId: string, userId: string): void {
    this.#generation++;
    this.#roles.delete(roleKey(channelId, userId));
  }

  /** Forgets every cached channel and role: invalidations may have been lost (a bus resync). */
  clear(): void {
    this.#generation++;
    this.#channels.clear();
    this.#roles.clear();
  }

  // The entry, unless it is too old or the cache is not to be trusted now.
  #fresh<T>(entry: Cached<T> | undefined): Cached<T> | undefined {
    if (entry === undefined || this.#now() - entry.at >= this.#ttlMs || this.#readThrough()) return undefined;
    return entry;
  }

  /** A channel's title as `viewer` sees it: a DM is named after the other member. */
  async title(channel: ChannelMeta, viewer: string): Promise<string> {
    if (channel.kind !== 'dm') return channel.title;
    const members = await this.#store.listMembers(channel.id);
    const other = members.find((m) => m.userId !== viewer) ?? members[0];
    return other?.username ?? channel.title;
  }
}

/** A Store read in flight, and the cache generation it started in. */
interface Loading<T> {
  readonly generation: number;
  readonly value: Promise<T>;
}

function roleKey(channelId: string, userId: string): string {
  return `${channelId}\u0000${userId}`;
}

// Past CACHE_MAX entries the cache starts over: a bound on memory, not an eviction policy.
function put<T>(map: Map<string, Cached<T>>, key: string, entry: Cached<T>): void {
  if (map.size >= CACHE_MAX && !map.has(key)) map.clear();
  map.set(key, entry);
}
