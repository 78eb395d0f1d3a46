import type { Readable } from 'node:stream';

/** A stored file, opened for reading. */
export interface StoredFile {
  /** Its bytes; the caller reads it to the end or destroys it. */
  readonly body: Readable;
  readonly size: number;
}

/**
 * Where attachment bytes live (issue 16): local disk by default, an S3-compatible bucket in
 * production. Keys are made by Parley (`[a-z0-9/._-]`, at most 200 characters), never by a user.
 *
 * Guarantees: `put` resolves only once the whole file is stored (a reader never sees part of
 * one); putting a key again replaces it; `get` of a missing key is undefined; `delete` of a
 * missing key succeeds (the sweep may run twice). Errors: `ParleyError('unavailable')` when the
 * storage cannot be reached; any other failure is a bug.
 */
export interface FileStore {
  /** Stores `size` bytes read from `body` under `key`, with its media type. */
  put(key: string, body: Readable, size: number, type: string): Promise<void>;
  /** The file under `key`, or undefined. */
  get(key: string): Promise<StoredFile | undefined>;
  /** Removes the file under `key`, if there is one. */
  delete(key: string): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** Throws when `key` is not one Parley makes (a bug, never a user's input). */
export function checkFileKey(key: string): void {
  if (!/^[a-z0-9][a-z0-9/._-]{0,199}$/.test(key) || key.includes('..') || key.includes('//'))
    throw new Error(`bad file key ${JSON.stringify(key)}`);
}
