import { describe, it } from 'node:test';
import { RedisBus } from '../../src/server/bus/redis-bus.js';
import { busContract } from './bus-contract.js';

const url = process.env.PARLEY_TEST_REDIS_URL;

if (url === undefined || url === '') {
  describe('Bus contract: Redis', () => {
    it('skipped: set PARLEY_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379) to run it', {
      skip: true,
    }, () => {});
  });
} else {
  busContract(
    'Redis',
    async (n) => {
      const prefix = `parley-test-${process.pid}-${Date.now()}:`;
      const buses = await Promise.all(Array.from({ length: n }, () => RedisBus.connect(url, { prefix })));
      return { buses, cleanup: async () => void (await Promise.all(buses.map((b) => b.close()))) };
    },
    3,
  );
}
