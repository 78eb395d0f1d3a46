/** Where a push goes: a browser's subscription as its push service gave it. */
export interface PushTarget {
  readonly endpoint: string;
  /** The browser's P-256 public key and auth secret (base64url). */
  readonly p256dh: string;
  readonly auth: string;
}

/** How a push is sent: its TTL, the topic that replaces an earlier undelivered push, its urgency. */
export interface PushSendOptions {
  readonly ttlSeconds: number;
  /** At most 32 base64url characters. */
  readonly topic: string;
  readonly urgency: 'normal' | 'high';
}

/** What the push service said: taken, gone for good (404/410), or failed (try again later). */
export type PushResult =
  | { readonly kind: 'sent' }
  | { readonly kind: 'gone'; readonly status: number }
  | { readonly kind: 'failed'; readonly error: string };

/**
 * Sends one encrypted push (RFC 8291 payload, RFC 8292 VAPID) to a push service. Never throws:
 * every failure is a `PushResult`. The payload is text; the implementation encrypts it for the
 * target, so only that browser can read it.
 */
export interface PushTransport {
  send(target: PushTarget, payload: string, options: PushSendOptions): Promise<PushResult>;
}
