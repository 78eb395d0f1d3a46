import webpush from 'web-push';
import type { PushResult, PushSendOptions, PushTarget, PushTransport } from './push-transport.js';

/** Options of a `WebPushTransport`. */
export interface WebPushTransportOptions {
  /** The VAPID pair (base64url) and subject (a mailto: or https: URL). */
  readonly vapid: { readonly publicKey: string; readonly privateKey: string; readonly subject: string };
  /** How long one request may take. */
  readonly timeoutMs: number;
  /** The HTTP client; defaults to the global `fetch`. */
  readonly fetch?: typeof fetch;
}

/**
 * A `PushTransport` on the `web-push` library: it encrypts the payload (aes128gcm, RFC 8291)
 * and signs the VAPID header; the request itself goes through `fetch` (no redirects followed,
 * a deadline per request), so a loopback `http:` mock push service works in tests too.
 */
export class WebPushTransport implements PushTransport {
  readonly #o: WebPushTransportOptions;
  readonly #fetch: typeof fetch;

  constructor(options: WebPushTransportOptions) {
    this.#o = options;
    this.#fetch = options.fetch ?? fetch;
  }

  /** A new VAPID key pair (base64url), for a cluster that has none. */
  static generateKeys(): { readonly publicKey: string; readonly privateKey: string } {
    const { publicKey, privateKey } = webpush.generateVAPIDKeys();
    return { publicKey, privateKey };
  }

  async send(target: PushTarget, payload: string, options: PushSendOptions): Promise<PushResult> {
    let details: ReturnType<typeof webpush.generateRequestDetails>;
    try {
      details = webpush.generateRequestDetails(
        { endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } },
        payload,
        {
          vapidDetails: this.#o.vapid,
          TTL: options.ttlSeconds,
          topic: options.topic,
          urgency: options.urgency,
          contentEncoding: 'aes128gcm',
        },
      );
    } catch {
      // Keys the library cannot use (checked at subscribe time; a stored row may still be bad).
      return { kind: 'gone', status: 0 };
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#o.timeoutMs);
    try {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(details.headers)) headers[k] = String(v);
      const response = await this.#fetch(details.endpoint, {
        method: 'POST',
        headers,
        body: details.body === null ? null : new Uint8Array(details.body),
        signal: controller.signal,
        redirect: 'manual',
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.status === 404 || response.status === 410)
        return { kind: 'gone', status: response.status };
      if (response.status >= 200 && response.status <= 299) return { kind: 'sent' };
      return { kind: 'failed', error: `HTTP ${response.status}` };
    } catch (err) {
      return {
        kind: 'failed',
        error: controller.signal.aborted ? 'timeout' : err instanceof Error ? err.message : String(err),
      };
    } finally {
      clearTimeout(timer);
    }
  }
}
