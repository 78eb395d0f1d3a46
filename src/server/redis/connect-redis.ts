import { Redis } from 'ioredis';
import { ParleyError } from '../../protocol/error-catalogue.js';

/**
 * Opens one ioredis connection for a fail-fast user (presence, history cache): no offline queue,
 * one retry per request, auto-pipelining. Throws `unavailable`, naming `purpose`, when Redis
 * cannot be reached within `connectTimeoutMs`.
 */
export async function connectRedis(url: string, purpose: string, connectTimeoutMs = 5000): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    // Fail fast while Redis is down rather than queue: callers fall back to this node or the Store.
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    connectTimeout: connectTimeoutMs,
  });
  // A failed first connect is reported by the throw below; callers attach their own handler.
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new ParleyError('unavailable', `cannot reach Redis for ${purpose}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return redis;
}
