import type { AttachmentStorage } from '../config-attachments.js';
import { DiskFileStore } from './disk-file-store.js';
import type { FileStore } from './file-store.js';
import { S3FileStore } from './s3-file-store.js';

/** The `FileStore` the settings name: a local directory, or an S3-compatible bucket. */
export function openFileStore(storage: AttachmentStorage): FileStore {
  if (storage.kind === 'disk') return new DiskFileStore(storage.dir);
  return new S3FileStore({
    bucket: storage.bucket,
    endpoint: storage.endpoint,
    region: storage.region,
    credentials: storage.credentials,
    forcePathStyle: storage.forcePathStyle,
    prefix: storage.prefix,
  });
}
