import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { RetentionPruner } from '../../src/server/retention/retention-pruner.js';
import { ERASED_AUTHOR } from '../../src/server/store/retention-store.js';
import type { RetentionStore, Store } from '../../src/server/store/store.js';
import { until } from '../support/until.js';
import type { StoreHarness } from './store-contract.js';

/** The store's retention methods, bound (a KyselyStore keeps its state in private fields). */
function retentionOf(store: Store): RetentionStore {
  return {
    retentionChannels: (after, limit) => store.retentionChannels(after, limit),
    pruneChannel: (id, olderThan, limit) => store.pruneChannel(id, olderThan, limit),
    takeLease: (name, owner, now, leaseMs) => store.takeLease(name, owner, now, leaseMs),
    releaseLease: (name, owner) => store.releaseLease(name, owner),
    userMessages: (user, after, limit) => store.userMessages(user, after, limit),
    userReactions: (user, after, limit) => store.userReactions(user, after, limit),
    eraseUserContent: (user, mode, limit) => store.eraseUserContent(user, mode, limit),
    eraseUser: (user, now, data) => store.eraseUser(user, now, data),
  };
}

const unique = () => randomBytes(4).toString('hex');
const DAY = 86_400_000;

/**
 * The retention part of the Store contract (issue 17): pruning in bounded batches (search
 * entries, reactions and versions with the messages, seqs never reused), leases across two
 * stores on one database, a user's messages and reactions page by page, and erasure. Also the
 * `RetentionPruner` over real stores: channel override and server default, batches, and one
 * pruner among two nodes.
 */
