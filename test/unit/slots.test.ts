import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Slots } from '../../src/server/auth/slots.js';

describe('Slots (authentications in progress at once)', () => {
  it('grants up to its size at once, then one per release, first come first served', async () => {
    const slots = new Slots(2);
    assert.equal(slots.acquire(), undefined);
    assert.equal(slots.acquire(), undefined);
    const order: number[] = [];
    const waits = [1, 2, 3].map((n) => (slots.acquire() as Promise<void>).then(() => order.push(n)));
    assert.equal(slots.waiting, 3);
    slots.release();
    await waits[0];
    assert.deepEqual(order, [1]);
    slots.release();
    slots.release();
    await Promise.all(waits);
    assert.deepEqual(order, [1, 2, 3]);
    // A release hands the slot on: two holders still, whose releases free both slots.
    slots.release();
    slots.release();
    assert.equal(slots.acquire(), undefined);
    assert.equal(slots.acquire(), undefined);
    assert.notEqual(slots.acquire(), undefined, 'a third waits again');
  });

  it('keeps its queue bounded by what waits, through many hand-overs', async () => {
    const slots = new Slots(1);
    slots.acquire();
    const granted: Promise<void>[] = [];
    for (let i = 0; i < 5000; i++) granted.push(slots.acquire() as Promise<void>);
    for (let i = 0; i < 5000; i++) slots.release();
    await Promise.all(granted);
    assert.equal(slots.waiting, 0);
  });

  it('refuses a size that is not a positive integer', () => {
    assert.throws(() => new Slots(0), RangeError);
  });
});
