/**
 * What the revocation safety nets cost (docs/operations.md, "Revocation across nodes"): an
 * access check from the role and channel cache against one read through to the Store (what
 * every action costs while the bus is down), and one re-check of a node's live sessions and
 * subscriptions (what a resync, each `PARLEY_RECHECK_WHILE_DOWN_MS` of an outage and each
 * `PARLEY_RECHECK_INTERVAL_MS` cost).
 *
 *   node --import tsx bench/recheck-cost.ts [--db URL] [--users 1000] [--private 5] [--checks 20000]
 *     [--own]
 *
 * `--users` users with one session each, each subscribed to `--private` private channels (and
 * a member of them): the same channels for everyone, or with `--own` channels of their own (as
 * DMs are: one subscriber per channel on the node, the re-check's costliest case). Each re-check
 * starts from an empty cache, as after a resync. Without `--db`, a fresh SQLite file in a temp
 * dir, deleted afterwards; with one, the tables are made in it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { UserInfo } from '../src/protocol/frames.js';
import { MemoryBus } from '../src/server/bus/memory-bus.js';
import { DEFAULT_LIMITS } from '../src/server/config.js';
import { Access } from '../src/server/core/access.js';
import { ChatService } from '../src/server/core/chat-service.js';
import type { WireEncoder } from '../src/server/core/delivery.js';
import type { Subscription } from '../src/server/core/hub.js';
import type { Session } from '../src/server/core/session.js';
import { MemoryPresence } from '../src/server/presence/memory-presence.js';
import { openStore } from '../src/server/store/open-store.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    users: { type: 'string', default: '1000' },
    private: { type: 'string', default: '5' },
    checks: { type: 'string', default: '20000' },
    own: { type: 'boolean', default: false },
  },
});
const users = Number(values.users);
const perUser = Number(values.private);
const checks = Number(values.checks);

const discard: WireEncoder<null> = { wire: 'bench', encode: () => null };

class QuietSession implements Session {
  static #n = 0;
  readonly id = `s${++QuietSession.#n}`;
  readonly subscriptions = new Map<string, Subscription>();
  readonly typingAt = new Map<string, number>();
  readonly encoder = discard;
  readonly issuedAt = Date.now();
  constructor(readonly user: UserInfo) {}
  get userId(): string {
    return this.user.id;
  }
  write(): void {}
  close(): void {}
}

const dir = values.db === undefined ? await mkdtemp(join(tmpdir(), 'parley-bench-')) : undefined;
const url = values.db ?? `sqlite:${join(dir as string, 'bench.db')}`;
const store = await openStore(url);
const chat = new ChatService({
  store,
  bus: new MemoryBus(),
  presence: new MemoryPresence(),
  limits: { ...DEFAULT_LIMITS, recheckIntervalMs: 3_600_000 },
  observer: { error: (err) => console.error(err) },
});
try {
  await store.migrate();
  await chat.start();
  const run = Date.now().toString(36);
  const channelsOf = (u: number) =>
    Array.from({ length: perUser }, (_, i) => (values.own ? `bench-${run}-${u}-${i}` : `bench-${run}-${i}`));
  const channels = new Set(Array.from({ length: users }, (_, u) => channelsOf(u)).flat());
  for (const id of channels) await store.createChannel({ id, kind: 'private', title: id, owner: null });
  for (let u = 0; u < users; u++) {
    const user = { id: `u-${run}-${u}`, username: `u${u}` };
    await store.upsertUser(user);
    const mine = channelsOf(u);
    for (const c of mine) await store.setMember(c, user.id, 'member');
    const session = new QuietSession(user);
    await chat.sessionOpened(session);
    for (const c of mine) await chat.subscriptions.subscribe(session, { channel: c, history: 0 }, () => {});
  }

  const actor = { user: { id: `u-${run}-0`, username: 'u0' } };
  const own = channelsOf(0);
  const time = async (access: Access) => {
    const start = performance.now();
    for (let i = 0; i < checks; i++) await access.check(actor, own[i % own.length] as string);
    return ((performance.now() - start) * 1000) / checks;
  };
  const cachedUs = await time(new Access(store));
  const throughUs = await time(new Access(store, { readThrough: () => true }));

  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    chat.access.clear();
    const start = performance.now();
    const result = await chat.recheck();
    runs.push(performance.now() - start);
    if (result.sessionsClosed + result.subscriptionsEnded > 0)
      throw new Error('the re-check changed something');
  }
  runs.sort((a, b) => a - b);
  const median = runs[2] as number;
  // A status per user, then per channel its row and its member list (or, with fewer than four
  // subscribers here, each one's role).
  const reads = users + channels.size + (values.own ? users * perUser : channels.size);
  console.log(
    JSON.stringify({
      db: url.split(':')[0],
      users,
      privateSubscriptionsPerUser: perUser,
      channels: channels.size,
      accessCheckCachedUs: Number(cachedUs.toFixed(1)),
      accessCheckReadThroughUs: Number(throughUs.toFixed(1)),
      recheckMs: Number(median.toFixed(0)),
      recheckStoreReads: reads,
      recheckUsPerRead: Number(((median * 1000) / reads).toFixed(1)),
    }),
  );
} finally {
  chat.close();
  await store.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}
