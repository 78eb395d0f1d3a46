import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import type { FileStore } from '../../src/server/files/file-store.js';

/** What a file-store contract run needs: the store, and how to clean up after it. */
export interface FileStoreHarness {
  readonly files: FileStore;
  readonly cleanup: () => Promise<void>;
}

async function bytesOf(files: FileStore, key: string): Promise<Buffer | undefined> {
  const got = await files.get(key);
  if (got === undefined) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of got.body) chunks.push(chunk as Buffer);
  const all = Buffer.concat(chunks);
  assert.equal(got.size, all.length, 'size is the number of bytes read');
  return all;
}

/** The `FileStore` contract (issue 16), one suite for every implementation. */
export function fileStoreContract(name: string, make: () => Promise<FileStoreHarness>): void {
  describe(`FileStore contract: ${name}`, () => {
    let h: FileStoreHarness;
    before(async () => {
      h = await make();
    });
    after(async () => {
      await h?.files.close();
      await h?.cleanup();
    });
    const key = () => `ab/${randomUUID()}`;

    it('put then get returns the same bytes and size', async () => {
      const k = key();
      const data = randomBytes(300_000);
      await h.files.put(
        k,
        Readable.from([data.subarray(0, 1000), data.subarray(1000)]),
        data.length,
        'image/png',
      );
      assert.deepEqual(await bytesOf(h.files, k), data);
    });

    it('putting a key again replaces the file', async () => {
      const k = key();
      await h.files.put(k, Readable.from([Buffer.from('first')]), 5, 'text/plain');
      await h.files.put(k, Readable.from([Buffer.from('second!')]), 7, 'text/plain');
      const got = await h.files.get(k);
      assert.ok(got);
      assert.equal(await text(got.body), 'second!');
    });

    it('get of a missing key is undefined; delete removes a file, and again succeeds', async () => {
      assert.equal(await h.files.get(key()), undefined);
      const k = key();
      await h.files.put(k, Readable.from([Buffer.from('x')]), 1, 'text/plain');
      await h.files.delete(k);
      assert.equal(await h.files.get(k), undefined);
      await h.files.delete(k);
    });

    it('refuses a key Parley would never make', async () => {
      await assert.rejects(h.files.get('../etc/passwd'));
      await assert.rejects(h.files.delete('/abs'));
    });
  });
}
