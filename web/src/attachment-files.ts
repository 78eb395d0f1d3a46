/**
 * The page's side of attachments (issue 16): uploads with progress, and the channel download
 * tickets that make attachment URLs work in `<img>` tags (kept until a minute before they
 * expire, one request per channel however many images ask at once).
 */
import type { Attachment } from '../../src/client/index.js';
import { type Api, channelPath } from './api.js';

// A ticket is asked for again this long before it expires.
const TICKET_MARGIN_MS = 60_000;

/** Uploads files and signs attachment URLs for one signed-in user. */
export class AttachmentFiles {
  readonly #api: Api;
  readonly #tickets = new Map<string, Promise<{ ticket: string; expires_at: number }>>();

  constructor(api: Api) {
    this.#api = api;
  }

  /** Uploads `file` to channel `id`; `onProgress` hears the fraction sent. */
  async upload(id: string, file: File, onProgress: (fraction: number) => void): Promise<Attachment> {
    const reply = await this.#api.upload<{ attachment: Attachment }>(
      channelPath(id, '/attachments'),
      file,
      file.name || 'pasted',
      onProgress,
    );
    return reply.attachment;
  }

  /** `path` (an attachment's `url` or `thumbnail_url`) with channel `id`'s ticket, for an `<img>`. */
  async signed(id: string, path: string): Promise<string> {
    const cached = this.#tickets.get(id);
    const held = cached === undefined ? undefined : await cached.catch(() => undefined);
    let ticket = held;
    if (held === undefined || held.expires_at - TICKET_MARGIN_MS < Date.now()) {
      const asked = this.#api.get<{ ticket: string; expires_at: number }>(
        channelPath(id, '/attachments/ticket'),
      );
      this.#tickets.set(id, asked);
      ticket = await asked;
    }
    const url = this.#api.resolve(path);
    url.searchParams.set('ticket', ticket?.ticket ?? '');
    return url.toString();
  }
}

/** A byte count as people read it: 980 B, 12.4 KB, 3.1 MB. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)} KB`;
  return `${(n / 1_000_000).toFixed(1)} MB`;
}
