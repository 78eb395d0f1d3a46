import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTick } from 'node:timers/promises';
import { COMMIT_DELAY_MIN_BATCH, GroupCommit } from '../../src/server/store/group-commit.js';

/** A commit callback the test completes by hand, recording every batch it was given. */
function manualCommit<I>() {
  const batches: I[][] = [];
  const waiting: { resolve: (results: (I | Error)[]) => void; reject: (error: Error) => void }[] = [];
  let arrived: (() => void) | undefined;
  return {
    batches,
    commit: (items: readonly I[]) =>
      new Promise<(I | Error)[]>((resolve, reject) => {
        batches.push([...items]);
        waiting.push({ resolve, reject });
        arrived?.();
      }),
    /** Resolves once `n` batches have reached commit. */
    async untilBatches(n: number): Promise<void> {
      while (batches.length < n) await new Promise<void>((resolve) => (arrived = resolve));
    },
    finish(index: number, results?: (I | Error)[]): void {
      waiting[index]?.resolve(results ?? (batches[index] as I[]));
    },
    fail(index: number, error: Error): void {
      waiting[index]?.reject(error);
    },
  };
}

describe('GroupCommit', () => {
  it('commits everything pushed in one tick as one batch', async () => {
    const sizes: number[] = [];
    const queue = new GroupCommit<number, number>({
      commit: async (items) => items.map((n) => n * 2),
      onBatch: (size) => sizes.push(size),
    });
    assert.deepEqual(await Promise.all([1, 2, 3].map((n) => queue.push(n))), [2, 4, 6]);
    assert.deepEqual(sizes, [3]);
  });

  it('caps a batch at maxBatch and commits the rest next, in push order', async () => {
    const c = manualCommit<number>();
    const queue = new GroupCommit<number, number>({ commit: c.commit, maxBatch: 2 });
    const all = Promise.all([1, 2, 3, 4, 5].map((n) => queue.push(n)));
    await c.untilBatches(1);
    c.finish(0);
    await c.untilBatches(2);
    c.finish(1);
    await c.untilBatches(3);
    c.finish(2);
    assert.deepEqual(await all, [1, 2, 3, 4, 5]);
    assert.deepEqual(c.batches, [[1, 2], [3, 4], [5]]);
  });

  it('keeps one batch in flight; items pushed meanwhile wait for the next batch', async () => {
    const c = manualCommit<string>();
    const queue = new GroupCommit<string, string>({ commit: c.commit });
    const first = queue.push('a');
    await c.untilBatches(1);
    const later = [queue.push('b')];
    await nextTick();
    later.push(queue.push('c'));
    await nextTick();
    assert.equal(c.batches.length, 1, 'no second batch while the first is in flight');
    assert.equal(queue.pending, 2);
    c.finish(0);
    assert.equal(await first, 'a');
    await c.untilBatches(2);
    assert.deepEqual(c.batches[1], ['b', 'c']);
    c.finish(1);
    assert.deepEqual(await Promise.all(later), ['b', 'c']);
  });

  it('rejects only the items whose result is an Error', async () => {
    const queue = new GroupCommit<number, number>({
      commit: async (items) => items.map((n) => (n === 2 ? new RangeError('two') : n)),
    });
    const results = await Promise.allSettled([1, 2, 3].map((n) => queue.push(n)));
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.ok(results[1]?.status === 'rejected' && results[1].reason instanceof RangeError);
  });

  it('rejects every item of a batch whose commit fails, and goes on with the next batch', async () => {
    const c = manualCommit<number>();
    const queue = new GroupCommit<number, number>({ commit: c.commit });
    const failed = [queue.push(1), queue.push(2)].map((p) => p.catch((error: Error) => error.message));
    await c.untilBatches(1);
    const next = queue.push(3);
    c.fail(0, new Error('disk on fire'));
    assert.deepEqual(await Promise.all(failed), ['disk on fire', 'disk on fire']);
    await c.untilBatches(2);
    c.finish(1);
    assert.equal(await next, 3);
  });

  it('rejects the batch when commit returns the wrong number of results', async () => {
    const queue = new GroupCommit<number, number>({ commit: async () => [1] });
    const results = await Promise.allSettled([queue.push(1), queue.push(2)]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
  });

  it('close() commits what is pending, then refuses new items', async () => {
    const c = manualCommit<number>();
    const queue = new GroupCommit<number, number>({ commit: c.commit, maxBatch: 2 });
    const pending = [1, 2, 3].map((n) => queue.push(n));
    let closed = false;
    const closing = queue.close().then(() => {
      closed = true;
    });
    await assert.rejects(queue.push(4), { name: 'ParleyError', code: 'unavailable' });
    await c.untilBatches(1);
    c.finish(0);
    await c.untilBatches(2);
    assert.equal(closed, false);
    c.finish(1);
    await closing;
    assert.deepEqual(await Promise.all(pending), [1, 2, 3]);
    await queue.close();
  });

  describe('with delayMs', () => {
    // A delay no test outlives: a batch that waits commits only when it fills up or on close().
    const delayMs = 600_000;
    const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

    /** A queue whose first batch (pushed in one tick) is a busy one, already committed. */
    async function afterBusyBatch(maxBatch: number) {
      const c = manualCommit<number>();
      const queue = new GroupCommit<number, number>({ commit: c.commit, maxBatch, delayMs });
      const first = Promise.all(range(0, COMMIT_DELAY_MIN_BATCH).map((n) => queue.push(n)));
      await c.untilBatches(1);
      c.finish(0);
      await first;
      return { c, queue };
    }

    it('gathers items pushed in later ticks into one batch after a busy one, until maxBatch wait', async () => {
      const maxBatch = COMMIT_DELAY_MIN_BATCH + 10;
      const { c, queue } = await afterBusyBatch(maxBatch);
      const pushed: Promise<number>[] = [];
      for (const n of range(100, maxBatch - 1)) {
        pushed.push(queue.push(n));
        await nextTick();
      }
      assert.equal(c.batches.length, 1, 'nothing committed before the batch is full');
      pushed.push(queue.push(999));
      await c.untilBatches(2);
      assert.deepEqual(c.batches[1], [...range(100, maxBatch - 1), 999]);
      c.finish(1);
      assert.deepEqual(await Promise.all(pushed), [...range(100, maxBatch - 1), 999]);
    });

    it('commits a waiting batch at once on close()', async () => {
      const { c, queue } = await afterBusyBatch(500);
      const waiting = queue.push(7);
      await nextTick();
      assert.equal(c.batches.length, 1);
      const closing = queue.close();
      await c.untilBatches(2);
      c.finish(1);
      assert.equal(await waiting, 7);
      await closing;
    });

    it('does not wait after a small batch', async () => {
      const c = manualCommit<number>();
      const queue = new GroupCommit<number, number>({ commit: c.commit, delayMs });
      const first = queue.push(1);
      await c.untilBatches(1);
      c.finish(0);
      assert.equal(await first, 1);
      const second = queue.push(2);
      await c.untilBatches(2);
      c.finish(1);
      assert.equal(await second, 2);
    });

    it('refuses a negative delayMs', () => {
      assert.throws(() => new GroupCommit({ commit: async () => [], delayMs: -1 }), RangeError);
    });
  });

  it('refuses a maxBatch that is not a positive integer', () => {
    assert.throws(() => new GroupCommit({ commit: async () => [], maxBatch: 0 }), RangeError);
  });
});
