import type { Redis } from 'ioredis';
import type { Message } from '../../protocol/frames.js';
import { connectRedis } from '../redis/connect-redis.js';
import { completeRange, type HistoryCache } from './history-cache.js';

/** Options of a RedisHistoryCache; every one has a default. */
export interface RedisHistoryCacheOptions {
  readonly prefix?: string;
  /** Messages kept per channel. */
  readonly perChannel?: number;
  /** A channel's cache expires this long after its last write. */
  readonly ttlMs?: number;
  readonly connectTimeoutMs?: number;
  readonly onError?: (err: unknown, what: string) => void;
}

/**
 * The HistoryCache in Redis, shared by every node: one sorted set per channel scored by seq,
 * trimmed to the newest `perChannel`. Written by the node that committed each message.
 * Failures are reported and answered as a miss: the Store fills in.
 */
export class RedisHistoryCache implements HistoryCache {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #perChannel: number;
  readonly #ttlMs: number;
  readonly #onError: (err: unknown, what: string) => void;
  // Channels whose invalidation failed (Redis down): never answered from the cache by this node,
  // and deleted again once Redis is back.
  readonly #stale = new Set<string>();
  #everReady = true;

  private constructor(redis: Redis, options: RedisHistoryCacheOptions) {
    this.#redis = redis;
    this.#prefix = options.prefix ?? 'parley:';
    this.#perChannel = options.perChannel ?? 100;
    this.#ttlMs = options.ttlMs ?? 24 * 3600_000;
    this.#onError = options.onError ?? (() => {});
    redis.on('error', (err: Error) => this.#onError(err, 'redis history cache'));
    redis.on('close', () => {
      this.#everReady = false;
    });
    redis.on('ready', () => {
      if (!this.#everReady) void this.#afterOutage();
      this.#everReady = true;
    });
  }

  // Another node may have failed to drop an edited channel while Redis was away: after an
  // outage every node clears the whole cache (it may lose anything), then its own stale set.
  async #afterOutage(): Promise<void> {
    try {
      let cursor = '0';
      do {
        const [next, keys] = await this.#redis.scan(
          cursor,
          'MATCH',
          `${this.#prefix}history:*`,
          'COUNT',
          500,
        );
        cursor = next;
        if (keys.length > 0) await this.#redis.unlink(...keys);
      } while (cursor !== '0');
      this.#stale.clear();
    } catch (err) {
      this.#onError(err, 'history cache flush after outage');
    }
  }

  /** Connects to Redis; `unavailable` when it cannot be reached. */
  static async connect(url: string, options: RedisHistoryCacheOptions = {}): Promise<RedisHistoryCache> {
    const redis = await connectRedis(url, 'the history cache', options.connectTimeoutMs);
    return new RedisHistoryCache(redis, options);
  }

  async add(message: Message): Promise<void> {
    const key = this.#key(message.channel);
    try {
      await this.#redis
        .multi()
        .zremrangebyscore(key, message.seq, message.seq)
        .zadd(key, message.seq, JSON.stringify(message))
        .zremrangebyrank(key, 0, -(this.#perChannel + 1))
        .pexpire(key, this.#ttlMs)
        .exec();
    } catch (err) {
      this.#onError(err, 'history cache add');
    }
  }

  async range(channel: string, after: number, upTo: number): Promise<readonly Message[] | undefined> {
    if (upTo <= after) return [];
    if (upTo - after > this.#perChannel || this.#stale.has(channel)) return undefined;
    try {
      const raw = await this.#redis.zrangebyscore(this.#key(channel), `(${after}`, upTo);
      return completeRange(
        raw.map((r) => JSON.parse(r) as Message),
        after,
        upTo,
      );
    } catch (err) {
      this.#onError(err, 'history cache range');
      return undefined;
    }
  }

  async invalidate(channel: string): Promise<void> {
    try {
      await this.#redis.del(this.#key(channel));
    } catch (err) {
      this.#stale.add(channel);
      this.#onError(err, 'history cache invalidate');
    }
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => {});
    this.#redis.disconnect();
  }

  #key(channel: string): string {
    return `${this.#prefix}history:${channel}`;
  }
}
