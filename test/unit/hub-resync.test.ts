import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/protocol/frames.js';
import { type BusEvent, channelTopic } from '../../src/server/bus/bus.js';
import { MemoryBus } from '../../src/server/bus/memory-bus.js';
import type { Recipient, WireEncoder } from '../../src/server/core/delivery.js';
import type { DeliveryEvent } from '../../src/server/core/events.js';
import { Hub } from '../../src/server/core/hub.js';
import { until } from '../support/until.js';

// What the hub does when the bus may have lost events: the re-check first, with channel events
// held, then what it held, then what it missed.

const encoder: WireEncoder<DeliveryEvent> = { wire: 'test', encode: (event) => event };

class RecordingRecipient implements Recipient<DeliveryEvent> {
  readonly written: DeliveryEvent[] = [];
  readonly encoder = encoder;
  constructor(
    readonly id: string,
    readonly userId: string,
  ) {}
  write(event: DeliveryEvent): void {
    this.written.push(event);
  }
  close(): void {}
  get seqs(): number[] {
    return this.written.flatMap((e) => (e.kind === 'message' ? [e.message.seq] : []));
  }
}

const message = (seq: number): Message => ({
  id: `m${seq}`,
  channel: 'general',
  seq,
  user_id: 'ann',
  username: 'Ann',
  text: `hello ${seq}`,
  ts: 1_700_000_000_000 + seq,
  client_msg_id: null,
});

const posted = (seq: number): BusEvent => ({ kind: 'message', message: message(seq) });

/** A re-check the test finishes when it wants, counting how often it ran. */
function controlledRecheck() {
  const runs: (() => void)[] = [];
  return {
    runs,
    recheck: () =>
      new Promise<void>((resolve) => {
        runs.push(resolve);
      }),
  };
}

describe('Hub resync', () => {
  it('holds channel events while the re-check runs; what it ended gets none of them', async () => {
    const bus = new MemoryBus();
    const stored = [message(1), message(2)];
    const { runs, recheck } = controlledRecheck();
    const hub = new Hub(
      bus,
      { after: async (_c, after) => stored.filter((m) => m.seq > after) },
      {
        beforeResync: recheck,
      },
    );
    const stays = new RecordingRecipient('a', 'ann');
    const removed = new RecordingRecipient('b', 'bob');
    const subs = [await hub.subscribe('general', stays), await hub.subscribe('general', removed)];
    for (const sub of subs) await hub.activate(sub, 0);

    hub.resync();
    await bus.publish(channelTopic('general'), posted(1));
    await bus.publish(channelTopic('general'), {
      kind: 'typing',
      channel: 'general',
      user: { id: 'cy', username: 'Cy' },
    });
    assert.equal(stays.written.length, 0, 'nothing delivered during the re-check');
    hub.unsubscribe(subs[1]!);
    runs[0]!();
    // Message 2 was never on the bus: read after the held ones.
    await until(() => stays.seqs.length === 2, 'held and missed messages');
    assert.deepEqual(stays.seqs, [1, 2]);
    assert.ok(
      stays.written.some((e) => e.kind === 'typing'),
      'held typing delivered too',
    );
    assert.deepEqual(removed.written, []);
  });

  it('runs one more re-check for a signal that came during one, and delivers after both', async () => {
    const bus = new MemoryBus();
    const { runs, recheck } = controlledRecheck();
    const hub = new Hub(bus, { after: async () => [] }, { beforeResync: recheck });
    const r = new RecordingRecipient('a', 'ann');
    const sub = await hub.subscribe('general', r);
    await hub.activate(sub, 0);

    hub.resync();
    hub.resync();
    hub.resync();
    await bus.publish(channelTopic('general'), posted(1));
    assert.equal(runs.length, 1);
    runs[0]!();
    await until(() => runs.length === 2, 'the second re-check');
    assert.deepEqual(r.seqs, [], 'still held during the second');
    runs[1]!();
    await until(() => r.seqs.length === 1, 'delivery after the second');
    assert.equal(runs.length, 2, 'two signals during one run make one more run, not two');
  });

  it('re-reads from the source the messages beyond what it holds', async () => {
    const bus = new MemoryBus();
    const stored = [1, 2, 3, 4, 5].map(message);
    const { runs, recheck } = controlledRecheck();
    const hub = new Hub(
      bus,
      { after: async (_c, after) => stored.filter((m) => m.seq > after) },
      {
        beforeResync: recheck,
        pendingMax: 2,
      },
    );
    const r = new RecordingRecipient('a', 'ann');
    const sub = await hub.subscribe('general', r);
    await hub.activate(sub, 0);

    hub.resync();
    for (let seq = 1; seq <= 5; seq++) await bus.publish(channelTopic('general'), posted(seq));
    runs[0]!();
    await until(() => r.seqs.length === 5, 'every message');
    assert.deepEqual(r.seqs, [1, 2, 3, 4, 5]);
  });

  it('delivers again when the re-check fails, and reports it', async () => {
    const bus = new MemoryBus();
    const errors: string[] = [];
    const hub = new Hub(
      bus,
      { after: async () => [] },
      {
        beforeResync: async () => {
          throw new Error('store down');
        },
        onError: (_err, what) => errors.push(what),
      },
    );
    const r = new RecordingRecipient('a', 'ann');
    const sub = await hub.subscribe('general', r);
    await hub.activate(sub, 0);
    hub.resync();
    await bus.publish(channelTopic('general'), posted(1));
    await until(() => r.seqs.length === 1, 'delivery after the failed re-check');
    assert.deepEqual(errors, ['resync re-check']);
  });
});
