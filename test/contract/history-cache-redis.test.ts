import { describe, it } from 'node:test';
import { RedisHistoryCache } from '../../src/server/cache/redis-history-cache.js';
import { historyCacheContract } from './history-cache-contract.js';

const url = process.env.PARLEY_TEST_REDIS_URL;

if (url === undefined || url === '') {
  describe('HistoryCache contract: Redis', () => {
    it('skipped: set PARLEY_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379) to run it', {
      skip: true,
    }, () => {});
  });
} else {
  historyCacheContract('Redis', async () => {
    const cache = await RedisHistoryCache.connect(url, {
      prefix: `parley-test-${process.pid}-${Date.now()}:`,
      perChannel: 10,
      ttlMs: 60_000,
    });
    return { cache, cleanup: () => cache.close() };
  });
}
