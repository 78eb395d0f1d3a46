import { createHmac, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Store, WebhookDelivery, WebhookOutcome, WebhookState } from '../store/store.js';

/** The events Parley sends to webhook URLs in its own format. */
export type WebhookEventType =
  | 'message.created'
  | 'member.added'
  | 'member.removed'
  | 'member.updated'
  | 'user.online'
  | 'user.offline';

/** How an attempt went, for metrics: delivered, failed and due again, or out of time. */
export type WebhookAttemptOutcome = 'delivered' | 'retried' | 'dead';

/** Options of a WebhookSender; docs/api.md § Webhooks describes the wire format. */
export interface WebhookSenderOptions {
  readonly store: Store;
  /** This node's name in claims (unique in the cluster; a random suffix is added per claim). */
  readonly node: string;
  /** The HMAC-SHA256 key of Parley-format deliveries (the others come signed). */
  readonly secret: Uint8Array | undefined;
  /** The first retry's delay; doubled for each further one (±20% jitter), up to `retryMaxMs`. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** How long one attempt may take. */
  readonly timeoutMs: number;
  /** Attempts in flight at once on this node. */
  readonly concurrency: number;
  /** How often to look for deliveries other nodes wrote, or that became due. */
  readonly pollMs: number;
  readonly logger: Logger;
  /** Told each settled attempt's outcome, with the delivery as it was claimed. */
  readonly onOutcome?: (outcome: WebhookAttemptOutcome, delivery: WebhookDelivery) => void;
  /** How long a replayed delivery is retried again. */
  readonly retryWindowMs: number;
  /** The HTTP client; defaults to the global `fetch`. */
  readonly fetch?: typeof fetch;
}

/** The signature header value of `body` sent at `timestamp` (seconds): `sha256=<hex>`. */
export function webhookSignature(secret: Uint8Array, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Sends what waits in the Store's webhook outbox: claims due deliveries (a lease no other node
 * can take before it lapses), POSTs each, and settles it — removed once a 2xx answers, due
 * again after a backoff on a network error, a timeout or another status, dead once its retry
 * window is over. Every node of a cluster runs one; the claims make each attempt one node's.
 * Nothing is kept in memory but the attempts in flight: a node that stops or dies leaves its
 * claimed deliveries to lapse and be sent again (by it after a restart, or by another node),
 * with the same `X-Parley-Delivery` id.
 */
export class WebhookSender {
  readonly #o: WebhookSenderOptions;
  readonly #fetch: typeof fetch;
  readonly #inFlight = new Set<AbortController>();
  readonly #settling = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #pumping = false;
  #again = false;
  #closed = false;
  #claims = 0;
  #counts = { pending: 0, dead: 0 };

  constructor(options: WebhookSenderOptions) {
    this.#o = options;
    this.#fetch = options.fetch ?? fetch;
  }

  /** Deliveries waiting and dead in the outbox, as last counted (metrics). */
  get counts(): { readonly pending: number; readonly dead: number } {
    return this.#counts;
  }

  /** Deliveries in `state` (the server API's list), oldest first, after the one with id `after`. */
  list(state: WebhookState, limit: number, after?: string): Promise<readonly WebhookDelivery[]> {
    return this.#o.store.listWebhooks({ state, limit, ...(after === undefined ? {} : { after }) });
  }

  /**
   * Makes dead deliveries (those of `ids`, or all) pending again with a fresh retry window,
   * keeping their delivery ids, and sends them; returns how many.
   */
  async replay(ids: readonly string[] | undefined): Promise<number> {
    const now = Date.now();
    const n = await this.#o.store.replayWebhooks(ids, now, now + this.#o.retryWindowMs);
    if (n > 0) {
      this.#o.logger.info({ replayed: n }, 'webhook deliveries replayed');
      this.wake();
    }
    return n;
  }

