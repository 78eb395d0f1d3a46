import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTick } from 'node:timers/promises';
import { GroupCommit } from '../../src/server/store/group-commit.js';

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

  it('refuses a maxBatch that is not a positive integer', () => {
    assert.throws(() => new GroupCommit({ commit: async () => [], maxBatch: 0 }), RangeError);
  });
});
