import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import type { BusEvent } from '../../src/server/bus/bus.js';
import { MemoryBus } from '../../src/server/bus/memory-bus.js';
import type { TraceEntry } from '../../src/server/core/admin-events.js';
import { AdminFeed } from '../../src/server/core/admin-feed.js';
import { DebugTap } from '../../src/server/core/debug-tap.js';
import { streamAdminFeed } from '../../src/server/http/admin-stream.js';

/** A MemoryBus that counts the admin events published on it. */
class CountingBus extends MemoryBus {
  admin = 0;
  override async publish(topic: string, event: BusEvent): Promise<void> {
    if (event.kind.startsWith('admin_')) this.admin++;
    return super.publish(topic, event);
  }
}

function feedOn(bus: MemoryBus, tap: DebugTap, consolesMax = 4): AdminFeed {
  const feed = new AdminFeed({
    bus,
    tap,
    watchMs: 60_000,
    consolesMax,
    onError: () => {},
    report: () => ({ connections: 0, sessions: 0, channels: 0, busConnected: true, users: [], userCount: 0 }),
  });
  // What ChatService does with admin events from the bus.
  bus.setHandler((_topic, event) => {
    if (event.kind === 'admin_watch' || event.kind === 'admin_node' || event.kind === 'admin_trace')
      feed.onBus(event);
  });
  return feed;
}

function flushed(sink: { entries: TraceEntry[]; dropped: number }[]): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (sink.length > 0 ? resolve() : setTimeout(check, 10));
    check();
  });
}

describe('DebugTap and AdminFeed', () => {
  it('records nothing and publishes nothing while no console is open', async () => {
    const bus = new CountingBus();
    await bus.subscribe('control');
    const tap = new DebugTap('n1', { batchMax: 10 });
    const feed = feedOn(bus, tap);
    assert.equal(tap.on, false);
    tap.record('publish', 'x', 'general', 'u1');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(bus.admin, 0, 'no admin event crossed the bus');
    feed.close();
  });

  it('keeps at most batchMax events per flush and counts the rest as dropped', async () => {
    const tap = new DebugTap('n1', { batchMax: 3 });
    const sink: { entries: TraceEntry[]; dropped: number }[] = [];
    tap.setSink((entries, dropped) => sink.push({ entries: [...entries], dropped }));
    tap.watchUntil(Date.now() + 60_000);
    for (let i = 0; i < 10; i++) tap.record('publish', `m${i}`, 'general', 'u1');
    await flushed(sink);
    assert.equal(sink[0]?.entries.length, 3);
    assert.equal(sink[0]?.dropped, 7);
    assert.deepEqual(
      sink[0]?.entries.map((e) => e.detail),
      ['m0', 'm1', 'm2'],
    );
    tap.close();
  });

  it('cuts a long detail to 200 characters', async () => {
    const tap = new DebugTap('n1', { batchMax: 3 });
    const sink: { entries: TraceEntry[]; dropped: number }[] = [];
    tap.setSink((entries, dropped) => sink.push({ entries: [...entries], dropped }));
    tap.watchUntil(Date.now() + 60_000);
    tap.record('error', 'x'.repeat(1000));
    await flushed(sink);
    assert.equal(sink[0]?.entries[0]?.detail.length, 200);
    tap.close();
  });

  it('turns the tap on when a console opens, and gives each console the events its filters pass', async () => {
    const bus = new MemoryBus();
    await bus.subscribe('control');
    const tap = new DebugTap('n1', { batchMax: 100 });
    const feed = feedOn(bus, tap);
    const got: TraceEntry[] = [];
    const stop = await feed.open({
      channel: 'ops',
      trace: (entries) => got.push(...entries),
      nodes: () => {},
    });
    assert.equal(tap.on, true);
    tap.record('publish', 'a', 'general', 'u1');
    tap.record('connect', 'b', undefined, 'u1');
    tap.record('publish', 'c', 'ops', 'u2');
    await new Promise<void>((resolve) => {
      const check = () => (got.length > 0 ? resolve() : setTimeout(check, 10));
      check();
    });
    assert.deepEqual(
      got.map((e) => e.detail),
      ['c'],
    );
    stop();
    feed.close();
  });

  it('refuses a console past consolesMax', async () => {
    const bus = new MemoryBus();
    const tap = new DebugTap('n1', { batchMax: 100 });
    const feed = feedOn(bus, tap, 1);
    const console = { trace: () => {}, nodes: () => {} };
    const stop = await feed.open(console);
    assert.equal(feed.full, true);
    await assert.rejects(
      feed.open({ ...console }),
      (err: Error & { code?: string }) => err.code === 'rate_limited',
    );
    stop();
    assert.equal(feed.full, false);
    feed.close();
  });
});

/** A response that holds whatever it is given, with as much unsent as the test says. */
class HeldResponse extends EventEmitter {
  destroyed = false;
  writableLength = 0;
  written = '';
  writeHead(): this {
    return this;
  }
  flushHeaders(): void {}
  write(chunk: string): boolean {
    this.written += chunk;
    return true;
  }
  end(chunk?: string): void {
    if (chunk !== undefined) this.written += chunk;
  }
}

describe('the admin event stream', () => {
  it('drops events while a slow console has more than bufferBytes unsent, and then says how many', async () => {
    const bus = new MemoryBus();
    const tap = new DebugTap('n1', { batchMax: 100 });
    const feed = feedOn(bus, tap);
    const res = new HeldResponse();
    const socket = new EventEmitter();
    const req = { socket } as unknown as IncomingMessage;
    await streamAdminFeed(req, res as unknown as ServerResponse, { feed, bufferBytes: 1000 });
    assert.match(res.written, /^event: hello\n/);

    const entry = (detail: string): TraceEntry => ({ at: 1, node: 'n2', type: 'publish', detail });
    res.writableLength = 5000; // the console stopped reading
    feed.onBus({ kind: 'admin_trace', node: 'n2', entries: [entry('lost1'), entry('lost2')], dropped: 1 });
    assert.ok(!res.written.includes('lost1'), 'nothing is queued for a slow console');
    res.writableLength = 0; // it reads again
    feed.onBus({ kind: 'admin_trace', node: 'n2', entries: [entry('kept')], dropped: 0 });
    const last = res.written.trim().split('\n\n').at(-1) ?? '';
    assert.match(last, /^event: trace\n/);
    const data = JSON.parse(last.split('\ndata: ')[1] ?? '{}') as { entries: TraceEntry[]; dropped: number };
    assert.deepEqual(
      data.entries.map((e) => e.detail),
      ['kept'],
    );
    assert.equal(data.dropped, 3, 'the two it dropped and the one node n2 dropped');
    socket.emit('close');
    assert.equal(feed.full, false);
    feed.close();
  });
});
