import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskFileStore } from '../../src/server/files/disk-file-store.js';
import { fileStoreContract } from './file-store-contract.js';

fileStoreContract('local disk', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'parley-files-'));
  return { files: new DiskFileStore(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});
