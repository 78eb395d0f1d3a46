import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/protocol/frames.js';
import { channelTopic } from '../../src/server/bus/bus.js';
import { MemoryBus } from '../../src/server/bus/memory-bus.js';
import type { Recipient, WireEncoder } from '../../src/server/core/delivery.js';
import type { DeliveryEvent } from '../../src/server/core/events.js';
import { Hub } from '../../src/server/core/hub.js';

/** An encoder that records how often it ran and wraps each event in a fresh object. */
class CountingEncoder implements WireEncoder<{ readonly event: DeliveryEvent }> {
  calls = 0;
  constructor(
    readonly wire: string,
    readonly skip: DeliveryEvent['kind'][] = [],
  ) {}
  encode(event: DeliveryEvent): { readonly event: DeliveryEvent } | undefined {
    this.calls++;
    return this.skip.includes(event.kind) ? undefined : { event };
  }
}

class RecordingRecipient implements Recipient<{ readonly event: DeliveryEvent }> {
  readonly written: { readonly event: DeliveryEvent }[] = [];
  constructor(
    readonly id: string,
    readonly userId: string,
    readonly encoder: CountingEncoder,
  ) {}
  write(bytes: { readonly event: DeliveryEvent }): void {
    this.written.push(bytes);
  }
  close(): void {}
  get seqs(): number[] {
    return this.written.flatMap((w) => (w.event.kind === 'message' ? [w.event.message.seq] : []));
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
  client_msg_id: `c${seq}`,
});

describe('Hub', () => {
  it('holds live messages while the history is read, sends them after it in order, then keeps no buffer', async () => {
    const bus = new MemoryBus();
    const hub = new Hub(bus, { after: async () => [] });
    const client = new RecordingRecipient('a', 'ann', new CountingEncoder('test'));
    const sub = await hub.subscribe('general', client);
    assert.equal(sub.buffer, undefined, 'nothing held before a message arrives');
    await bus.publish(channelTopic('general'), { kind: 'message', message: message(1) });
    await bus.publish(channelTopic('general'), { kind: 'message', message: message(2) });
    assert.equal(client.written.length, 0, 'not sent while the history is read');
    await hub.activate(sub, 0);
    assert.deepEqual(client.seqs, [1, 2]);
    assert.equal(sub.buffer, undefined, 'an active subscription holds no buffer');
    await bus.publish(channelTopic('general'), { kind: 'message', message: message(3) });
    assert.deepEqual(client.seqs, [1, 2, 3]);
    hub.close();
  });

  it('encodes a broadcast once per wire: every recipient of a wire gets the same bytes', async () => {
    const bus = new MemoryBus();
    const hub = new Hub(bus, { after: async () => [] });
    const v1 = new CountingEncoder('one');
    const other = new CountingEncoder('two');
    const clients = [
      new RecordingRecipient('a', 'a', v1),
      new RecordingRecipient('b', 'b', other),
      new RecordingRecipient('c', 'c', v1),
      new RecordingRecipient('d', 'd', other),
      new RecordingRecipient('e', 'e', v1),
    ];
    for (const c of clients) await hub.activate(await hub.subscribe('general', c), 0);
    await bus.publish(channelTopic('general'), { kind: 'message', message: message(1) });
    const join = {
      kind: 'presence',
      channel: 'general',
      event: 'join',
      user: { id: 'bob', username: 'Bob' },
    } as const;
    await bus.publish(channelTopic('general'), join);
    assert.equal(v1.calls, 2, 'one encode per event for the first wire');
    assert.equal(other.calls, 2, 'one encode per event for the second wire');
    const [a, b, c, d, e] = clients.map((x) => x.written);
    assert.equal(a?.length, 2);
    for (const same of [c, e]) for (const i of [0, 1]) assert.equal(same?.[i], a?.[i], 'the same object');
    for (const i of [0, 1]) assert.equal(d?.[i], b?.[i]);
    assert.notEqual(a?.[0], b?.[0], 'each wire has its own encoding');
    assert.deepEqual(a?.[0]?.event, { kind: 'message', message: message(1) });
    assert.deepEqual(a?.[1]?.event, join);
    hub.close();
  });

  it('skips recipients whose wire does not carry an event, and never echoes typing to its author', async () => {
    const bus = new MemoryBus();
    const hub = new Hub(bus, { after: async () => [] });
    const quiet = new RecordingRecipient('q', 'quinn', new CountingEncoder('quiet', ['typing']));
    const ann = new RecordingRecipient('a', 'ann', new CountingEncoder('full'));
    const bob = new RecordingRecipient('b', 'bob', ann.encoder);
    for (const c of [quiet, ann, bob]) await hub.activate(await hub.subscribe('general', c), 0);
    await bus.publish(channelTopic('general'), {
      kind: 'typing',
      channel: 'general',
      user: { id: 'ann', username: 'Ann' },
    });
    assert.equal(quiet.written.length, 0, 'the wire without typing got nothing');
    assert.equal(ann.written.length, 0, 'not echoed to the typist');
    assert.equal(bob.written.length, 1);
    hub.close();
  });

  it('reads what it missed for a new subscription from the source, encoded for its wire', async () => {
    const bus = new MemoryBus();
    const stored = [message(1), message(2), message(3)];
    const hub = new Hub(bus, {
      after: async (_channel, after, limit) => stored.filter((m) => m.seq > after).slice(0, limit),
    });
    const first = new RecordingRecipient('a', 'ann', new CountingEncoder('one'));
    await hub.activate(await hub.subscribe('general', first), 3);
    const late = new RecordingRecipient('b', 'bob', new CountingEncoder('one'));
    const sub = await hub.subscribe('general', late);
    await hub.activate(sub, 1);
    assert.deepEqual(late.seqs, [2, 3], 'what it lacked, in order, once');
    assert.deepEqual(first.seqs, []);
    hub.close();
  });
});
