import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Bus } from '../../src/server/bus/bus.js';
import { DEFAULT_LIMITS } from '../../src/server/config.js';
import type { Access, ChannelMeta } from '../../src/server/core/access.js';
import { Moderation, type ModerationDeps } from '../../src/server/core/moderation.js';
import type {
  ChannelModeration,
  ModerationStore,
  WordFilterList,
} from '../../src/server/store/moderation-store.js';
import type { Store } from '../../src/server/store/store.js';

// What a publish costs the Store (issue 17, and the hot path's budget): the moderation checks
// read a channel's state and the word lists once per cache lifetime, not once per message; an
// announced change, an expired entry or a bus that is down makes them read again.

const channel: ChannelMeta = { id: 'c', kind: 'public', title: 'c', epoch: 'e', archived: false };
const bob = { user: { id: 'bob', username: 'Bob' } };

function harness() {
  const reads = { state: 0, filters: 0 };
  let state: ChannelModeration = { sanctions: [], slowModeSeconds: 0 };
  let lists: WordFilterList[] = [];
  let gate: Promise<void> | undefined;
  const moderation: Partial<ModerationStore> = {
    async channelModeration() {
      reads.state++;
      const seen = state;
      await gate;
      return seen;
    },
    async wordFilters() {
      reads.filters++;
      return lists;
    },
  };
  const clock = { now: 1_000_000 };
  const bus = { connected: true, publish: async () => {} };
  const access = {} as Access;
  const deps = {
    store: { moderation } as unknown as Store,
    bus: bus as unknown as Bus,
    limits: DEFAULT_LIMITS,
    observer: { error: () => {} },
    access,
    sessions: { of: () => [] },
    subscriptions: {},
    now: () => clock.now,
  } as unknown as ModerationDeps;
  const mod = new Moderation(deps);
  const post = (text = 'hello') => mod.checkPost(bob, { channel, role: 'member', text, clientMsgId: null });
  return {
    mod,
    post,
    reads,
    clock,
    bus,
    access,
    setState: (s: ChannelModeration) => {
      state = s;
    },
    setLists: (l: WordFilterList[]) => {
      lists = l;
    },
    hold: () => {
      let release!: () => void;
      gate = new Promise((r) => {
        release = r;
      });
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

describe('Moderation’s cache', () => {
  it('reads a channel’s state and the word lists once for many posts', async () => {
    const h = harness();
    for (let i = 0; i < 100; i++) await h.post();
    assert.deepEqual(h.reads, { state: 1, filters: 1 });
  });

  it('reads again once an entry is accessCacheTtlMs old', async () => {
    const h = harness();
    await h.post();
    h.clock.now += DEFAULT_LIMITS.accessCacheTtlMs - 1;
    await h.post();
    assert.equal(h.reads.state, 1);
    h.clock.now += 1;
    await h.post();
    assert.equal(h.reads.state, 2);
  });

  it('forgets the channel on an announced change, and the lists on a filter change', async () => {
    const h = harness();
    await h.post();
    h.setState({
      sanctions: [
        { channelId: 'c', userId: 'bob', kind: 'mute', until: null, reason: null, by: 'm', createdAt: 0 },
      ],
      slowModeSeconds: 0,
    });
    await h.post();
    h.mod.changed('c', undefined);
    await assert.rejects(h.post(), { code: 'muted' });
    h.setLists([{ channelId: null, words: ['hello'], action: 'reject', updatedAt: 0 }]);
    h.setState({ sanctions: [], slowModeSeconds: 0 });
    h.mod.changed('c', undefined);
    assert.equal(await h.post(), 'hello', 'the lists are still the cached ones');
    h.mod.changed(null, undefined);
    await assert.rejects(h.post(), { code: 'content_rejected' });
    assert.deepEqual(h.reads, { state: 3, filters: 2 });
  });

  it('reads through while the bus is down', async () => {
    const h = harness();
    h.bus.connected = false;
    for (let i = 0; i < 3; i++) await h.post();
    assert.deepEqual(h.reads, { state: 3, filters: 3 });
  });

  it('does not keep a read that a change overtook', async () => {
    const h = harness();
    const release = h.hold();
    const first = h.post();
    // The ban lands while the first read is in flight (it saw the state before it).
    h.setState({
      sanctions: [
        { channelId: 'c', userId: 'bob', kind: 'ban', until: null, reason: null, by: 'm', createdAt: 0 },
      ],
      slowModeSeconds: 0,
    });
    h.mod.changed('c', 'bob');
    release();
    await first;
    await assert.rejects(h.post(), { code: 'banned' });
    assert.equal(await h.access.banned('c', 'bob'), true, 'Access asks Moderation');
  });
});
