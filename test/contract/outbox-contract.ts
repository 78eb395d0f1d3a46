import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { NewWebhook, Store, WebhookDelivery, WebhookRouting } from '../../src/server/store/store.js';
import type { StoreHarness } from './store-contract.js';

const unique = () => randomBytes(4).toString('hex');

/**
 * The webhook outbox part of the Store contract: what changes write in their own transaction,
 * and claims, settling, the dead list and replay, across two stores on one database (two nodes).
 */
export function outboxContract(
  name: string,
  make: () => Promise<StoreHarness>,
  options: {
    /**
     * The two stores are SQLite connections on one thread (no append worker): one's open write
     * transaction would make the other's BEGIN IMMEDIATE sleep in SQLite's busy handler on the
     * very thread that must finish the first, so their transactions run one after the other.
     */
    readonly serialWrites?: boolean;
  } = {},
): void {
  const all = <T>(calls: readonly (() => Promise<T>)[]): Promise<T[]> =>
    options.serialWrites === true
      ? calls.reduce<Promise<T[]>>(async (acc, call) => [...(await acc), await call()], Promise.resolve([]))
      : Promise.all(calls.map((call) => call()));
  describe(`Store contract, webhook outbox: ${name}`, () => {
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

    const routing = (urls: readonly string[]): WebhookRouting => ({ urls, retryWindowMs: 60_000 });
    let claims = 0;
    const owner = () => `test-${process.pid}-${++claims}`;

    /** Claims everything due now and settles it delivered: each test starts from an empty outbox. */
    async function drain(): Promise<void> {
      for (let i = 0; i < 100; i++) {
        const got = await store.claimWebhooks({
          owner: owner(),
          limit: 500,
          leaseMs: 60_000,
          now: Date.now(),
        });
        if (got.length === 0) return;
        for (const d of got) await store.settleWebhook(d.id, d.claimedBy ?? '', { kind: 'delivered' });
      }
    }

    /** Everything due now, claimed (and then settled delivered, so the next test starts empty). */
    async function takeAll(): Promise<WebhookDelivery[]> {
      const got = [
        ...(await store.claimWebhooks({ owner: owner(), limit: 500, leaseMs: 60_000, now: Date.now() })),
      ];
      for (const d of got) await store.settleWebhook(d.id, d.claimedBy ?? '', { kind: 'delivered' });
      return got;
    }

    function fresh(url: string, n: number, now = Date.now()): NewWebhook[] {
      return Array.from({ length: n }, (_, i) => ({
        eventId: `${unique()}-${i}`,
        type: 'test.event',
        url,
        body: JSON.stringify({ i }),
        headers: i % 2 === 0 ? null : { 'X-Test': String(i) },
        createdAt: now,
        expiresAt: now + 60_000,
      }));
    }

    async function channel(): Promise<string> {
      const id = `ch-${unique()}`;
      await store.createChannel({ id, kind: 'public', title: id, owner: 'alice' });
      return id;
    }

    it('writes message.created for each URL with an append, once, and nothing when not routed', async () => {
      await drain();
      const ch = await channel();
      store.routeWebhooks(undefined);
      await store.append({
        channelId: ch,
        userId: 'alice',
        username: 'Alice',
        text: 'unrouted',
        clientMsgId: null,
      });
      assert.deepEqual(await takeAll(), []);

      store.routeWebhooks(routing(['http://127.0.0.1:1/a', 'http://127.0.0.1:1/b']));
      const text = `big ${'x'.repeat(60_000)}`;
      const [first, second] = await Promise.all([
        store.append({ channelId: ch, userId: 'alice', username: 'Alice', text, clientMsgId: 'c-1' }),
        store.append({ channelId: ch, userId: 'bob', username: 'Bob', text: 'second', clientMsgId: null }),
      ]);
      // A retried send is a duplicate: it writes no second event.
      const again = await store.append({
        channelId: ch,
        userId: 'alice',
        username: 'Alice',
        text,
        clientMsgId: 'c-1',
      });
      assert.equal(again.duplicate, true);
      const got = await takeAll();
      store.routeWebhooks(undefined);
      assert.equal(got.length, 4);
      const byMessage = new Map<string, WebhookDelivery[]>();
      for (const d of got) {
        assert.equal(d.type, 'message.created');
        assert.equal(d.headers, null);
        const body = JSON.parse(d.body) as {
          id: string;
          type: string;
          created_at: number;
          data: { message: { id: string; seq: number; text: string } };
        };
        assert.equal(body.id, d.eventId);
        assert.equal(body.type, 'message.created');
        const list = byMessage.get(body.data.message.id) ?? [];
        list.push(d);
        byMessage.set(body.data.message.id, list);
        if (body.data.message.id === first?.message.id) {
          assert.equal(body.data.message.text, text, 'a 60 KB message is kept whole');
          assert.equal(body.data.message.seq, first.message.seq);
        }
      }
      for (const m of [first, second]) {
        const list = byMessage.get(m?.message.id ?? '') ?? [];
        assert.deepEqual(list.map((d) => d.url).sort(), ['http://127.0.0.1:1/a', 'http://127.0.0.1:1/b']);
        assert.equal(new Set(list.map((d) => d.eventId)).size, 1, 'one event id for every URL');
      }
    });

    it('writes member.added, member.updated and member.removed with the role before, and nothing for no change', async () => {
      await drain();
      const ch = await channel();
      store.routeWebhooks(routing(['http://127.0.0.1:1/m']));
      await store.setMember(ch, 'bob', 'member');
      await store.setMember(ch, 'bob', 'member');
      await store.setMember(ch, 'bob', 'admin');
      assert.equal(await store.removeMember(ch, 'bob'), true);
      assert.equal(await store.removeMember(ch, 'bob'), false);
      const got = await takeAll();
      store.routeWebhooks(undefined);
      const events = got
        .sort((a, b) => (a.id < b.id ? -1 : 1))
        .map((d) => {
          const body = JSON.parse(d.body) as { type: string; data: Record<string, unknown> };
          return { type: body.type, ...body.data };
        });
      assert.deepEqual(events, [
        { type: 'member.added', channel: ch, user_id: 'bob', role: 'member', previous_role: null },
        { type: 'member.updated', channel: ch, user_id: 'bob', role: 'admin', previous_role: 'member' },
        { type: 'member.removed', channel: ch, user_id: 'bob', role: null, previous_role: 'admin' },
      ]);
    });

    it('gives each due delivery to one of two concurrent claims from two stores', async () => {
      await drain();
      await store.enqueueWebhooks(fresh('http://127.0.0.1:1/c', 30));
      const now = Date.now();
      const claim = (s: Store, o: string) => s.claimWebhooks({ owner: o, limit: 30, leaseMs: 60_000, now });
      const rounds = await Promise.all([
        claim(store, owner()),
        claim(other, owner()),
        claim(store, owner()),
        claim(other, owner()),
      ]);
      const ids = rounds.flat().map((d) => d.id);
      assert.equal(ids.length, 30, 'every delivery claimed');
      assert.equal(new Set(ids).size, 30, 'none claimed twice');
      for (const round of rounds)
        for (const d of round)
          assert.ok(await store.settleWebhook(d.id, d.claimedBy ?? '', { kind: 'delivered' }));
      assert.deepEqual(await takeAll(), []);
    });

    it('makes a delivery due again when its claim lapses, and refuses the first claim settling it then', async () => {
      await drain();
      const [w] = fresh('http://127.0.0.1:1/l', 1);
      await store.enqueueWebhooks([w as NewWebhook]);
      const t = Date.now();
      const first = await store.claimWebhooks({ owner: 'first', limit: 10, leaseMs: 1000, now: t });
      assert.equal(first.length, 1);
      assert.deepEqual(
        await other.claimWebhooks({ owner: 'early', limit: 10, leaseMs: 1000, now: t + 500 }),
        [],
      );
      const second = await other.claimWebhooks({ owner: 'second', limit: 10, leaseMs: 1000, now: t + 1000 });
      assert.deepEqual(
        second.map((d) => d.id),
        first.map((d) => d.id),
      );
      assert.equal(second[0]?.eventId, w?.eventId, 'the same delivery id on the next attempt');
      assert.equal(await store.settleWebhook(first[0]?.id ?? '', 'first', { kind: 'delivered' }), false);
      assert.equal(await other.settleWebhook(second[0]?.id ?? '', 'second', { kind: 'delivered' }), true);
    });

    it('retries at the time given, counting attempts and keeping the error', async () => {
      await drain();
      await store.enqueueWebhooks(fresh('http://127.0.0.1:1/r', 1));
      const t = Date.now();
      const [d] = await store.claimWebhooks({ owner: 'r1', limit: 1, leaseMs: 1000, now: t });
      assert.ok(d);
      assert.ok(await store.settleWebhook(d.id, 'r1', { kind: 'retry', at: t + 5000, error: 'HTTP 503' }));
      assert.deepEqual(
        await store.claimWebhooks({ owner: 'r2', limit: 1, leaseMs: 1000, now: t + 4999 }),
        [],
      );
      const [again] = await store.claimWebhooks({ owner: 'r3', limit: 1, leaseMs: 1000, now: t + 5000 });
      assert.equal(again?.id, d.id);
      assert.equal(again?.attempts, 1);
      assert.equal(again?.lastError, 'HTTP 503');
      assert.equal(again?.body, d.body);
      assert.deepEqual(again?.headers, d.headers);
      assert.ok(await store.settleWebhook(d.id, 'r3', { kind: 'delivered' }));
    });

    it('keeps dead deliveries in the dead list, counts them, and replays them with their ids', async () => {
      await drain();
      const before = await store.countWebhooks();
      await store.enqueueWebhooks(fresh('http://127.0.0.1:1/d', 3));
      const t = Date.now();
      const claimed = await store.claimWebhooks({ owner: 'd1', limit: 10, leaseMs: 1000, now: t });
      assert.equal(claimed.length, 3);
      for (const d of claimed)
        assert.ok(await store.settleWebhook(d.id, 'd1', { kind: 'dead', error: 'timeout' }));
      const counts = await store.countWebhooks();
      assert.equal(counts.dead, before.dead + 3);
      assert.equal(counts.pending, before.pending);
      const dead = (await store.listWebhooks({ state: 'dead', limit: 1000 })).filter((d) =>
        d.url.endsWith('/d'),
      );
      assert.equal(dead.length, 3);
      assert.ok(dead.every((d) => d.state === 'dead' && d.lastError === 'timeout' && d.attempts === 1));
      // Paging: after the first, the rest.
      const page = await store.listWebhooks({ state: 'dead', limit: 1, after: dead[0]?.id ?? '' });
      assert.equal(page.length, 1);
      assert.ok((page[0]?.id ?? '') > (dead[0]?.id ?? ''));
      // Nothing dead is claimed.
      assert.deepEqual(
        await store.claimWebhooks({ owner: 'd2', limit: 10, leaseMs: 1000, now: t + 120_000 }),
        [],
      );

      const now = Date.now();
      assert.equal(await store.replayWebhooks([dead[0]?.id ?? ''], now, now + 60_000), 1);
      assert.equal(
        await store.replayWebhooks([dead[0]?.id ?? ''], now, now + 60_000),
        0,
        'a pending one is not replayed',
      );
      const replayed = await store.claimWebhooks({ owner: 'd3', limit: 10, leaseMs: 1000, now });
      assert.deepEqual(
        replayed.map((d) => [d.id, d.eventId, d.attempts, d.expiresAt]),
        [[dead[0]?.id, dead[0]?.eventId, 0, now + 60_000]],
      );
      assert.ok(await store.settleWebhook(replayed[0]?.id ?? '', 'd3', { kind: 'delivered' }));
      assert.ok((await store.replayWebhooks(undefined, now, now + 60_000)) >= 2, 'all dead ones');
      assert.equal((await store.countWebhooks()).dead, 0);
      await drain();
    });

    describe('who is online across the cluster', () => {
      // Every node routes its webhooks: both stores.
      const routeBoth = (r: WebhookRouting | undefined) => {
        store.routeWebhooks(r);
        other.routeWebhooks(r);
      };
      const events = (got: readonly WebhookDelivery[]) =>
        [...got]
          .sort((a, b) => (a.id < b.id ? -1 : 1))
          .map((d) => {
            const body = JSON.parse(d.body) as {
              type: string;
              data: { user: { id: string; username: string } };
            };
            return `${body.type} ${body.data.user.id} ${body.data.user.username}`;
          });

      it('is online with the first node holding the user and offline with the last, each written once', async () => {
        await drain();
        routeBoth(routing(['http://127.0.0.1:1/o']));
        const u = { id: `u-${unique()}`, username: 'Una' };
        const t = Date.now();
        assert.equal(await store.markOnline('node-a', u, t), true);
        assert.equal(await other.markOnline('node-b', u, t), false, 'a second node: no transition');
        assert.equal(await store.markOnline('node-a', u, t), false, 'the same node again: no transition');
        assert.equal(await store.markOffline('node-a', u.id, t), false, 'node-b still holds them');
        assert.equal(await store.markOffline('node-a', u.id, t), false, 'node-a let go already');
        assert.equal(await other.markOffline('node-b', u.id, t), true);
        assert.equal(await other.markOnline('node-b', u, t), true, 'back: online again');
        assert.equal(await other.markOffline('node-b', u.id, t), true);
        const got = await takeAll();
        routeBoth(undefined);
        assert.deepEqual(events(got), [
          `user.online ${u.id} Una`,
          `user.offline ${u.id} Una`,
          `user.online ${u.id} Una`,
          `user.offline ${u.id} Una`,
        ]);
      });

      it('gives one transition to many nodes connecting and disconnecting at once', async () => {
        await drain();
        routeBoth(routing(['http://127.0.0.1:1/o']));
        const u = { id: `u-${unique()}`, username: 'Race' };
        const nodes = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
        const t = Date.now();
        const on = await all(nodes.map((n, i) => () => (i % 2 === 0 ? store : other).markOnline(n, u, t)));
        assert.equal(on.filter(Boolean).length, 1, 'one of them made the user online');
        const off = await all(
          nodes.map((n, i) => () => (i % 2 === 0 ? other : store).markOffline(n, u.id, t)),
        );
        assert.equal(off.filter(Boolean).length, 1, 'one of them made the user offline');
        const got = await takeAll();
        routeBoth(undefined);
        assert.deepEqual(events(got), [`user.online ${u.id} Race`, `user.offline ${u.id} Race`]);
      });

      it('lets the users of a node that stopped beating go, once, whoever sweeps', async () => {
        await drain();
        routeBoth(routing(['http://127.0.0.1:1/o']));
        const t = Date.now();
        const dead = `dead-${unique()}`;
        const live = `live-${unique()}`;
        const only = { id: `u-${unique()}`, username: 'Only' };
        const both = { id: `u-${unique()}`, username: 'Both' };
        assert.equal(await store.nodeSeen(dead, t - 60_000), false, 'a new node');
        assert.equal(await store.nodeSeen(live, t), false);
        assert.equal(await store.nodeSeen(live, t), true, 'known now');
        await store.markOnline(dead, only, t);
        await store.markOnline(dead, both, t);
        await store.markOnline(live, both, t);
        const swept = await all([
          () => store.sweepNodes(t - 30_000, t),
          () => other.sweepNodes(t - 30_000, t),
        ]);
        assert.equal((swept[0] ?? 0) + (swept[1] ?? 0), 1, 'only the user no live node holds went offline');
        assert.equal(await store.nodeSeen(dead, t), false, 'the dead node was forgotten');
        assert.equal(await store.markOffline(dead, only.id, t), false, 'already let go');
        assert.equal(await store.markOffline(live, both.id, t), true);
        const got = await takeAll();
        routeBoth(undefined);
        assert.deepEqual(events(got), [
          `user.online ${only.id} Only`,
          `user.online ${both.id} Both`,
          `user.offline ${only.id} Only`,
          `user.offline ${both.id} Both`,
        ]);
      });
    });
  });
}
