/**
 * What the admin console's tap costs (#17): one tap point while no console is open (the
 * `if (tap.on)` every connect, subscribe and publish pays), one while a console watches (the
 * event made and queued), and messages posted through the core with and without a console
 * open on the node (SQLite, group commit, a console that reads everything).
 *
 *   node --import tsx bench/admin-tap-cost.ts [--calls 20000000] [--messages 20000]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { MemoryBus } from '../src/server/bus/memory-bus.js';
import { DEFAULT_LIMITS } from '../src/server/config.js';
import { SYSTEM_USER } from '../src/server/core/actor.js';
import { ChatService } from '../src/server/core/chat-service.js';
import { DebugTap } from '../src/server/core/debug-tap.js';
import { MemoryPresence } from '../src/server/presence/memory-presence.js';
import { openStore } from '../src/server/store/open-store.js';

const { values } = parseArgs({
  options: { calls: { type: 'string', default: '20000000' }, messages: { type: 'string', default: '20000' } },
});
const calls = Number(values.calls);
const messages = Number(values.messages);

function tapPoint(tap: DebugTap, n: number): number {
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    if (tap.on) tap.record('publish', `m seq ${i}`, 'general', 'u1');
  }
  return ((performance.now() - start) * 1e6) / n;
}

const off = new DebugTap('bench', { batchMax: 200 });
tapPoint(off, calls / 10); // warm up
console.log(`tap point, no console open: ${tapPoint(off, calls).toFixed(2)} ns per call`);
const on = new DebugTap('bench', { batchMax: 1_000_000 });
on.setSink(() => {});
on.watchUntil(Date.now() + 3_600_000);
console.log(`tap point, a console watching: ${tapPoint(on, calls / 100).toFixed(1)} ns per event`);
on.close();

const dir = await mkdtemp(join(tmpdir(), 'parley-tap-bench-'));
const store = await openStore(`sqlite:${join(dir, 'bench.db')}`);
const tap = new DebugTap('bench', { batchMax: DEFAULT_LIMITS.adminTraceBatchMax });
const chat = new ChatService({
  store,
  bus: new MemoryBus(),
  presence: new MemoryPresence(),
  limits: { ...DEFAULT_LIMITS, publishBurst: 1e9, publishPerSecond: 1e9 },
  observer: {
    error: (err) => console.error(err),
    messageCreated: (m) => {
      if (tap.on) tap.record('publish', `${m.id} seq ${m.seq}`, m.channel, m.user_id);
    },
  },
  tap,
});
try {
  await store.migrate();
  await chat.start();
  await chat.channels.ensure(['general']);
  const actor = { user: SYSTEM_USER, system: true };
  const post = async (label: string) => {
    const start = performance.now();
    const batch = 500;
    for (let i = 0; i < messages; i += batch) {
      await Promise.all(
        Array.from({ length: batch }, (_, j) =>
          chat.messages.post(actor, { channel: 'general', text: `m${i + j}`, clientMsgId: null }),
        ),
      );
    }
    const s = (performance.now() - start) / 1000;
    console.log(`${label}: ${Math.round(messages / s)} messages/s`);
  };
  await post('warm-up');
  await post('posting, no console open');
  let seen = 0;
  let dropped = 0;
  const stop = await chat.admin.open({
    trace: (entries, d) => {
      seen += entries.length;
      dropped += d;
    },
    nodes: () => {},
  });
  await post('posting, a console open');
  await new Promise((r) => setTimeout(r, 200));
  console.log(
    `  the console got ${seen} events, ${dropped} dropped (at most ${DEFAULT_LIMITS.adminTraceBatchMax} per 100 ms)`,
  );
  stop();
  await post('posting, no console open again');
} finally {
  chat.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
