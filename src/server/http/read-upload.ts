import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import busboy from 'busboy';
import { ParleyError } from '../../protocol/error-catalogue.js';
import type { SpooledUpload } from '../files/check-upload.js';

/** Bytes a multipart body may carry beyond the file itself (boundaries, part headers). */
const MULTIPART_OVERHEAD = 64 * 1024;

/**
 * Streams the `file` field of a multipart/form-data request to a file in `spoolDir`, at most
 * `maxBytes` of it: a bigger file stops being read at the limit and the request fails with
 * `file_too_large` (a declared Content-Length above the limit fails before anything is read).
 * Other fields are ignored. The caller removes the spooled file.
 */
export async function readUpload(
  req: IncomingMessage,
  options: { readonly maxBytes: number; readonly spoolDir: string },
): Promise<SpooledUpload> {
  const { maxBytes, spoolDir } = options;
  const tooLarge = () =>
    new ParleyError('file_too_large', `the file is larger than ${maxBytes} bytes`, {
      details: { max_bytes: maxBytes },
    });
  if (!/^multipart\/form-data\b/i.test(req.headers['content-type'] ?? ''))
    throw new ParleyError('bad_request', 'send the file as multipart/form-data, in a field named "file"');
  if (Number(req.headers['content-length'] ?? 0) > maxBytes + MULTIPART_OVERHEAD) {
    req.resume();
    throw tooLarge();
  }
  await mkdir(spoolDir, { recursive: true });
  const path = join(spoolDir, randomUUID());
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      // busboy reports `limit` on reaching the size, so one byte more: reaching it is too large.
      limits: { files: 1, fileSize: maxBytes + 1, fields: 10, fieldSize: 1024, parts: 12, headerPairs: 20 },
    });
  } catch (error) {
    throw new ParleyError('bad_request', 'the multipart body has no boundary', { cause: error });
  }
  try {
    return await new Promise<SpooledUpload>((resolve, reject) => {
      let found: { name: string; declaredType: string; size: number; written: Promise<void> } | undefined;
      let failed = false;
      const fail = (error: ParleyError) => {
        if (failed) return;
        failed = true;
        req.unpipe(parser);
        req.resume();
        reject(error);
      };
      parser.on('file', (field, stream, info) => {
        if (field !== 'file' || found !== undefined) {
          stream.resume();
          return;
        }
        const out = createWriteStream(path, { flags: 'wx' });
        const entry = {
          name: info.filename ?? 'file',
          declaredType: info.mimeType ?? '',
          size: 0,
          written: Promise.resolve(),
        };
        entry.written = new Promise<void>((done, broke) => {
          out.on('finish', done);
          out.on('error', broke);
        });
        found = entry;
        stream.on('data', (chunk: Buffer) => {
          entry.size += chunk.length;
        });
        stream.on('limit', () => fail(tooLarge()));
        stream.pipe(out);
      });
      parser.on('error', (error) =>
        fail(new ParleyError('bad_request', 'the multipart body is malformed', { cause: error })),
      );
      parser.on('close', () => {
        if (failed) return;
        if (found === undefined) {
          fail(new ParleyError('bad_request', 'send the file in a multipart field named "file"'));
          return;
        }
        const got = found;
        got.written.then(
          () => resolve({ path, size: got.size, name: got.name, declaredType: got.declaredType }),
          (error: unknown) => reject(error),
        );
      });
      req.on('error', (error) =>
        fail(new ParleyError('bad_request', 'the request body did not arrive', { cause: error })),
      );
      req.on('aborted', () => fail(new ParleyError('bad_request', 'the request body did not arrive')));
      req.pipe(parser);
    });
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
}