  /** Starts polling; logs what waits from before. */
  async start(): Promise<void> {
    try {
      this.#counts = await this.#o.store.countWebhooks();
      if (this.#counts.pending + this.#counts.dead > 0)
        this.#o.logger.info(this.#counts, 'webhook outbox: deliveries waiting from before');
    } catch (err) {
      this.#o.logger.warn({ err }, 'webhook outbox: cannot count deliveries');
    }
    this.#schedule(0);
  }

  /** Looks for due deliveries now (a change was just committed with its webhooks). */
  wake(): void {
    if (this.#closed) return;
    if (this.#pumping) this.#again = true;
    else this.#schedule(0);
  }

  /** Stops claiming, aborts attempts in flight (their claims lapse and are sent again later). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const controller of this.#inFlight) controller.abort();
    await Promise.allSettled([...this.#settling]);
  }

  #schedule(ms: number): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#pump(), ms);
    this.#timer.unref();
  }

  async #pump(): Promise<void> {
    if (this.#pumping || this.#closed) return;
    this.#pumping = true;
    let claimed = 0;
    try {
      do {
        this.#again = false;
        const room = this.#o.concurrency - this.#inFlight.size;
        if (room <= 0) break;
        const now = Date.now();
        const deliveries = await this.#o.store.claimWebhooks({
          owner: `${this.#o.node}:${++this.#claims}`.slice(0, 64),
          limit: room,
          // Long enough for the attempt and its settling; a lapse means the node died.
          leaseMs: this.#o.timeoutMs + 10_000,
          now,
        });
        claimed = deliveries.length;
        for (const delivery of deliveries) this.#start(delivery);
      } while ((claimed > 0 || this.#again) && !this.#closed);
      if (claimed === 0) this.#counts = await this.#o.store.countWebhooks();
    } catch (err) {
      this.#o.logger.warn({ err }, 'webhook outbox: cannot claim deliveries; will try again');
    } finally {
      this.#pumping = false;
    }
    // Attempts finishing wake the pump; otherwise look again after the poll interval.
    this.#schedule(this.#again ? 0 : this.#o.pollMs);
  }

  #start(delivery: WebhookDelivery): void {
    const settled = this.#attempt(delivery).then(
      (outcome) => this.#settle(delivery, outcome),
      (err) => this.#o.logger.error({ err, webhook: delivery.eventId }, 'webhook attempt crashed'),
    );
    this.#settling.add(settled);
    void settled.finally(() => {
      this.#settling.delete(settled);
      this.wake();
    });
  }

  async #attempt(delivery: WebhookDelivery): Promise<string | undefined> {
    const controller = new AbortController();
    this.#inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(), this.#o.timeoutMs);
    try {
      const timestamp = Math.floor(Date.now() / 1000);
      const secret = this.#o.secret;
      const own: Record<string, string> =
        delivery.headers === null && secret !== undefined
          ? {
              'X-Parley-Timestamp': String(timestamp),
              'X-Parley-Signature': webhookSignature(secret, timestamp, delivery.body),
            }
          : {};
      const response = await this.#fetch(delivery.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'Parley-Webhooks/1',
          'X-Parley-Event': delivery.type,
          'X-Parley-Delivery': delivery.eventId,
          'X-Parley-Attempt': String(delivery.attempts + 1),
          ...own,
          ...(delivery.headers ?? {}),
        },
        body: delivery.body,
        signal: controller.signal,
        redirect: 'manual',
      });
      // The body is not needed; reading it frees the connection.
      await response.arrayBuffer().catch(() => undefined);
      return response.status >= 200 && response.status <= 299 ? undefined : `HTTP ${response.status}`;
    } catch (err) {
      return controller.signal.aborted
        ? this.#closed
          ? 'aborted: the node stopped'
          : 'timeout'
        : err instanceof Error
          ? err.message
          : String(err);
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(controller);
    }
  }

  async #settle(delivery: WebhookDelivery, failure: string | undefined): Promise<void> {
    const log = {
      webhook: delivery.eventId,
      delivery: delivery.id,
      type: delivery.type,
      url: delivery.url,
      attempt: delivery.attempts + 1,
    };
    const now = Date.now();
    let outcome: WebhookOutcome;
    if (failure === undefined) outcome = { kind: 'delivered' };
    else if (now >= delivery.expiresAt) outcome = { kind: 'dead', error: failure };
    else {
      const base = Math.min(this.#o.retryBaseMs * 2 ** delivery.attempts, this.#o.retryMaxMs);
      const at = Math.min(now + Math.round(base * (0.8 + Math.random() * 0.4)), delivery.expiresAt);
      outcome = { kind: 'retry', at, error: failure };
    }
    if (this.#closed && failure !== undefined) return; // the claim lapses; sent again later
    const owner = delivery.claimedBy ?? '';
    try {
      const kept = await this.#o.store.settleWebhook(delivery.id, owner, outcome);
      if (!kept) {
        this.#o.logger.warn(log, 'webhook claim lapsed before the attempt was settled');
        return;
      }
    } catch (err) {
      // The claim lapses and the delivery is sent again: at least once, never lost.
      this.#o.logger.warn({ ...log, err }, 'webhook outcome not saved; it will be attempted again');
      return;
    }
    if (outcome.kind === 'delivered') {
      this.#o.onOutcome?.('delivered', delivery);
      this.#o.logger.debug(log, 'webhook delivered');
    } else if (outcome.kind === 'dead') {
      this.#o.onOutcome?.('dead', delivery);
      this.#o.logger.error(
        { ...log, failure },
        'webhook dead: its retry window is over (list and replay it with the server API)',
      );
    } else {
      this.#o.onOutcome?.('retried', delivery);
      this.#o.logger.warn(
        { ...log, failure, retry_in_ms: outcome.at - now },
        'webhook attempt failed; will retry',
      );
    }
  }
}

/** A node name for claims: unique per process. */
export function webhookNodeName(): string {
  return randomUUID();
}
