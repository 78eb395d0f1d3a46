import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Message } from '../../src/protocol/frames.js';
import type { Store } from '../../src/server/store/store.js';
import type { StoreHarness } from './store-contract.js';

/**
 * The moderation part of the Store contract (issue 17): bans and mutes with their webhooks,
 * slow-mode slots taken by two stores on one database (two nodes) at once, word-filter lists
 * and reports.
 */
export function moderationContract(name: string, make: () => Promise<StoreHarness>): void {
  describe(`Store contract, moderation: ${name}`, () => {
    let h: StoreHarness;
    let store: Store;
    let other: Store;
    let message: Message;

    before(async () => {
      h = await make();
      store = h.store;
      await store.migrate();
      other = await h.reopen();
      await store.upsertUser({ id: 'alice', username: 'Alice' });
      await store.upsertUser({ id: 'bob', username: 'Bob' });
      await store.createChannel({ id: 'mod', kind: 'public', title: 'Mod', owner: 'alice' });
      message = (
        await store.append({
          channelId: 'mod',
          userId: 'bob',
          username: 'Bob',
          text: 'hi',
          clientMsgId: null,
        })
      ).message;
    });
    after(async () => {
      store?.routeWebhooks(undefined);
      await h?.cleanup();
    });

    it('keeps a ban and a mute until lifted, leaving out lapsed ones', async () => {
      const now = Date.now();
      await store.moderation.sanction({
        channelId: 'mod',
        userId: 'bob',
        kind: 'ban',
        until: null,
        reason: 'spam ✓',
        by: 'alice',
        createdAt: now,
      });
      await store.moderation.sanction({
        channelId: 'mod',
        userId: 'carol',
        kind: 'mute',
        until: now + 60_000,
        reason: null,
        by: 'alice',
        createdAt: now,
      });
      await store.moderation.sanction({
        channelId: 'mod',
        userId: 'dave',
        kind: 'mute',
        until: now - 1,
        reason: null,
        by: 'alice',
        createdAt: now - 10,
      });
      const seen = await other.moderation.channelModeration('mod', now);
      assert.deepEqual(
        seen.sanctions.map((s) => [s.userId, s.kind, s.until, s.reason]),
        [
          ['bob', 'ban', null, 'spam ✓'],
          ['carol', 'mute', now + 60_000, null],
        ],
      );
      assert.equal(await other.moderation.lift('mod', 'bob', 'ban', 'alice', now), true);
      assert.equal(await store.moderation.lift('mod', 'bob', 'ban', 'alice', now), false);
      assert.equal(await store.moderation.lift('mod', 'dave', 'mute', 'alice', now), false, 'lapsed');
      const later = await store.moderation.channelModeration('mod', now);
      assert.deepEqual(
        later.sanctions.map((s) => s.userId),
        ['carol'],
      );
    });

    it('replaces a ban with a new one (new until and reason)', async () => {
      const now = Date.now();
      const ban = { channelId: 'mod', userId: 'erin', kind: 'ban' as const, by: 'alice', createdAt: now };
      await store.moderation.sanction({ ...ban, until: now + 1000, reason: 'first' });
      await other.moderation.sanction({ ...ban, until: null, reason: 'second' });
      const found = (await store.moderation.channelModeration('mod', now)).sanctions.filter(
        (s) => s.userId === 'erin',
      );
      assert.deepEqual(
        found.map((s) => [s.until, s.reason]),
        [[null, 'second']],
      );
      await store.moderation.lift('mod', 'erin', 'ban', 'alice', now);
    });

    it('writes member.banned and member.unbanned to the outbox with the change', async () => {
      store.routeWebhooks({ urls: ['http://127.0.0.1:9/hook'], retryWindowMs: 60_000 });
      try {
        const now = Date.now();
        await store.moderation.sanction({
          channelId: 'mod',
          userId: 'frank',
          kind: 'ban',
          until: null,
          reason: 'r',
          by: 'alice',
          createdAt: now,
        });
        await store.moderation.lift('mod', 'frank', 'ban', 'alice', now);
        const pending = await store.listWebhooks({ state: 'pending', limit: 100 });
        const mine = pending.filter((d) => d.body.includes('"frank"'));
        assert.deepEqual(
          mine.map((d) => d.type),
          ['member.banned', 'member.unbanned'],
        );
        const body = JSON.parse(mine[0]?.body ?? '{}') as { data: Record<string, unknown> };
        assert.deepEqual(body.data, {
          channel: 'mod',
          user_id: 'frank',
          until: null,
          reason: 'r',
          by: 'alice',
        });
      } finally {
        store.routeWebhooks(undefined);
      }
    });

    it('sets and clears slow mode', async () => {
      await store.moderation.setSlowMode('mod', 30);
      assert.equal((await other.moderation.channelModeration('mod', Date.now())).slowModeSeconds, 30);
      await store.moderation.setSlowMode('mod', 0);
      assert.equal((await other.moderation.channelModeration('mod', Date.now())).slowModeSeconds, 0);
    });

    it('gives one of two racing posts the slow-mode slot, across two stores', async () => {
      const now = Date.now();
      const slot = { channelId: 'mod', userId: 'racer', now, windowMs: 10_000 };
      const waits = await Promise.all([
        store.moderation.takePostSlot({ ...slot, clientMsgId: 'a' }),
        other.moderation.takePostSlot({ ...slot, clientMsgId: 'b' }),
      ]);
      assert.deepEqual(
        [...waits].sort((x, y) => x - y),
        [0, 10_000],
      );
      // Again, when the row exists: a conditional update each.
      const later = { ...slot, now: now + 10_000 };
      const again = await Promise.all([
        store.moderation.takePostSlot({ ...later, clientMsgId: 'c' }),
        other.moderation.takePostSlot({ ...later, clientMsgId: 'd' }),
      ]);
      assert.deepEqual(
        [...again].sort((x, y) => x - y),
        [0, 10_000],
      );
    });

    it('tells how long to wait, and lets the post that took the slot be retried', async () => {
      const now = Date.now();
      const slot = { channelId: 'mod', userId: 'waiter', windowMs: 5000 };
      assert.equal(await store.moderation.takePostSlot({ ...slot, clientMsgId: 'm1', now }), 0);
      assert.equal(await other.moderation.takePostSlot({ ...slot, clientMsgId: 'm1', now: now + 10 }), 0);
      assert.equal(
        await other.moderation.takePostSlot({ ...slot, clientMsgId: 'm2', now: now + 1000 }),
        4000,
      );
      assert.equal(await other.moderation.takePostSlot({ ...slot, clientMsgId: null, now: now + 4999 }), 1);
      assert.equal(await store.moderation.takePostSlot({ ...slot, clientMsgId: null, now: now + 5000 }), 0);
    });

    it('keeps word-filter lists per scope, replaced whole and removed when empty', async () => {
      await store.moderation.putWordFilter({
        channelId: null,
        words: ['darn', 'Ärger'],
        action: 'mask',
        updatedAt: 1,
      });
      await store.moderation.putWordFilter({
        channelId: 'mod',
        words: ['heck'],
        action: 'reject',
        updatedAt: 2,
      });
      await other.moderation.putWordFilter({
        channelId: 'mod',
        words: ['gosh'],
        action: 'reject',
        updatedAt: 3,
      });
      assert.deepEqual(await store.moderation.wordFilters(), [
        { channelId: null, words: ['darn', 'Ärger'], action: 'mask', updatedAt: 1 },
        { channelId: 'mod', words: ['gosh'], action: 'reject', updatedAt: 3 },
      ]);
      await store.moderation.putWordFilter({ channelId: 'mod', words: [], action: 'reject', updatedAt: 4 });
      assert.deepEqual(
        (await other.moderation.wordFilters()).map((l) => l.channelId),
        [null],
      );
    });

    it('stores reports, pages them by state, and settles each once', async () => {
      store.routeWebhooks({ urls: ['http://127.0.0.1:9/reports'], retryWindowMs: 60_000 });
      const made = [];
      try {
        for (const reason of ['rude', 'spam', 'off topic'])
          made.push(
            await store.moderation.report({
              channelId: 'mod',
              messageId: message.id,
              reporterId: 'alice',
              reason,
              now: Date.now(),
              message,
            }),
          );
      } finally {
        store.routeWebhooks(undefined);
      }
      const events = (await store.listWebhooks({ state: 'pending', limit: 100 })).filter(
        (d) => d.type === 'message.reported',
      );
      assert.equal(events.length, 3);
      const first = JSON.parse(events[0]?.body ?? '{}') as {
        data: { report: { reason: string }; message: Message };
      };
      assert.equal(first.data.report.reason, 'rude');
      assert.equal(first.data.message.id, message.id);

      const page1 = await other.moderation.listReports({ state: 'open', limit: 2 });
      assert.deepEqual(
        page1.map((r) => r.reason),
        ['rude', 'spam'],
      );
      const page2 = await other.moderation.listReports({ state: 'open', limit: 2, after: page1[1]?.id });
      assert.deepEqual(
        page2.map((r) => r.reason),
        ['off topic'],
      );
      const id = made[1]?.id ?? '';
      const settled = await other.moderation.settleReport(id, 'resolved', 'alice', 123);
      assert.equal(settled?.state, 'resolved');
      assert.equal(settled?.settledBy, 'alice');
      assert.equal(settled?.settledAt, 123);
      await assert.rejects(store.moderation.settleReport(id, 'dismissed', 'alice', 124), {
        code: 'conflict',
      });
      assert.equal(await store.moderation.settleReport('0000', 'dismissed', 'alice', 1), undefined);
      assert.deepEqual(
        (await store.moderation.listReports({ state: 'resolved', limit: 10 })).map((r) => r.id),
        [id],
      );
      assert.deepEqual(
        (await store.moderation.listReports({ state: 'open', limit: 10 })).map((r) => r.reason),
        ['rude', 'off topic'],
      );
    });
  });
}
