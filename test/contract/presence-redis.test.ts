import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisPresence } from '../../src/server/presence/redis-presence.js';
import { presenceContract } from './presence-contract.js';

const url = process.env.PARLEY_TEST_REDIS_URL;

if (url === undefined || url === '') {
  describe('Presence contract: Redis', () => {
    it('skipped: set PARLEY_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379) to run it', {
      skip: true,
    }, () => {});
  });
} else {
  const prefix = `parley-test-${process.pid}-${Date.now()}:`;
  presenceContract(
    'Redis',
    async (n) => {
      const nodes = await Promise.all(
        Array.from({ length: n }, () => RedisPresence.connect(url, { prefix })),
      );
      return { nodes, cleanup: async () => void (await Promise.all(nodes.map((p) => p.close()))) };
    },
    2,
  );

  describe('RedisPresence', () => {
    it('forgets the connections of a node that died without saying goodbye, once their TTL passes', async () => {
      const alive = await RedisPresence.connect(url, { prefix, ttlMs: 60_000 });
      const raw = new Redis(url);
      try {
        // A dead node's entry: its expiry has passed and nobody refreshes it.
        await raw.zadd(`${prefix}presence:ghosts`, Date.now() - 1, 'dead-conn\tghost\tGhost');
        await alive.join('ghosts', 'live-conn', { id: 'ann', username: 'Ann' });
        assert.deepEqual(await alive.list('ghosts'), [{ id: 'ann', username: 'Ann' }]);
        // The ghost's user joining afresh is a join again.
        assert.equal(await alive.join('ghosts', 'new-conn', { id: 'ghost', username: 'Ghost' }), true);
      } finally {
        await alive.close();
        await raw.del(`${prefix}presence:ghosts`);
        raw.disconnect();
      }
    });
  });
}