export function retentionContract(name: string, make: () => Promise<StoreHarness>): void {
  describe(`Store contract, retention: ${name}`, () => {
    let h: StoreHarness;
    let store: Store;
    let other: Store;

    before(async () => {
      h = await make();
      store = h.store;
      await store.migrate();
      other = await h.reopen();
      await store.upsertUser({ id: 'alice', username: 'Alice' });
      await store.upsertUser({ id: 'bob', username: 'Bob' });
    });
    after(async () => {
      store?.routeWebhooks(undefined);
      await h?.cleanup();
    });

    async function channelWith(texts: readonly string[], userId = 'alice'): Promise<string> {
      const id = `ret-${unique()}`;
      await store.createChannel({ id, kind: 'public', title: id, owner: null });
      for (const text of texts) {
        await store.append({ channelId: id, userId, username: userId, text, clientMsgId: null });
      }
      return id;
    }
    const seqs = async (channelId: string) => (await store.latest(channelId, 1000)).map((m) => m.seq);
    // The clock has moved past `t` (appends stamp messages with Date.now()).
    const after_ = async (t: number) => until(() => Date.now() > t, 'the clock to move on');

    it('stores a channel retention override and gives it back; null is the server default', async () => {
      const id = await channelWith([]);
      assert.equal((await store.getChannel(id))?.retentionDays, null);
      assert.equal((await store.updateChannel(id, { retentionDays: 7 })).retentionDays, 7);
      assert.equal((await store.getChannel(id))?.retentionDays, 7);
      assert.equal((await store.updateChannel(id, { title: 'x' })).retentionDays, 7);
      assert.equal((await store.updateChannel(id, { retentionDays: null })).retentionDays, null);
      assert.equal((await store.getChannel(id))?.prunedSeq, 0);
    });

    it('prunes the oldest run of messages before the cutoff, at most `limit` per call', async () => {
      const id = await channelWith(['one', 'two', 'three']);
      const cutoff = Date.now();
      await after_(cutoff);
      await store.append({ channelId: id, userId: 'bob', username: 'Bob', text: 'four', clientMsgId: null });
      assert.equal(await store.pruneChannel(id, cutoff + 1, 2), 2);
      assert.deepEqual(await seqs(id), [3, 4]);
      assert.equal((await store.getChannel(id))?.prunedSeq, 2);
      assert.equal(await store.pruneChannel(id, cutoff + 1, 2), 1);
      assert.equal(await store.pruneChannel(id, cutoff + 1, 2), 0, 'the newer message stays');
      assert.deepEqual(await seqs(id), [4]);
      const channel = await store.getChannel(id);
      assert.equal(channel?.prunedSeq, 3);
      assert.equal(channel?.lastSeq, 4);
      assert.deepEqual(
        (await store.after(id, 0, 10)).map((m) => m.seq),
        [4],
      );
    });

    it('never gives a pruned seq to a new message', async () => {
      const id = await channelWith(['a', 'b']);
      assert.equal(await store.pruneChannel(id, Date.now() + DAY, 100), 2);
      assert.deepEqual(await seqs(id), []);
      const { message } = await store.append({
        channelId: id,
        userId: 'alice',
        username: 'Alice',
        text: 'c',
        clientMsgId: null,
      });
      assert.equal(message.seq, 3);
      assert.equal((await store.getChannel(id))?.prunedSeq, 2);
    });

    it('prunes the search entries, reactions and versions with the messages', async () => {
      const word = `prunable${unique()}`;
      const id = await channelWith([`${word} first`, `${word} second`]);
      const [first] = await store.latest(id, 1);
      assert.ok(first);
      await store.toggleReaction(id, first.id, 'bob', '👍');
      await store.editMessage(id, first.id, `${word} edited`);
      const found = await store.search({ channelIds: [id], text: word, limit: 10, offset: 0 });
      assert.equal(found.length, 2);
      assert.equal(await store.pruneChannel(id, Date.now() + DAY, 100), 2);
      assert.deepEqual(await store.search({ channelIds: [id], text: word, limit: 10, offset: 0 }), []);
      assert.equal(await store.getMessage(id, first.id), undefined);
      const bobs = await store.userReactions('bob', undefined, 1000);
      assert.ok(!bobs.some((r) => r.messageId === first.id), 'the reaction went');
    });

    it('gives a lease to one owner at a time, across stores, until it lapses or is released', async () => {
      const lease = `lease-${unique()}`;
      const now = Date.now();
      const got = await Promise.all([
        store.takeLease(lease, 'node-a', now, 10_000),
        other.takeLease(lease, 'node-b', now, 10_000),
      ]);
      assert.equal(got.filter(Boolean).length, 1, `exactly one holder: ${got}`);
      const [holder, rival, holderStore, rivalStore] = got[0]
        ? (['node-a', 'node-b', store, other] as const)
        : (['node-b', 'node-a', other, store] as const);
      assert.equal(await rivalStore.takeLease(lease, rival, now + 1, 10_000), false);
      assert.equal(await holderStore.takeLease(lease, holder, now + 2, 10_000), true, 'renewed');
      assert.equal(
        await rivalStore.takeLease(lease, rival, now + 10_001, 10_000),
        false,
        'the renewal counts',
      );
      assert.equal(await rivalStore.takeLease(lease, rival, now + 10_002, 10_000), true, 'lapsed');
      assert.equal(await holderStore.takeLease(lease, holder, now + 10_003, 10_000), false);
      await holderStore.releaseLease(lease, holder); // not its lease any more: no change
      assert.equal(await holderStore.takeLease(lease, holder, now + 10_004, 10_000), false);
      await rivalStore.releaseLease(lease, rival);
      assert.equal(await holderStore.takeLease(lease, holder, now + 10_005, 10_000), true);
    });

    it("lists a user's messages and reactions page by page", async () => {
      const user = `u-${unique()}`;
      await store.upsertUser({ id: user, username: 'U' });
      const a = await channelWith(['x1', 'x2', 'x3'], user);
      const b = await channelWith(['y1', 'y2'], user);
      await store.append({
        channelId: a,
        userId: 'bob',
        username: 'Bob',
        text: 'not theirs',
        clientMsgId: null,
      });
      const pages: string[][] = [];
      let from: string | undefined;
      for (let i = 0; i < 10; i++) {
        const page = await store.userMessages(user, from, 2);
        pages.push(page.map((m) => m.text));
        if (page.length < 2) break;
        from = page.at(-1)?.id;
      }
      assert.deepEqual(pages, [['x1', 'x2'], ['x3', 'y1'], ['y2']]);
      for (const m of await store.latest(b, 10)) await store.toggleReaction(b, m.id, user, '🎉');
      for (const m of await store.latest(a, 10)) await store.toggleReaction(a, m.id, user, '👍');
      const reactions = [];
      let at: { messageId: string; emoji: string } | undefined;
      for (let i = 0; i < 10; i++) {
        const page = await store.userReactions(user, at, 2);
        reactions.push(...page);
        if (page.length < 2) break;
        const last = page.at(-1);
        at = last && { messageId: last.messageId, emoji: last.emoji };
      }
      assert.equal(reactions.length, 6);
      assert.equal(new Set(reactions.map((r) => r.messageId)).size, 6);
      assert.deepEqual(
        reactions.filter((r) => r.channelId === b).map((r) => r.emoji),
        ['🎉', '🎉'],
      );
    });

    it('erases a user: delete empties their messages, their records go, old tokens stay refused', async () => {
      const user = `gone-${unique()}`;
      const word = `secret${unique()}`;
      await store.upsertUser({ id: user, username: 'Gone' });
      const id = await channelWith([`${word} one`, `${word} two`], user);
      await store.setMember(id, user, 'member');
      await store.setReadPosition(id, user, 2);
      const [m1] = await store.latest(id, 2);
      assert.ok(m1);
      await store.toggleReaction(id, m1.id, 'bob', '👍');
      await store.editMessage(id, m1.id, `${word} edited`);
      store.routeWebhooks({ urls: ['http://127.0.0.1:9/hook'], retryWindowMs: 60_000 });
      try {
        let steps = 0;
        while ((await store.eraseUserContent(user, 'delete', 1)).changed > 0) steps++;
        assert.ok(steps >= 2, `bounded steps: ${steps}`);
        const now = Date.now();
        assert.equal(await store.eraseUser(user, now, { user_id: user, messages: 'delete' }), true);
        const messages = await store.latest(id, 10);
        assert.deepEqual(
          messages.map((m) => [m.seq, m.user_id, m.username, m.text, m.deleted === true]),
          [
            [1, ERASED_AUTHOR.id, ERASED_AUTHOR.username, '', true],
            [2, ERASED_AUTHOR.id, ERASED_AUTHOR.username, '', true],
          ],
        );
        assert.deepEqual(await store.search({ channelIds: [id], text: word, limit: 10, offset: 0 }), []);
        assert.deepEqual(await store.messageVersions(id, m1.id), []);
        assert.equal(await store.getUser(user), undefined);
        assert.equal(await store.getRole(id, user), undefined);
        assert.equal((await store.readPositions(user)).size, 0);
        assert.deepEqual(await store.getUserStatus(user), { banned: false, tokensValidAfter: now });
        assert.equal(await store.eraseUser(user, now + 1, {}), false, 'a second erasure finds no one');
        const due = await store.claimWebhooks({
          owner: `t-${unique()}`,
          limit: 500,
          leaseMs: 60_000,
          now: now + 1,
        });
        const erased = due.filter((d) => d.type === 'user.erased');
        assert.equal(erased.length, 1);
        assert.deepEqual(JSON.parse(erased[0]?.body ?? '{}').data, { user_id: user, messages: 'delete' });
      } finally {
        store.routeWebhooks(undefined);
      }
    });

    it('erases a user with anonymize: their messages keep their text under the placeholder author', async () => {
      const user = `anon-${unique()}`;
      await store.upsertUser({ id: user, username: 'Anon' });
      const id = await channelWith(['kept words'], user);
      await store.append({
        channelId: id,
        userId: user,
        username: 'Anon',
        text: 'retry-safe',
        clientMsgId: 'c1',
      });
      const [first] = await store.latest(id, 2);
      assert.ok(first);
      await store.toggleReaction(id, first.id, user, '👍');
      const step = await store.eraseUserContent(user, 'anonymize', 500);
      assert.deepEqual(step, { changed: 3, channels: [id] }, 'two messages and a reaction, in one channel');
      assert.deepEqual(await store.eraseUserContent(user, 'anonymize', 500), { changed: 0, channels: [] });
      assert.equal(await store.eraseUser(user, Date.now(), {}), true);
      const messages = await store.latest(id, 10);
      assert.deepEqual(
        messages.map((m) => [m.user_id, m.username, m.text, m.client_msg_id ?? null]),
        [
          [ERASED_AUTHOR.id, ERASED_AUTHOR.username, 'kept words', null],
          [ERASED_AUTHOR.id, ERASED_AUTHOR.username, 'retry-safe', null],
        ],
      );
      assert.equal(messages[0]?.reactions, undefined, 'their reaction went');
      assert.deepEqual(await store.userMessages(user, undefined, 10), []);
    });

    it('the pruner applies a channel override and the server default, in batches', async () => {
      const override = await channelWith(['o1', 'o2', 'o3', 'o4', 'o5']);
      const byDefault = await channelWith(['d1', 'd2']);
      const forever = await channelWith(['f1']);
      await store.updateChannel(override, { retentionDays: 1 });
      await store.updateChannel(forever, { retentionDays: 0 });
      const batches: [string, number][] = [];
      const pruner = (days: number) =>
        new RetentionPruner({
          store,
          days,
          intervalMs: 60_000,
          batchRows: 2,
          pauseMs: 0,
          leaseMs: 60_000,
          now: () => Date.now() + 2 * DAY,
          onPruned: (channel, n) => batches.push([channel, n]),
        });
      const first = await pruner(0).runOnce();
      assert.equal(first.skipped, false);
      assert.deepEqual(await seqs(override), []);
      assert.deepEqual(await seqs(byDefault), [1, 2], 'no server default: kept');
      assert.deepEqual(
        batches.filter(([c]) => c === override).map(([, n]) => n),
        [2, 2, 1],
      );
      await pruner(1).runOnce();
      assert.deepEqual(await seqs(byDefault), []);
      assert.deepEqual(await seqs(forever), [1], 'a channel kept forever stays');
    });

    it('one pruner among two nodes: the other skips while the first holds the lease', async () => {
      const id = await channelWith(['p1', 'p2', 'p3']);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => {
        entered = resolve;
      });
      // Node A's store stops inside its first prune until the test lets it go.
      const held: RetentionStore = {
        ...retentionOf(store),
        pruneChannel: async (channelId, olderThan, limit) => {
          entered();
          await gate;
          return store.pruneChannel(channelId, olderThan, limit);
        },
      };
      const options = { days: 1, intervalMs: 60_000, batchRows: 500, pauseMs: 0, leaseMs: 60_000 };
      const later = () => Date.now() + 2 * DAY;
      const a = new RetentionPruner({ store: held, owner: 'node-a', now: later, ...options });
      const b = new RetentionPruner({ store: other, owner: 'node-b', now: later, ...options });
      const running = a.runOnce();
      await inside;
      assert.deepEqual(await b.runOnce(), { skipped: true, pruned: 0, channels: 0 });
      release();
      const done = await running;
      assert.equal(done.skipped, false);
      assert.ok(done.pruned >= 3);
      assert.deepEqual(await seqs(id), []);
      assert.equal((await b.runOnce()).skipped, false, 'the lease is free once the pass ends');
    });
  });
}
