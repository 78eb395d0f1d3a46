/**
 * What retention costs (docs/operations.md, "Retention"): the time one prune batch holds its
 * transaction (the bound on how long it keeps appends of that channel waiting), and messages
 * pruned per second with the pause between batches left out.
 *
 *   node --import tsx bench/prune-cost.ts [--db URL] [--messages 20000] [--batch 500]
 *
 * `--messages` messages in one channel, appended in batches, then all pruned by batches of
 * `--batch`. Without `--db`, a fresh SQLite file in a temp dir, deleted afterwards; with one,
 * the tables are made in it (use a throwaway database).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openStore } from '../src/server/store/open-store.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    messages: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '500' },
  },
});
const total = Number(values.messages);
const batch = Number(values.batch);
const dir = values.db === undefined ? await mkdtemp(join(tmpdir(), 'parley-prune-')) : undefined;
const url = values.db ?? `sqlite:${join(dir as string, 'parley.db')}`;
const store = await openStore(url);
try {
  await store.migrate();
  const channel = `prune-${Date.now()}`;
  await store.createChannel({ id: channel, kind: 'public', title: channel, owner: null });
  for (let sent = 0; sent < total; sent += 1000) {
    const n = Math.min(1000, total - sent);
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        store.append({
          channelId: channel,
          userId: `u${i % 50}`,
          username: 'U',
          text: `message number ${sent + i} with a few words to index`,
          clientMsgId: null,
        }),
      ),
    );
  }
  const times: number[] = [];
  const start = performance.now();
  let pruned = 0;
  for (;;) {
    const t = performance.now();
    const n = await store.pruneChannel(channel, Date.now() + 1, batch);
    times.push(performance.now() - t);
    pruned += n;
    if (n < batch) break;
  }
  const elapsed = (performance.now() - start) / 1000;
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]?.toFixed(1);
  console.log(
    JSON.stringify({
      db: url.split(':')[0],
      pruned,
      batch,
      batches: times.length,
      perSecond: Math.round(pruned / elapsed),
      batchMs: { p50: at(0.5), p99: at(0.99), max: at(1) },
    }),
  );
} finally {
  await store.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}
