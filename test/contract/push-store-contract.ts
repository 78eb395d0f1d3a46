import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { PendingPush } from '../../src/server/store/push-store.js';
import type { Store } from '../../src/server/store/store.js';
import type { StoreHarness } from './store-contract.js';

const unique = () => randomBytes(4).toString('hex');

/**
 * The Web Push part of the Store contract (`PushStore`): subscriptions and their cap, levels,
 * whom a message may be pushed to, the collapsed pending pushes and their claims across two
 * stores on one database (two nodes), the rate window, the VAPID pair, and that a user's rows
 * go with the user.
 */
export function pushStoreContract(name: string, make: () => Promise<StoreHarness>): void {
  describe(`Store contract, Web Push: ${name}`, () => {
    let h: StoreHarness;
    let store: Store;
    let other: Store;
    let claims = 0;
    const owner = () => `push-test-${process.pid}-${++claims}`;

    before(async () => {
      h = await make();
      store = h.store;
      await store.migrate();
      other = await h.reopen();
    });
    after(async () => {
      await h?.cleanup();
    });

    async function user(prefix: string): Promise<string> {
      const id = `${prefix}-${unique()}`;
      await store.upsertUser({ id, username: id });
      return id;
    }
    const sub = (userId: string, n: string) => ({
      userId,
      endpoint: `https://push.example/${userId}/${n}`,
      p256dh: `key-${n}`,
      auth: `auth-${n}`,
    });

    it('keeps one VAPID pair for every node, the first one stored', async () => {
      const first = await store.push.vapidKeys(() => ({ publicKey: 'pub-1', privateKey: 'priv-1' }), 1);
      const again = await other.push.vapidKeys(() => ({ publicKey: 'pub-2', privateKey: 'priv-2' }), 2);
      assert.deepEqual(first, { publicKey: 'pub-1', privateKey: 'priv-1' });
      assert.deepEqual(again, first);
    });

    it("stores subscriptions, replaces an endpoint's, and keeps a user's newest up to the cap", async () => {
      const u = await user('subs');
      const v = await user('subs');
      for (const n of ['1', '2', '3']) await store.push.savePushSubscription(sub(u, n), 2, Number(n));
      const kept = await store.push.pushSubscriptionsOf(u);
      assert.deepEqual(
        kept.map((s) => s.endpoint),
        [sub(u, '2').endpoint, sub(u, '3').endpoint],
      );
      // The same browser signed in as another user: the endpoint moves to them.
      await store.push.savePushSubscription({ ...sub(u, '3'), userId: v }, 2, 4);
      assert.deepEqual(
        (await store.push.pushSubscriptionsOf(u)).map((s) => s.endpoint),
        [sub(u, '2').endpoint],
      );
      assert.equal((await store.push.pushSubscriptionsOf(v))[0]?.userId, v);
      assert.equal(
        await store.push.deletePushSubscription(u, sub(u, '3').endpoint),
        false,
        "not u's any more",
      );
      assert.equal(await store.push.deletePushSubscription(u, sub(u, '2').endpoint), true);
      assert.deepEqual(await store.push.pushSubscriptionsOf(u), []);
      const [s] = await store.push.pushSubscriptionsOf(v);
      await store.push.dropPushSubscription(s?.id ?? '');
      assert.deepEqual(await store.push.pushSubscriptionsOf(v), []);
    });

    it('stores a level per user and channel, and forgets it back to the default', async () => {
      const u = await user('level');
      const channel = `lv-${unique()}`;
      await store.createChannel({ id: channel, kind: 'public', title: channel, owner: null });
      assert.equal(await store.push.pushLevel(u, channel), null);
      await store.push.setPushLevel(u, channel, 'all');
      await store.push.setPushLevel(u, channel, 'none');
      assert.equal(await store.push.pushLevel(u, channel), 'none');
      await store.push.setPushLevel(u, channel, null);
      assert.equal(await store.push.pushLevel(u, channel), null);
    });

    it('finds the subscribed members, the "all" choosers and the mentioned, never the sender', async () => {
      const sender = await user('snd');
      const member = await user('mem');
      const chooser = await user('all');
      const mentioned = await user('Men');
      const unsubscribed = await user('nosub');
      const channel = `cand-${unique()}`;
      await store.createChannel({ id: channel, kind: 'private', title: channel, owner: sender });
      await store.setMember(channel, member, 'member');
      await store.setMember(channel, unsubscribed, 'member');
      for (const u of [sender, member, chooser, mentioned])
        await store.push.savePushSubscription(sub(u, 'x'), 5, 1);
      await store.push.setPushLevel(chooser, channel, 'all');
      const asDm = await store.push.pushCandidates({
        channelId: channel,
        senderId: sender,
        members: true,
        mentioned: [mentioned.toLowerCase()],
      });
      assert.deepEqual(
        [...asDm].sort((a, b) => a.userId.localeCompare(b.userId)),
        [
          { userId: chooser, username: chooser, level: 'all' },
          { userId: member, username: member, level: null },
          { userId: mentioned, username: mentioned, level: null },
        ].sort((a, b) => a.userId.localeCompare(b.userId)),
      );
      const plain = await store.push.pushCandidates({
        channelId: channel,
        senderId: sender,
        members: false,
        mentioned: [],
      });
      assert.deepEqual(
        plain.map((c) => c.userId),
        [chooser],
      );
    });

    it('collapses the pushes of one user and channel, and claims each for one node only', async () => {
      const u = await user('q');
      const channel = `q-${unique()}`;
      await store.createChannel({ id: channel, kind: 'public', title: channel, owner: null });
      const entry = (seq: number, urgent: boolean) => ({
        userId: u,
        channelId: channel,
        seq,
        messageId: `m-${seq}`,
        urgent,
      });
      await store.push.queuePushes([entry(1, false)], 1000, 5000);
      await other.push.queuePushes([entry(3, true)], 1100, 9000);
      await store.push.queuePushes([entry(2, false)], 1200, 9000);
      assert.deepEqual([...(await other.push.pendingPushes(u))], [[channel, 3]]);
      assert.deepEqual(
        await store.push.claimPushes({ owner: owner(), limit: 10, leaseMs: 60_000, now: 4999 }),
        [],
      );
      const [a, b] = await Promise.all([
        store.push.claimPushes({ owner: owner(), limit: 10, leaseMs: 60_000, now: 5000 }),
        other.push.claimPushes({ owner: owner(), limit: 10, leaseMs: 60_000, now: 5000 }),
      ]);
      const got = [...(a ?? []), ...(b ?? [])].filter((p) => p.userId === u);
      assert.equal(got.length, 1, 'claimed once');
      const push = got[0] as PendingPush;
      assert.deepEqual(
        {
          seq: push.lastSeq,
          id: push.lastMessageId,
          n: push.messages,
          urgent: push.urgent,
          at: push.createdAt,
        },
        { seq: 3, id: 'm-3', n: 3, urgent: true, at: 1000 },
      );
      // A message while it is being sent stays pending, on its own.
      await store.push.queuePushes([entry(4, false)], 6000, 99_000);
      assert.equal(
        await store.push.settlePush(push, { kind: 'done', lastSeq: 3, messages: 3, graceMs: 500 }, 7000),
        true,
      );
      const [left] = await store.push.claimPushes({ owner: owner(), limit: 10, leaseMs: 60_000, now: 7500 });
      assert.deepEqual(
        { seq: left?.lastSeq, n: left?.messages, urgent: left?.urgent },
        { seq: 4, n: 1, urgent: false },
      );
      // Settled by a claim that lapsed and was taken again: nothing changes.
      assert.equal(
        await store.push.settlePush(
          { ...(left as PendingPush), claimedBy: 'someone-else' },
          { kind: 'done', lastSeq: 4, messages: 1, graceMs: 0 },
          8000,
        ),
        false,
      );
      assert.equal(
        await store.push.settlePush(left as PendingPush, { kind: 'later', at: 20_000, failed: true }, 8000),
        true,
      );
      assert.deepEqual(
        await store.push.claimPushes({ owner: owner(), limit: 10, leaseMs: 60_000, now: 19_999 }),
        [],
      );
      const [again] = await store.push.claimPushes({
        owner: owner(),
        limit: 10,
        leaseMs: 60_000,
        now: 20_000,
      });
      assert.equal(again?.attempts, 1);
      assert.equal(
        await store.push.settlePush(
          again as PendingPush,
          { kind: 'done', lastSeq: 4, messages: 1, graceMs: 0 },
          20_001,
        ),
        true,
      );
      assert.deepEqual(
        await store.push.claimPushes({ owner: owner(), limit: 10, leaseMs: 1, now: 10 ** 12 }),
        [],
      );
    });

    it('folds entries of one user and channel given in one call', async () => {
      const u = await user('fold');
      const channel = `fold-${unique()}`;
      await store.createChannel({ id: channel, kind: 'public', title: channel, owner: null });
      const e = (seq: number) => ({
        userId: u,
        channelId: channel,
        seq,
        messageId: `f-${seq}`,
        urgent: seq === 2,
      });
      await store.push.queuePushes([e(2), e(3), e(1)], 0, 10 ** 12);
      await store.push.queuePushes([e(4), e(5)], 0, 10 ** 12);
      assert.deepEqual([...(await store.push.pendingPushes(u))], [[channel, 5]]);
    });

    it('makes a lapsed claim due again for another node', async () => {
      const u = await user('lapse');
      const channel = `lapse-${unique()}`;
      await store.createChannel({ id: channel, kind: 'public', title: channel, owner: null });
      await store.push.queuePushes(
        [{ userId: u, channelId: channel, seq: 1, messageId: 'x', urgent: false }],
        0,
        0,
      );
      const [first] = await store.push.claimPushes({ owner: owner(), limit: 10, leaseMs: 1000, now: 1 });
      assert.equal(first?.userId, u);
      assert.deepEqual(
        await other.push.claimPushes({ owner: owner(), limit: 10, leaseMs: 1000, now: 1000 }),
        [],
      );
      const [second] = await other.push.claimPushes({ owner: owner(), limit: 10, leaseMs: 1000, now: 1001 });
      assert.equal(second?.userId, u);
      assert.equal(
        await store.push.settlePush(
          first as PendingPush,
          { kind: 'done', lastSeq: 1, messages: 1, graceMs: 0 },
          1002,
        ),
        false,
      );
      await other.push.settlePush(
        second as PendingPush,
        { kind: 'done', lastSeq: 1, messages: 1, graceMs: 0 },
        1002,
      );
    });

    it('counts pushes per user in fixed windows, atomically across nodes', async () => {
      const u = await user('rate');
      const results = await Promise.all(
        [store, other, store, other, store].map((s) => s.push.takePushBudget(u, 60_000, 3, 61_000)),
      );
      assert.equal(results.filter((r) => r === undefined).length, 3);
      assert.deepEqual(
        results.filter((r) => r !== undefined),
        [120_000, 120_000],
      );
      assert.equal(await store.push.takePushBudget(u, 60_000, 3, 120_000), undefined, 'a new window');
    });

    it("tells whether some node holds the user's connection", async () => {
      const u = await user('online');
      assert.equal(await store.push.userOnline(u), false);
      await store.markOnline('node-a', { id: u, username: u }, 1);
      assert.equal(await other.push.userOnline(u), true);
      await store.markOffline('node-a', u, 2);
      assert.equal(await store.push.userOnline(u), false);
    });
  });
}
