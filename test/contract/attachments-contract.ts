import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Attachment } from '../../src/protocol/frames.js';
import type { NewAttachment, Store } from '../../src/server/store/store.js';
import type { StoreHarness } from './store-contract.js';

/**
 * The attachment part of the Store contract (issue 16): rows, the link an append makes, what
 * history, search and webhooks read back, quotas, and the sweep's query.
 */
export function attachmentsContract(name: string, make: () => Promise<StoreHarness>): void {
  describe(`Store contract, attachments: ${name}`, () => {
    let h: StoreHarness;
    let store: Store;
    const channel = `files-${randomUUID().slice(0, 8)}`;

    before(async () => {
      h = await make();
      store = h.store;
      await store.migrate();
      await store.upsertUser({ id: 'alice', username: 'Alice' });
      await store.createChannel({ id: channel, kind: 'public', title: 'Files', owner: 'alice' });
    });
    after(async () => {
      store?.routeWebhooks(undefined);
      await h?.cleanup();
    });

    const upload = async (over: Partial<NewAttachment> = {}): Promise<NewAttachment> => {
      const id = randomUUID();
      const row: NewAttachment = {
        id,
        channelId: channel,
        uploaderId: 'alice',
        name: 'café ☕.png',
        type: 'image/png',
        size: 1234,
        width: 40,
        height: 30,
        fileKey: `k/${id}`,
        thumbnailKey: `k/${id}.thumb`,
        createdAt: Date.now(),
        ...over,
      };
      await store.createAttachment(row);
      return row;
    };
    const record = (a: NewAttachment): Attachment => ({
      id: a.id,
      name: a.name,
      type: a.type,
      size: a.size,
      url: `/api/attachments/${a.id}`,
    });

    it('createAttachment stores a row that getAttachments returns, not attached', async () => {
      const a = await upload();
      const [got] = await store.getAttachments([a.id, randomUUID()]);
      assert.deepEqual(got, { ...a, messageId: null });
      await assert.rejects(store.createAttachment(a), { code: 'conflict' });
    });

    it("userAttachments pages a user's uploads by id, no one else's", async () => {
      const uploader = `exporter-${randomUUID().slice(0, 8)}`;
      const mine = [];
      for (let i = 0; i < 5; i++) mine.push(await upload({ uploaderId: uploader, name: `f${i}.png` }));
      await upload();
      const ids = mine.map((a) => a.id).sort();
      const first = await store.userAttachments(uploader, undefined, 3);
      assert.deepEqual(
        first.map((a) => a.id),
        ids.slice(0, 3),
      );
      const rest = await store.userAttachments(uploader, first.at(-1)?.id, 3);
      assert.deepEqual(
        rest.map((a) => a.id),
        ids.slice(3),
      );
      assert.equal(rest[0]?.uploaderId, uploader);
      assert.deepEqual(await store.userAttachments('nobody-uploads', undefined, 3), []);
    });

    it('append attaches the files and the message carries their records everywhere it is read', async () => {
      const a = await upload({ name: 'report.pdf', type: 'application/pdf', width: null, height: null });
      store.routeWebhooks({ urls: ['http://127.0.0.1:9/hook'], retryWindowMs: 60_000 });
      const { message } = await store.append({
        channelId: channel,
        userId: 'alice',
        username: 'Alice',
        text: 'quarterly figures attached',
        clientMsgId: `c-${a.id}`,
        attachments: [record(a)],
      });
      store.routeWebhooks(undefined);
      assert.deepEqual(message.attachments, [record(a)]);
      const [row] = await store.getAttachments([a.id]);
      assert.equal(row?.messageId, message.id);
      const latest = await store.latest(channel, 1);
      assert.deepEqual(latest[0]?.attachments, [record(a)]);
      assert.deepEqual((await store.getMessage(channel, message.id))?.attachments, [record(a)]);
      const found = await store.search({ channelIds: [channel], text: 'quarterly', limit: 5, offset: 0 });
      assert.deepEqual(found[0]?.attachments, [record(a)]);
      const hooks = await store.listWebhooks({ state: 'pending', limit: 100 });
      const hook = hooks.find((d) => d.body.includes(message.id));
      assert.ok(hook, 'a message.created delivery');
      assert.deepEqual(
        (JSON.parse(hook.body) as { data: { message: { attachments: unknown } } }).data.message.attachments,
        [record(a)],
      );
      // A retry with the same client id is the same message, and links nothing again.
      const again = await store.append({
        channelId: channel,
        userId: 'alice',
        username: 'Alice',
        text: 'quarterly figures attached',
        clientMsgId: `c-${a.id}`,
        attachments: [record(a)],
      });
      assert.equal(again.duplicate, true);
      assert.equal(again.message.id, message.id);
    });

    it('a message without files has no attachments field', async () => {
      const { message } = await store.append({
        channelId: channel,
        userId: 'alice',
        username: 'Alice',
        text: 'plain',
        clientMsgId: null,
      });
      assert.equal('attachments' in message, false);
      assert.equal('attachments' in ((await store.latest(channel, 1))[0] ?? {}), false);
    });

    it('staleAttachments finds files never attached in time and those of deleted or removed messages', async () => {
      const old = await upload({ createdAt: Date.now() - 10_000 });
      const fresh = await upload();
      const kept = await upload();
      const gone = await upload();
      const m1 = await store.append({
        channelId: channel,
        userId: 'alice',
        username: 'Alice',
        text: 'kept',
        clientMsgId: null,
        attachments: [record(kept)],
      });
      const m2 = await store.append({
        channelId: channel,
        userId: 'alice',
        username: 'Alice',
        text: 'deleted',
        clientMsgId: null,
        attachments: [record(gone)],
      });
      const deleted = await store.deleteMessage(channel, m2.message.id);
      assert.equal('attachments' in deleted, false);
      assert.equal('attachments' in ((await store.getMessage(channel, m2.message.id)) ?? {}), false);
      const stale = await store.staleAttachments({ unattachedBefore: Date.now() - 5_000, limit: 100 });
      const ids = new Set(stale.map((s) => s.id));
      assert.ok(ids.has(old.id), 'never attached, older than the cut-off');
      assert.ok(ids.has(gone.id), 'its message was deleted');
      assert.ok(!ids.has(fresh.id), 'never attached, still young');
      assert.ok(!ids.has(kept.id), 'its message is there');
      await store.deleteAttachments([old.id, gone.id]);
      assert.deepEqual(
        (await store.getAttachments([old.id, gone.id, kept.id])).map((r) => r.messageId),
        [m1.message.id],
      );
    });

    it('uploadsSince counts a user’s uploads and bytes from a time on', async () => {
      const since = Date.now() + 60_000;
      await upload({ uploaderId: 'alice', size: 100, createdAt: since });
      await upload({ uploaderId: 'alice', size: 50, createdAt: since + 1 });
      assert.deepEqual(await store.uploadsSince('alice', since), { count: 2, bytes: 150 });
      assert.deepEqual(await store.uploadsSince('nobody', 0), { count: 0, bytes: 0 });
    });
  });
}
