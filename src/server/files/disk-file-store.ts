import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ParleyError } from '../../protocol/error-catalogue.js';
import { checkFileKey, type FileStore, type StoredFile } from './file-store.js';

/**
 * A `FileStore` in a local directory (the default: next to the SQLite file, or
 * `PARLEY_ATTACHMENT_DIR`). A file is written under a temporary name and renamed into place,
 * so a reader never sees part of one.
 */
export class DiskFileStore implements FileStore {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async put(key: string, body: Readable, size: number, _type: string): Promise<void> {
    const path = this.#path(key);
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${randomUUID()}.part`;
    try {
      await pipeline(body, createWriteStream(temp, { flags: 'wx' }));
      const written = (await stat(temp)).size;
      if (written !== size) throw new Error(`wrote ${written} bytes of ${key}, expected ${size}`);
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async get(key: string): Promise<StoredFile | undefined> {
    const path = this.#path(key);
    try {
      const { size } = await stat(path);
      return { body: createReadStream(path), size };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new ParleyError('unavailable', 'the attachment storage cannot be read', { cause: error });
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
  }

  async close(): Promise<void> {}

  #path(key: string): string {
    checkFileKey(key);
    return join(this.#dir, key);
  }
}
