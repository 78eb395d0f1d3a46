import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Access } from '../../src/server/core/access.js';
import { openStore } from '../../src/server/store/open-store.js';
import type { Store } from '../../src/server/store/store.js';
import { until } from '../support/until.js';

// The node's cache of roles and channels in front of a real (in-memory SQLite) Store: how long
// it trusts what it read, and when it does not trust it at all.

describe('Access cache', () => {
  let store: Store;
  let n = 0;
  const fresh = (p: string) => `${p}${++n}`;

  before(async () => {
    store = await openStore('sqlite::memory:');
    await store.migrate();
  });
  after(() => store.close());

  async function privateChannelWith(user: string): Promise<string> {
    const id = fresh('c');
    await store.upsertUser({ id: user, username: user });
    await store.createChannel({ id, kind: 'private', title: id, owner: null });
    await store.setMember(id, user, 'member');
    return id;
  }

  it('trusts a cached role for the TTL, then reads the Store again', async () => {
    let now = 1_000_000;
    const access = new Access(store, { ttlMs: 5000, now: () => now });
    const user = fresh('u');
    const channel = await privateChannelWith(user);
    assert.equal(await access.role(channel, user), 'member');
    await store.removeMember(channel, user);
    now += 4999;
    assert.equal(await access.role(channel, user), 'member', 'within the TTL: the cached role');
    now += 1;
    assert.equal(await access.role(channel, user), undefined, 'at the TTL: read again');
  });

  it('reads through to the Store while the bus is down, and trusts the cache again after', async () => {
    let down = false;
    const access = new Access(store, { ttlMs: 60_000, readThrough: () => down });
    const user = fresh('u');
    const channel = await privateChannelWith(user);
    assert.equal(await access.role(channel, user), 'member');
    assert.equal((await access.channel(channel))?.kind, 'private');
    down = true;
    await store.removeMember(channel, user);
    await store.updateChannel(channel, { title: 'renamed' });
    assert.equal(await access.role(channel, user), undefined);
    assert.equal((await access.channel(channel))?.title, 'renamed');
    down = false;
    // What the reads while down found is what the cache holds now.
    await store.setMember(channel, user, 'readonly');
    assert.equal(await access.role(channel, user), undefined);
  });

  it('forgets every role and channel at once on clear', async () => {
    const access = new Access(store, { ttlMs: 60_000 });
    const user = fresh('u');
    const channel = await privateChannelWith(user);
    assert.equal(await access.role(channel, user), 'member');
    assert.equal((await access.channel(channel))?.title, channel);
    await store.setMember(channel, user, 'readonly');
    await store.updateChannel(channel, { title: 'renamed' });
    access.clear();
    assert.equal(await access.role(channel, user), 'readonly');
    assert.equal((await access.channel(channel))?.title, 'renamed');
  });

  it('does not cache a read that an invalidation overtook', async () => {
    const user = fresh('u');
    const channel = await privateChannelWith(user);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let gated = true;
    // The Store, with getRole held at the gate once: the read starts before the change.
    const slow = new Proxy(store, {
      get(target, key) {
        const value = Reflect.get(target, key, target) as unknown;
        if (key === 'getRole' && gated) {
          return async (c: string, u: string) => {
            const role = await target.getRole(c, u);
            gated = false;
            await gate;
            return role;
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const access = new Access(slow, { ttlMs: 60_000 });
    const stale = access.role(channel, user);
    await until(() => !gated, 'the read to reach the Store');
    await store.removeMember(channel, user);
    access.forgetRole(channel, user);
    release();
    assert.equal(await stale, 'member', 'the read itself answers what it read');
    assert.equal(await access.role(channel, user), undefined, 'but it was not kept');
  });

  /** The Store, counting its getChannel and getRole calls, each held at a gate until released. */
  function gatedStore() {
    const calls = { getChannel: 0, getRole: 0 };
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const gated = new Proxy(store, {
      get(target, key) {
        const value = Reflect.get(target, key, target) as unknown;
        if (key === 'getChannel' || key === 'getRole') {
          return async (...args: [string, string]) => {
            calls[key]++;
            await gate;
            return key === 'getChannel' ? target.getChannel(args[0]) : target.getRole(...args);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return { gated, calls, release: () => release() };
  }

  it('makes one Store read for requests that miss the cache at the same time', async () => {
    const user = fresh('u');
    const channel = await privateChannelWith(user);
    const { gated, calls, release } = gatedStore();
    const access = new Access(gated, { ttlMs: 60_000 });
    const channels = Promise.all([1, 2, 3].map(() => access.channel(channel)));
    const roles = Promise.all([1, 2, 3].map(() => access.role(channel, user)));
    release();
    assert.deepEqual(
      (await channels).map((c) => c?.id),
      [channel, channel, channel],
    );
    assert.deepEqual(await roles, ['member', 'member', 'member']);
    assert.deepEqual(calls, { getChannel: 1, getRole: 1 });
  });

  it('does not share a read with a request made after an invalidation', async () => {
    const user = fresh('u');
    const channel = await privateChannelWith(user);
    const { gated, calls, release } = gatedStore();
    const access = new Access(gated, { ttlMs: 60_000 });
    const before = access.role(channel, user);
    await store.removeMember(channel, user);
    access.forgetRole(channel, user);
    const afterChange = access.role(channel, user);
    release();
    await before;
    assert.equal(await afterChange, undefined, 'its own read, made after the change');
    assert.equal(calls.getRole, 2);
  });

  it('shares no read while the bus is down: every request reads the Store', async () => {
    const user = fresh('u');
    const channel = await privateChannelWith(user);
    const { gated, calls, release } = gatedStore();
    const access = new Access(gated, { ttlMs: 60_000, readThrough: () => true });
    const roles = Promise.all([1, 2, 3].map(() => access.role(channel, user)));
    release();
    assert.deepEqual(await roles, ['member', 'member', 'member']);
    assert.equal(calls.getRole, 3);
  });
});
