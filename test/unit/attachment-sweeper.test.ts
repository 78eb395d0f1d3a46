import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { AttachmentSweeper } from '../../src/server/core/attachment-sweeper.js';
import { DiskFileStore } from '../../src/server/files/disk-file-store.js';
import { openStore } from '../../src/server/store/open-store.js';
import type { NewAttachment } from '../../src/server/store/store.js';

test('the sweep removes uploads never attached once their TTL passed, and files of messages removed by any path', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'parley-sweep-'));
  const store = await openStore(`sqlite:${join(dir, 'parley.db')}`);
  const files = new DiskFileStore(join(dir, 'files'));
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  await store.migrate();
  await store.upsertUser({ id: 'alice', username: 'Alice' });
  await store.createChannel({ id: 'c', kind: 'public', title: 'C', owner: 'alice' });
  let now = 1_000_000;
  const sweeper = new AttachmentSweeper({
    store,
    files,
    observer: { error: (err) => assert.fail(String(err)) },
    unattachedTtlMs: 60_000,
    intervalMs: 60_000,
    now: () => now,
  });
  const put = async (id: string, createdAt: number): Promise<NewAttachment> => {
    const a: NewAttachment = {
      id,
      channelId: 'c',
      uploaderId: 'alice',
      name: `${id}.txt`,
      type: 'text/plain',
      size: 2,
      width: null,
      height: null,
      fileKey: `aa/${id}`,
      thumbnailKey: null,
      createdAt,
    };
    await files.put(a.fileKey, Readable.from([Buffer.from('hi')]), 2, a.type);
    await store.createAttachment(a);
    return a;
  };
  const exists = async (a: NewAttachment) => (await files.get(a.fileKey)) !== undefined;
  const young = await put('00000000-0000-4000-8000-000000000001', now - 1000);
  const old = await put('00000000-0000-4000-8000-000000000002', now - 61_000);
  const sent = await put('00000000-0000-4000-8000-000000000003', now - 61_000);
  const record = {
    id: sent.id,
    name: sent.name,
    type: sent.type,
    size: 2,
    url: `/api/attachments/${sent.id}`,
  };
  const { message } = await store.append({
    channelId: 'c',
    userId: 'alice',
    username: 'Alice',
    text: 'kept',
    clientMsgId: null,
    attachments: [record],
  });

  assert.equal(await sweeper.sweep(), 1);
  assert.deepEqual([await exists(young), await exists(old), await exists(sent)], [true, false, true]);
  now += 60_000;
  assert.equal(await sweeper.sweep(), 1, 'the young one is past its TTL now');
  assert.equal(await exists(young), false);
  assert.equal(await exists(sent), true, 'attached files stay, however old');
  // Once its message is deleted, its file goes too.
  await store.deleteMessage('c', message.id);
  assert.equal(await sweeper.sweep(), 1);
  assert.equal(await exists(sent), false);
  assert.deepEqual(await store.getAttachments([young.id, old.id, sent.id]), []);
  assert.equal(await sweeper.sweep(), 0);
  await sweeper.close();
});
