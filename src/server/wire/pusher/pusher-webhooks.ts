import { randomUUID } from 'node:crypto';
import type { PusherApp } from '../../config-pusher.js';
import type { PresenceUser } from '../../presence/presence.js';
import type { NewWebhook } from '../../store/store.js';
import { sign } from './pusher-signatures.js';

/** One event of a Pusher webhook body. */
type PusherWebhookEvent = Readonly<Record<string, unknown>> & {
  readonly name: string;
  readonly channel: string;
};

/** Where Pusher-format deliveries go: the webhook outbox, and how long they are retried. */
export interface PusherWebhookSink {
  readonly enqueue: (deliveries: readonly NewWebhook[]) => void;
  readonly retryWindowMs: number;
}

/**
 * Pusher-format webhooks of every app that has URLs: `{ time_ms, events: [...] }`, signed with
 * `X-Pusher-Key` and `X-Pusher-Signature` (HMAC-SHA256 of the body with the app's secret),
 * written to the webhook outbox (retried with backoff, once per cluster, kept when dead).
 * `channel_vacated` and `member_removed` wait `webhookHoldMs`: a comeback meanwhile (a page
 * reload) cancels both the leave and the join.
 */
export class PusherWebhooks {
  readonly #apps: ReadonlySet<PusherApp>;
  readonly #sink: PusherWebhookSink | undefined;
  // channel (or channel + user) → the held leave, with whether its event was already sent.
  readonly #held = new Map<string, NodeJS.Timeout>();

  constructor(apps: readonly PusherApp[], sink: PusherWebhookSink | undefined) {
    this.#sink = sink;
    this.#apps = new Set(sink === undefined ? [] : apps.filter((app) => app.webhookUrls.length > 0));
  }

  /** Whether the app has webhooks at all. */
  has(app: PusherApp): boolean {
    return this.#apps.has(app);
  }

  /** The channel's first subscription anywhere, or its last one gone (held). */
  occupancy(app: PusherApp, channel: string, occupied: boolean, stillEmpty: () => Promise<boolean>): void {
    const key = `o\u0000${channel}`;
    if (occupied) {
      if (this.#cancel(key)) return;
      this.#send(app, { name: 'channel_occupied', channel });
    } else {
      this.#hold(app, key, async () => {
        if (await stillEmpty()) this.#send(app, { name: 'channel_vacated', channel });
      });
    }
  }

  /** A user's first connection in a presence channel, or their last one gone (held). */
  member(
    app: PusherApp,
    channel: string,
    event: 'join' | 'leave',
    user: PresenceUser,
    stillGone: () => Promise<boolean>,
  ): void {
    const key = `m\u0000${channel}\u0000${user.id}`;
    if (event === 'join') {
      if (this.#cancel(key)) return;
      this.#send(app, { name: 'member_added', channel, user_id: user.id });
    } else {
      this.#hold(app, key, async () => {
        if (await stillGone()) this.#send(app, { name: 'member_removed', channel, user_id: user.id });
      });
    }
  }

  /** A client event was relayed. */
  clientEvent(
    app: PusherApp,
    channel: string,
    event: string,
    data: string,
    socketId: string,
    userId?: string,
  ): void {
    this.#send(app, {
      name: 'client_event',
      channel,
      event,
      data,
      socket_id: socketId,
      ...(userId === undefined ? {} : { user_id: userId }),
    });
  }

  /** A `cache-` channel had no event to give a new subscriber. */
  cacheMiss(app: PusherApp, channel: string): void {
    this.#send(app, { name: 'cache_miss', channel });
  }

  close(): void {
    for (const timer of this.#held.values()) clearTimeout(timer);
    this.#held.clear();
  }

  #hold(app: PusherApp, key: string, fire: () => Promise<void>): void {
    if (!this.#apps.has(app)) return;
    this.#cancel(key);
    const timer = setTimeout(() => {
      this.#held.delete(key);
      fire().catch(() => undefined);
    }, app.webhookHoldMs);
    timer.unref();
    this.#held.set(key, timer);
  }

  // True when a held leave was cancelled (the comeback is then not announced either).
  #cancel(key: string): boolean {
    const timer = this.#held.get(key);
    if (timer === undefined) return false;
    clearTimeout(timer);
    this.#held.delete(key);
    return true;
  }

  #send(app: PusherApp, event: PusherWebhookEvent): void {
    const sink = this.#sink;
    if (sink === undefined || !this.#apps.has(app)) return;
    const now = Date.now();
    const body = JSON.stringify({ time_ms: now, events: [event] });
    const headers = { 'X-Pusher-Key': app.key, 'X-Pusher-Signature': sign(app, body) };
    const eventId = randomUUID();
    sink.enqueue(
      app.webhookUrls.map((url) => ({
        eventId,
        type: `pusher.${event.name}`,
        url,
        body,
        headers,
        createdAt: now,
        expiresAt: now + sink.retryWindowMs,
      })),
    );
  }
}
