import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { AfterPoll } from '../../src/server/transport/ws/after-poll.js';

// Lets the event loop go round `n` times (each pass of AfterPoll runs in one of them).
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('AfterPoll', () => {
  it('runs everything queued in a loop turn in one pass, in order, after the current callback', async (t) => {
    const immediate = t.mock.method(globalThis, 'setImmediate');
    const after = new AfterPoll();
    const ran: number[] = [];
    for (let i = 0; i < 1000; i++) after.push(() => ran.push(i));
    assert.deepEqual(ran, [], 'nothing runs synchronously');
    assert.equal(immediate.mock.callCount(), 1, 'one setImmediate for the whole turn');
    immediate.mock.restore();
    await turns(2);
    assert.deepEqual(
      ran,
      Array.from({ length: 1000 }, (_, i) => i),
    );
  });

  it('runs what promise reactions of the same tick queued with the rest', async () => {
    const after = new AfterPoll();
    const ran: string[] = [];
    const settled = Promise.resolve();
    void settled.then(() => after.push(() => ran.push('a')));
    void settled.then(() => {
      after.push(() => ran.push('b'));
      assert.deepEqual(ran, [], 'not between the reactions');
    });
    await turns(2);
    assert.deepEqual(ran, ['a', 'b']);
  });

  it('runs once for what several I/O callbacks of one poll queued', async () => {
    const after = new AfterPoll();
    const ran: string[] = [];
    const { port1, port2 } = new MessageChannel();
    let received = 0;
    const bothReceived = new Promise<void>((resolve) => {
      port1.on('message', (name: string) => {
        after.push(() => ran.push(`${name} after ${received} received`));
        if (++received === 2) resolve();
      });
    });
    port2.postMessage('a');
    port2.postMessage('b');
    await bothReceived;
    await turns(2);
    port1.close();
    assert.deepEqual(ran, ['a after 2 received', 'b after 2 received']);
  });

  it('keeps what is queued while it runs for the next pass', async () => {
    const after = new AfterPoll();
    const ran: string[] = [];
    after.push(() => {
      ran.push('first');
      after.push(() => ran.push('second'));
    });
    await turns(1);
    assert.deepEqual(ran, ['first'], 'not in the pass that queued it');
    await turns(2);
    assert.deepEqual(ran, ['first', 'second']);
  });

  it('calls a shared function with the argument queued with it, in order', async () => {
    const after = new AfterPoll();
    const ran: string[] = [];
    const record = (name: string) => ran.push(name);
    for (const name of ['a', 'b', 'c']) after.push(record, name);
    after.push(() => ran.push('d'));
    assert.deepEqual(ran, [], 'nothing runs synchronously');
    await turns(2);
    assert.deepEqual(ran, ['a', 'b', 'c', 'd']);
  });
});
