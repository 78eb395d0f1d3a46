import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ParleyError } from '../../protocol/error-catalogue.js';
import { checkFileKey, type FileStore, type StoredFile } from './file-store.js';

/** Where an `S3FileStore` keeps files (README: the `PARLEY_S3_*` settings). */
export interface S3FileStoreOptions {
  readonly bucket: string;
  /** The service's URL for an S3-compatible server (MinIO, R2, …); AWS's own when absent. */
  readonly endpoint?: string | undefined;
  readonly region: string;
  /** Absent: the SDK's usual chain (environment, instance role, …). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers want. */
  readonly forcePathStyle: boolean;
  /** Prefix of every key (e.g. `parley/`), so one bucket can hold more than Parley's files. */
  readonly prefix?: string;
}

/** A `FileStore` in an S3-compatible bucket (the production option). */
export class S3FileStore implements FileStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(options: S3FileStoreOptions) {
    this.#bucket = options.bucket;
    this.#prefix = options.prefix ?? '';
    this.#client = new S3Client({
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      // Checksums only where an operation needs them: the SDK's default (a CRC trailer in an
      // aws-chunked body on every upload) is not understood by many S3-compatible servers,
      // which then store the chunk framing as the file's bytes.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.credentials === undefined ? {} : { credentials: { ...options.credentials } }),
    });
  }

  async put(key: string, body: Readable, size: number, type: string): Promise<void> {
    await this.#call('storing a file', () =>
      this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: this.#key(key),
          Body: body,
          ContentLength: size,
          ContentType: type,
        }),
      ),
    );
  }

  async get(key: string): Promise<StoredFile | undefined> {
    try {
      const out = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }),
      );
      if (out.Body === undefined) return undefined;
      return { body: out.Body as Readable, size: Number(out.ContentLength ?? 0) };
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw new ParleyError('unavailable', 'the attachment storage cannot be read', { cause: error });
    }
  }

  async delete(key: string): Promise<void> {
    await this.#call('deleting a file', () =>
      this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) })),
    );
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  #key(key: string): string {
    checkFileKey(key);
    return `${this.#prefix}${key}`;
  }

  async #call<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw new ParleyError('unavailable', `the attachment storage failed ${doing}`, { cause: error });
    }
  }
}
