import { isErrorCode } from '../protocol/error-catalogue.js';
import type { Attachment } from '../protocol/frames.js';
import { ParleyClientError } from './parley-client-error.js';

/** A file to upload: its bytes (a `Blob`/`File` in browsers, bytes in Node) and its name. */
export interface UploadFile {
  readonly data: Blob | Uint8Array;
  readonly name: string;
}

/** What {@link uploadAttachment} needs to reach the HTTP API. */
export interface UploadTarget {
  /** The server's HTTP base (`https://chat.example.com`). */
  readonly httpUrl: string;
  readonly token: string;
  readonly channel: string;
}

/**
 * The HTTP base of a Parley WebSocket URL: `wss://host/ws` → `https://host` (the API shares
 * the WebSocket's port).
 */
export function httpBaseOf(wsUrl: string): string {
  const url = new URL(wsUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  return url.origin;
}

/**
 * Uploads one file to a channel (`POST /api/channels/:id/attachments`) and resolves with its
 * record; publish its `id` in `attachments` to send it. Rejects with a `ParleyClientError` of
 * the server's code (`file_too_large`, `file_type_refused`, `not_an_image`, …).
 */
export async function uploadAttachment(target: UploadTarget, file: UploadFile): Promise<Attachment> {
  const form = new FormData();
  const blob = file.data instanceof Blob ? file.data : new Blob([new Uint8Array(file.data)]);
  form.append('file', blob, file.name);
  let response: Response;
  try {
    response = await fetch(
      `${target.httpUrl}/api/channels/${encodeURIComponent(target.channel)}/attachments`,
      {
        method: 'POST',
        headers: { Authorization: `Bearer ${target.token}` },
        body: form,
      },
    );
  } catch (error) {
    throw new ParleyClientError('unavailable', 'the upload did not reach the server', { cause: error });
  }
  const body = (await response.json().catch(() => ({}))) as {
    attachment?: Attachment;
    error?: { code?: unknown; message?: unknown };
  };
  if (response.status === 201 && body.attachment !== undefined) return body.attachment;
  const code = isErrorCode(body.error?.code) ? body.error.code : 'internal';
  const message =
    typeof body.error?.message === 'string' ? body.error.message : `upload failed (${response.status})`;
  throw new ParleyClientError(code, message, { channel: target.channel });
}
