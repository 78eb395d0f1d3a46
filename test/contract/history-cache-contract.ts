import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Message } from '../../src/protocol/frames.js';
import type { HistoryCache } from '../../src/server/cache/history-cache.js';

function m(channel: string, seq: number): Message {
  return {
    id: `${channel}-${seq}`,
    channel,
    seq,
    user_id: 'u',
    username: 'U',
    text: `t${seq} ✓`,
    ts: seq,
    client_msg_id: null,
  };
}

/** The HistoryCache contract, run against every implementation (kept size 10 per channel). */
export function historyCacheContract(
  name: string,
  make: () => Promise<{ cache: HistoryCache; cleanup(): Promise<void> }>,
): void {
  describe(`HistoryCache contract: ${name}`, () => {
    let cache: HistoryCache;
    let cleanup: () => Promise<void>;
    const ch = (c: string) => `${c}-${process.pid}-${name}`;
    before(async () => {
      ({ cache, cleanup } = await make());
    });
    after(() => cleanup());

    it('answers a range it holds completely, ascending, exactly as added', async () => {
      for (let s = 1; s <= 5; s++) await cache.add(m(ch('a'), s));
      assert.deepEqual(await cache.range(ch('a'), 2, 5), [m(ch('a'), 3), m(ch('a'), 4), m(ch('a'), 5)]);
      assert.deepEqual(await cache.range(ch('a'), 5, 5), []);
    });

    it('answers undefined for a range with any message missing, never a partial one', async () => {
      for (const s of [1, 2, 4]) await cache.add(m(ch('gap'), s));
      assert.equal(await cache.range(ch('gap'), 0, 4), undefined);
      assert.equal(await cache.range(ch('gap'), 0, 5), undefined);
      assert.deepEqual(await cache.range(ch('gap'), 0, 2), [m(ch('gap'), 1), m(ch('gap'), 2)]);
      assert.equal(await cache.range(ch('nothing'), 0, 1), undefined);
    });

    it('accepts messages out of order and ignores repeats', async () => {
      for (const s of [3, 1, 2, 2, 3]) await cache.add(m(ch('order'), s));
      assert.deepEqual(
        (await cache.range(ch('order'), 0, 3))?.map((x) => x.seq),
        [1, 2, 3],
      );
    });

    it('keeps only the newest messages of a channel', async () => {
      for (let s = 1; s <= 25; s++) await cache.add(m(ch('trim'), s));
      assert.equal(await cache.range(ch('trim'), 0, 25), undefined);
      assert.deepEqual(
        (await cache.range(ch('trim'), 15, 25))?.map((x) => x.seq),
        [16, 17, 18, 19, 20, 21, 22, 23, 24, 25],
      );
    });

    it('forgets a channel on invalidate', async () => {
      await cache.add(m(ch('inv'), 1));
      await cache.invalidate(ch('inv'));
      assert.equal(await cache.range(ch('inv'), 0, 1), undefined);
    });
  });
}
