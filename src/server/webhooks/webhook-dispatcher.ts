import { createHmac, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';

/** The events Parley sends to webhook URLs. */
export type WebhookEventType =
  | 'message.created'
  | 'member.added'
  | 'member.removed'
  | 'member.updated'
  | 'user.online'
  | 'user.offline';

/** Options of a WebhookDispatcher; docs/api.md § Webhooks describes the wire format. */
export interface WebhookDispatcherOptions {
  readonly urls: readonly string[];
  /** The HMAC-SHA256 key shared with the receivers. */
  readonly secret: Uint8Array;
  /** Deliveries waiting at most (queued or waiting for a retry); beyond, new ones are dropped. */
  readonly queueMax: number;
  /** Attempts per delivery, including the first. */
  readonly maxAttempts: number;
  /** Delay before the first retry; doubled for each further one (with ±20% jitter). */
  readonly retryBaseMs: number;
  /** How long one attempt may take. */
  readonly timeoutMs: number;
  /** Attempts in flight at once. */
  readonly concurrency: number;
  readonly logger: Logger;
  /** Called for each attempt's outcome (metrics). */
  readonly onOutcome?: (outcome: 'delivered' | 'retried' | 'failed' | 'dropped') => void;
  /** The HTTP client; defaults to the global `fetch`. */
  readonly fetch?: typeof fetch;
}

interface Delivery {
  readonly id: string;
  readonly type: string;
  readonly url: string;
  readonly body: string;
  /** Headers of another format (Pusher's), signed already; undefined = Parley's own. */
  readonly headers: Readonly<Record<string, string>> | undefined;
  attempt: number;
}

/** The signature header value of `body` sent at `timestamp` (seconds): `sha256=<hex>`. */
export function webhookSignature(secret: Uint8Array, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Delivers webhook events: one POST per event and URL with a JSON body
 * `{ id, type, created_at, data }`, signed with HMAC-SHA256 over `timestamp.body` (headers
 * `X-Parley-Timestamp`, `X-Parley-Signature`), retried with exponential backoff on a network
 * error, a timeout or a non-2xx answer. `send` never blocks and never throws: deliveries wait in
 * a bounded queue; a full queue drops the new delivery (logged and counted), and a delivery that
 * runs out of attempts is logged and counted. Nothing is stored: deliveries waiting when the
 * node stops are lost (logged).
 */
export class WebhookDispatcher {
  readonly #options: WebhookDispatcherOptions;
  readonly #fetch: typeof fetch;
  readonly #queue: Delivery[] = [];
  readonly #retries = new Map<Delivery, NodeJS.Timeout>();
  readonly #inFlight = new Set<AbortController>();
  readonly #idleWaiters: (() => void)[] = [];
  #closed = false;

  constructor(options: WebhookDispatcherOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
  }

  /** Deliveries waiting (queued or waiting for a retry), not counting those in flight. */
  get waiting(): number {
    return this.#queue.length + this.#retries.size;
  }

  /** Queues the event for every URL. */
  send(type: WebhookEventType, data: Readonly<Record<string, unknown>>): void {
    if (this.#closed) return;
    const id = randomUUID();
    this.#enqueue(id, type, JSON.stringify({ id, type, created_at: Date.now(), data }), undefined);
  }

  /**
   * Queues a body of another format (Pusher's webhooks) for every URL, with the headers that
   * sign it; delivered, retried and bounded as Parley's own.
   */
  sendSigned(type: string, body: string, headers: Readonly<Record<string, string>>): void {
    if (this.#closed) return;
    this.#enqueue(randomUUID(), type, body, headers);
  }

  #enqueue(
    id: string,
    type: string,
    body: string,
    headers: Readonly<Record<string, string>> | undefined,
  ): void {
    for (const url of this.#options.urls) {
      if (this.waiting + this.#inFlight.size >= this.#options.queueMax) {
        this.#options.onOutcome?.('dropped');
        this.#options.logger.warn({ webhook: id, type, url }, 'webhook queue full; event dropped');
        continue;
      }
      this.#queue.push({ id, type, url, body, headers, attempt: 0 });
    }
    this.#pump();
  }

  /** Resolves when nothing is queued, waiting or in flight (tests). */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops: aborts attempts in flight and forgets waiting deliveries (logging how many). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const lost = this.waiting + this.#inFlight.size;
    if (lost > 0) this.#options.logger.warn({ lost }, 'webhook deliveries lost at shutdown');
    for (const timer of this.#retries.values()) clearTimeout(timer);
    this.#retries.clear();
    this.#queue.length = 0;
    for (const controller of this.#inFlight) controller.abort();
    this.#settleIdle();
  }

  #isIdle(): boolean {
    return this.#queue.length === 0 && this.#retries.size === 0 && this.#inFlight.size === 0;
  }

  #settleIdle(): void {
    if (!this.#isIdle()) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  #pump(): void {
    while (!this.#closed && this.#inFlight.size < this.#options.concurrency && this.#queue.length > 0) {
      const delivery = this.#queue.shift() as Delivery;
      void this.#attempt(delivery);
    }
    this.#settleIdle();
  }

  async #attempt(delivery: Delivery): Promise<void> {
    delivery.attempt += 1;
    const controller = new AbortController();
    this.#inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(), this.#options.timeoutMs);
    let failure: string | undefined;
    try {
      const timestamp = Math.floor(Date.now() / 1000);
      const response = await this.#fetch(delivery.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'Parley-Webhooks/1',
          'X-Parley-Event': delivery.type,
          'X-Parley-Delivery': delivery.id,
          'X-Parley-Attempt': String(delivery.attempt),
          ...(delivery.headers ?? {
            'X-Parley-Timestamp': String(timestamp),
            'X-Parley-Signature': webhookSignature(this.#options.secret, timestamp, delivery.body),
          }),
        },
        body: delivery.body,
        signal: controller.signal,
        redirect: 'manual',
      });
      // The body is not needed; reading it frees the connection.
      await response.arrayBuffer().catch(() => undefined);
      if (response.status < 200 || response.status > 299) failure = `HTTP ${response.status}`;
    } catch (err) {
      failure = controller.signal.aborted ? 'timeout' : err instanceof Error ? err.message : String(err);
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(controller);
    }
    if (this.#closed) return;
    const log = { webhook: delivery.id, type: delivery.type, url: delivery.url, attempt: delivery.attempt };
    if (failure === undefined) {
      this.#options.onOutcome?.('delivered');
      this.#options.logger.debug(log, 'webhook delivered');
    } else if (delivery.attempt >= this.#options.maxAttempts) {
      this.#options.onOutcome?.('failed');
      this.#options.logger.error({ ...log, failure }, 'webhook failed; no attempts left');
    } else {
      this.#options.onOutcome?.('retried');
      const base = this.#options.retryBaseMs * 2 ** (delivery.attempt - 1);
      const delay = Math.round(base * (0.8 + Math.random() * 0.4));
      this.#options.logger.warn(
        { ...log, failure, retry_in_ms: delay },
        'webhook attempt failed; will retry',
      );
      const retry = setTimeout(() => {
        this.#retries.delete(delivery);
        this.#queue.push(delivery);
        this.#pump();
      }, delay);
      retry.unref();
      this.#retries.set(delivery, retry);
    }
    this.#pump();
  }
}
