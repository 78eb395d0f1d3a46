import { S3FileStore } from '../../src/server/files/s3-file-store.js';
import { startS3Server } from '../support/s3-server.js';
import { fileStoreContract } from './file-store-contract.js';

// A local S3-compatible server (s3rver) started by the test on loopback.
fileStoreContract('S3-compatible (s3rver)', async () => {
  const s3 = await startS3Server();
  return {
    files: new S3FileStore({
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      forcePathStyle: true,
      prefix: 'parley/',
    }),
    cleanup: () => s3.close(),
  };
});
