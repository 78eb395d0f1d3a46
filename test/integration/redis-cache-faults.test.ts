import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Message } from '../../src/protocol/frames.js';
import { RedisHistoryCache } from '../../src/server/cache/redis-history-cache.js';
import { redisServerMissing, startTestRedis, type TestRedis } from '../support/redis-server.js';
import { until } from '../support/until.js';

const missing = await redisServerMissing();

function m(seq: number): Message {
  return {
    id: `k${seq}`,
    channel: 'k',
    seq,
    user_id: 'u',
    username: 'U',
    text: `v1 ${seq}`,
    ts: seq,
    client_msg_id: null,
  };
}

describe('RedisHistoryCache when Redis fails', { skip: missing }, () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startTestRedis();
  });
  after(() => redis?.stop());

  it('refuses to open when Redis is unreachable, saying what for', async () => {
    await assert.rejects(
      RedisHistoryCache.connect('redis://127.0.0.1:1', { connectTimeoutMs: 500 }),
      /cannot reach Redis for the history cache/,
    );
  });

  it('survives an invalidation while Redis is down and answers nothing meanwhile', async () => {
    const cache = await RedisHistoryCache.connect(redis.url);
    for (let s = 1; s <= 3; s++) await cache.add(m(s));
    assert.equal((await cache.range('k', 0, 3))?.length, 3);
    await redis.stop();
    await cache.invalidate('k');
    assert.equal(await cache.range('k', 0, 3), undefined);
    await redis.start();
    await cache.close();
  });

  it('clears every cached channel after its link to Redis was cut, so no edit missed meanwhile survives', async () => {
    const a = await RedisHistoryCache.connect(redis.url);
    const raw = new Redis(redis.url);
    try {
      for (let s = 1; s <= 3; s++) await a.add(m(s));
      assert.equal(await raw.zcard('parley:history:k'), 3);
      await raw.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      await until(async () => (await raw.zcard('parley:history:k')) === 0, 'cache flushed after reconnect');
      assert.equal(await a.range('k', 0, 3), undefined);
    } finally {
      raw.disconnect();
      await a.close();
    }
  });
});
