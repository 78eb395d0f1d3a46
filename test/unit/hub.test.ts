import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/protocol/frames.js';
import { channelTopic } from '../../src/server/bus/bus.js';
import { MemoryBus } from '../../src/server/bus/memory-bus.js';
import { Hub, type HubClient } from '../../src/server/hub.js';
import type { OutFrame } from '../../src/server/transport/text-frame.js';
import { readTextFrames } from '../support/read-text-frames.js';

class RecordingClient implements HubClient {
  readonly frames: Buffer[] = [];
  constructor(
    readonly id: string,
    readonly userId: string,
  ) {}
  sendFrame(frame: OutFrame): void {
    this.frames.push(frame.plain);
  }
  close(): void {}
}

function text(frame: Buffer): unknown {
  const [json, ...rest] = readTextFrames(frame);
  assert.equal(rest.length, 0, 'one frame');
  return JSON.parse(json!);
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
    const client = new RecordingClient('a', 'ann');
    const sub = await hub.subscribe('general', client);
    assert.equal(sub.buffer, undefined, 'nothing held before a message arrives');
    await bus.publish(channelTopic('general'), { kind: 'message', message: message(1) });
    await bus.publish(channelTopic('general'), { kind: 'message', message: message(2) });
    assert.equal(client.frames.length, 0, 'not sent while the history is read');
    await hub.activate(sub, 0);
    assert.deepEqual(
      client.frames.map((f) => (text(f) as Message).seq),
      [1, 2],
    );
    assert.equal(sub.buffer, undefined, 'an active subscription holds no buffer');
    await bus.publish(channelTopic('general'), { kind: 'message', message: message(3) });
    assert.equal((text(client.frames[2]!) as Message).seq, 3);
  });

  it('encodes and frames a broadcast once: every subscriber gets the same WebSocket frame', async () => {
    const bus = new MemoryBus();
    const hub = new Hub(bus, { after: async () => [] });
    const clients = ['a', 'b', 'c'].map((id) => new RecordingClient(id, id));
    for (const c of clients) await hub.activate(await hub.subscribe('general', c), 0);
    await bus.publish(channelTopic('general'), { kind: 'message', message: message(1) });
    await bus.publish(channelTopic('general'), {
      kind: 'presence',
      channel: 'general',
      event: 'join',
      user: { id: 'bob', username: 'Bob' },
    });
    const [first, ...others] = clients.map((c) => c.frames);
    assert.equal(first?.length, 2);
    for (const frames of others) {
      assert.equal(frames[0], first?.[0], 'the same Buffer, not a copy per socket');
      assert.equal(frames[1], first?.[1]);
    }
    assert.deepEqual(text(first![0]!), { type: 'message', ...message(1) });
    assert.deepEqual(text(first![1]!), {
      type: 'presence',
      channel: 'general',
      event: 'join',
      user: { id: 'bob', username: 'Bob' },
    });
    hub.close();
  });
});
