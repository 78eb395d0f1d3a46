import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AfterTick } from '../../src/server/transport/ws/after-tick.js';

describe('AfterTick', () => {
  it('runs everything queued in a tick in one nextTick pass, in order, after the current callback', async (t) => {
    const nextTick = t.mock.method(process, 'nextTick');
    const after = new AfterTick();
    const ran: number[] = [];
    for (let i = 0; i < 1000; i++) after.push(() => ran.push(i));
    assert.deepEqual(ran, [], 'nothing runs synchronously');
    assert.equal(nextTick.mock.callCount(), 1, 'one nextTick for the whole tick');
    nextTick.mock.restore();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      ran,
      Array.from({ length: 1000 }, (_, i) => i),
    );
  });

  it('runs what promise reactions of the same tick queued with the rest', async () => {
    const after = new AfterTick();
    const ran: string[] = [];
    const settled = Promise.resolve();
    void settled.then(() => after.push(() => ran.push('a')));
    void settled.then(() => {
      after.push(() => ran.push('b'));
      assert.deepEqual(ran, [], 'not between the reactions');
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(ran, ['a', 'b']);
  });

  it('keeps what is queued while it runs for the next pass', async () => {
    const after = new AfterTick();
    const ran: string[] = [];
    after.push(() => {
      ran.push('first');
      after.push(() => ran.push('second'));
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(ran, ['first', 'second']);
  });

  it('calls a shared function with the argument queued with it, in order', async () => {
    const after = new AfterTick();
    const ran: string[] = [];
    const record = (name: string) => ran.push(name);
    for (const name of ['a', 'b', 'c']) after.push(record, name);
    after.push(() => ran.push('d'));
    assert.deepEqual(ran, [], 'nothing runs synchronously');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(ran, ['a', 'b', 'c', 'd']);
  });
});
