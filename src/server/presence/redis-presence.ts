import type { Redis } from 'ioredis';
import { connectRedis } from '../redis/connect-redis.js';
import type { Presence, PresenceUser } from './presence.js';

/** Options of a RedisPresence; every one has a default. */
export interface RedisPresenceOptions {
  readonly prefix?: string;
  /** How long an entry lives without a refresh: a node that dies silently drops out after it. */
  readonly ttlMs?: number;
  readonly connectTimeoutMs?: number;
  readonly onError?: (err: unknown, what: string) => void;
}

const SEP = '\t';

/**
 * Presence across nodes in Redis: one sorted set per channel whose members are this and other
 * nodes' connections (`connection⇥user id⇥username`, then `⇥info` when the user has one) scored by expiry. Each node refreshes the
 * expiry of its own entries every third of the TTL, so the entries of a node that dies without
 * saying goodbye vanish within the TTL.
 */
export class RedisPresence implements Presence {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #onError: (err: unknown, what: string) => void;
  // channel → connection id → member string, for refreshes
  readonly #mine = new Map<string, Map<string, string>>();
  readonly #timer: NodeJS.Timeout;

  private constructor(redis: Redis, options: RedisPresenceOptions) {
    this.#redis = redis;
    this.#prefix = options.prefix ?? 'parley:';
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#onError = options.onError ?? (() => {});
    redis.on('error', (err: Error) => this.#onError(err, 'redis presence'));
    this.#timer = setInterval(() => void this.#refresh(), Math.max(1000, Math.floor(this.#ttlMs / 3)));
    this.#timer.unref();
  }

  /** Connects to Redis; `unavailable` when it cannot be reached. */
  static async connect(url: string, options: RedisPresenceOptions = {}): Promise<RedisPresence> {
    const redis = await connectRedis(url, 'presence', options.connectTimeoutMs);
    return new RedisPresence(redis, options);
  }

  async join(channel: string, connectionId: string, user: PresenceUser): Promise<boolean> {
    let conns = this.#mine.get(channel);
    if (conns === undefined) {
      conns = new Map();
      this.#mine.set(channel, conns);
    }
    conns.set(connectionId, memberOf(connectionId, user));
    try {
      const others = (await this.#live(channel)).filter((e) => e.user.id === user.id);
      // Every connection of a user carries the info of the one already there, so that whichever
      // entry a read meets first, the user looks the same.
      const member = memberOf(connectionId, others[0]?.user ?? user);
      conns.set(connectionId, member);
      await this.#redis.zadd(this.#key(channel), Date.now() + this.#ttlMs, member);
      return others.length === 0;
    } catch (err) {
      // Redis is down: presence must not stop a subscribe. This node's own view answers, and
      // the next refresh writes the entry once Redis is back.
      this.#onError(err, 'presence join');
      return this.#localEntries(channel).filter((e) => e.user.id === user.id).length === 1;
    }
  }

  async leave(channel: string, connectionId: string): Promise<PresenceUser | undefined> {
    const conns = this.#mine.get(channel);
    const member = conns?.get(connectionId);
    if (conns === undefined || member === undefined) return undefined;
    conns.delete(connectionId);
    if (conns.size === 0) this.#mine.delete(channel);
    const user = parse(member)?.user;
    if (user === undefined) return undefined;
    try {
      await this.#redis.zrem(this.#key(channel), member);
      const still = (await this.#live(channel)).some((e) => e.user.id === user.id);
      return still ? undefined : user;
    } catch (err) {
      // The entry expires on its own within the TTL.
      this.#onError(err, 'presence leave');
      return this.#localEntries(channel).some((e) => e.user.id === user.id) ? undefined : user;
    }
  }

  async list(channel: string): Promise<readonly PresenceUser[]> {
    const byId = await this.#users(channel, 'presence list');
    return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async count(channel: string): Promise<number> {
    return (await this.#users(channel, 'presence count')).size;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    const pipeline = this.#redis.pipeline();
    for (const [channel, conns] of this.#mine) pipeline.zrem(this.#key(channel), ...conns.values());
    this.#mine.clear();
    await pipeline.exec().catch(() => {});
    await this.#redis.quit().catch(() => {});
    this.#redis.disconnect();
  }

  // The channel's users by id: from Redis, or from this node's connections while it is down.
  async #users(channel: string, what: string): Promise<Map<string, PresenceUser>> {
    const byId = new Map<string, PresenceUser>();
    let entries: readonly { readonly user: PresenceUser }[];
    try {
      entries = await this.#live(channel);
    } catch (err) {
      this.#onError(err, what);
      entries = this.#localEntries(channel);
    }
    for (const e of entries) byId.set(e.user.id, e.user);
    return byId;
  }

  async #live(channel: string): Promise<{ readonly connectionId: string; readonly user: PresenceUser }[]> {
    const now = Date.now();
    const key = this.#key(channel);
    this.#redis.zremrangebyscore(key, '-inf', now).catch((err) => this.#onError(err, 'presence expiry'));
    const members = await this.#redis.zrangebyscore(key, now, '+inf');
    return members.map(parse).filter((e) => e !== undefined);
  }

  async #refresh(): Promise<void> {
    if (this.#mine.size === 0) return;
    const expiry = Date.now() + this.#ttlMs;
    const pipeline = this.#redis.pipeline();
    for (const [channel, conns] of this.#mine) {
      const args: (string | number)[] = [];
      for (const member of conns.values()) args.push(expiry, member);
      pipeline.zadd(this.#key(channel), ...args);
      pipeline.pexpire(this.#key(channel), this.#ttlMs * 2);
    }
    await pipeline.exec().catch((err) => this.#onError(err, 'presence refresh'));
  }

  #localEntries(channel: string): { readonly connectionId: string; readonly user: PresenceUser }[] {
    return [...(this.#mine.get(channel)?.values() ?? [])].map(parse).filter((e) => e !== undefined);
  }

  #key(channel: string): string {
    return `${this.#prefix}presence:${channel}`;
  }
}

// JSON text never holds a raw tab: the info, when given, is one more field.
function memberOf(connectionId: string, user: PresenceUser): string {
  const fields = [connectionId, user.id, user.username];
  if (user.info !== undefined) fields.push(user.info);
  return fields.join(SEP);
}

function parse(member: string): { readonly connectionId: string; readonly user: PresenceUser } | undefined {
  const [connectionId, id, username, info] = member.split(SEP);
  if (connectionId === undefined || id === undefined || username === undefined) return undefined;
  return { connectionId, user: info === undefined ? { id, username } : { id, username, info } };
}
