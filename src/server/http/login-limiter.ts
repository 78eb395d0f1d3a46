import { TokenBucket } from '../token-bucket.js';

// Forgetting buckets past this many only ever errs towards letting an attempt through.
const MAX_KEYS = 100_000;

/**
 * Rate limits of login and registration, checked before any password is hashed: a bucket per
 * IP address and one per username (lowercased), each refilling `perMinute` attempts a minute.
 */
export class LoginLimiter {
  readonly #perIp: number;
  readonly #perUsername: number;
  readonly #ips = new Map<string, TokenBucket>();
  readonly #usernames = new Map<string, TokenBucket>();

  constructor(perMinutePerIp: number, perMinutePerUsername: number) {
    this.#perIp = perMinutePerIp;
    this.#perUsername = perMinutePerUsername;
  }

  /**
   * Takes one attempt for the IP and (when given) the username. Returns the milliseconds to
   * wait when either is exhausted, or 0 when the attempt may go ahead.
   */
  take(ip: string, username?: string): number {
    const byIp = bucket(this.#ips, ip, this.#perIp);
    if (!byIp.take()) return byIp.retryAfterMs();
    if (username === undefined) return 0;
    const byName = bucket(this.#usernames, username.toLowerCase(), this.#perUsername);
    if (!byName.take()) return byName.retryAfterMs();
    return 0;
  }
}

function bucket(map: Map<string, TokenBucket>, key: string, perMinute: number): TokenBucket {
  let found = map.get(key);
  if (found === undefined) {
    if (map.size >= MAX_KEYS) {
      for (const [k, b] of map) if (b.isFull()) map.delete(k);
      if (map.size >= MAX_KEYS) map.clear();
    }
    found = new TokenBucket(perMinute / 60, perMinute);
    map.set(key, found);
  }
  return found;
}
