import { ParleyError } from '../../protocol/error-catalogue.js';
import type { BeforePublish, BeforePublishAnswer, BeforePublishRequest } from '../core/before-publish.js';
import { webhookSignature } from './webhook-sender.js';

/** Options of an HttpBeforePublish. */
export interface HttpBeforePublishOptions {
  readonly url: string;
  /** Signs each request as webhooks are signed. */
  readonly secret: Uint8Array;
  /** How long the app may take to answer (`beforePublishTimeoutMs`). */
  readonly timeoutMs: number;
  /** What a missing or malformed answer means: accept (true) or refuse with `unavailable`. */
  readonly failOpen: boolean;
  /** Told of each answer that was not one (timeouts, HTTP errors, bad bodies). */
  readonly onFailure?: (reason: string) => void;
  /** The HTTP client; defaults to the global `fetch`. */
  readonly fetch?: typeof fetch;
}

// The largest answer read: an answer replaces at most a message.
const MAX_ANSWER_BYTES = 256 * 1024;

/**
 * The before-publish hook over HTTP: POSTs `{ channel, user, text }`, signed like webhooks
 * (`X-Parley-Timestamp`, `X-Parley-Signature`), and reads `{ action: accept | reject | replace }`
 * from a 2xx answer. A timeout, a network error, another status or another body falls back to
 * accept (fail-open) or to `unavailable` (fail-closed).
 */
export class HttpBeforePublish implements BeforePublish {
  readonly #o: HttpBeforePublishOptions;
  readonly #fetch: typeof fetch;

  constructor(options: HttpBeforePublishOptions) {
    this.#o = options;
    this.#fetch = options.fetch ?? fetch;
  }

  async check(request: BeforePublishRequest): Promise<BeforePublishAnswer> {
    const body = JSON.stringify({
      channel: request.channel,
      user: { id: request.user.id, username: request.user.username },
      text: request.text,
    });
    let failure: string;
    try {
      const timestamp = Math.floor(Date.now() / 1000);
      const response = await this.#fetch(this.#o.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'Parley-Webhooks/1',
          'X-Parley-Event': 'message.before_publish',
          'X-Parley-Timestamp': String(timestamp),
          'X-Parley-Signature': webhookSignature(this.#o.secret, timestamp, body),
        },
        body,
        signal: AbortSignal.timeout(this.#o.timeoutMs),
        redirect: 'manual',
      });
      const raw = await response.text();
      if (response.status < 200 || response.status > 299) failure = `HTTP ${response.status}`;
      else {
        const answer = raw.length <= MAX_ANSWER_BYTES ? parseAnswer(raw) : undefined;
        if (answer !== undefined) return answer;
        failure = 'an answer that is not accept, reject or replace';
      }
    } catch (err) {
      failure = err instanceof Error && err.name === 'TimeoutError' ? 'timeout' : String(err);
    }
    this.#o.onFailure?.(failure);
    if (this.#o.failOpen) return { action: 'accept' };
    throw new ParleyError('unavailable', 'the app did not answer in time; try again');
  }
}

function parseAnswer(raw: string): BeforePublishAnswer | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const o = value as Record<string, unknown>;
  switch (o.action) {
    case 'accept':
      return { action: 'accept' };
    case 'reject':
      return {
        action: 'reject',
        reason: typeof o.reason === 'string' && o.reason !== '' ? o.reason.slice(0, 200) : undefined,
      };
    case 'replace':
      return typeof o.text === 'string' && o.text !== '' ? { action: 'replace', text: o.text } : undefined;
    default:
      return undefined;
  }
}
