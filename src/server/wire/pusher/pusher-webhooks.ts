import type { Logger } from 'pino';
import type { Limits } from '../../config.js';
import type { PusherApp } from '../../config-pusher.js';
import type { PresenceUser } from '../../presence/presence.js';
import { WebhookDispatcher } from '../../webhooks/webhook-dispatcher.js';
import { sign } from './pusher-signatures.js';

/** One event of a Pusher webhook body. */
type PusherWebhookEvent = Readonly<Record<string, unknown>> & {
  readonly name: string;
  readonly channel: string;
};

/**
 * Pusher-format webhooks of every app that has URLs: `{ time_ms, events: [...] }`, signed with
 * `X-Pusher-Key` and `X-Pusher-Signature` (HMAC-SHA256 of the body with the app's secret),
 * retried with backoff by a WebhookDispatcher. `channel_vacated` and `member_removed` wait
 * `webhookHoldMs`: a comeback meanwhile (a page reload) cancels both the leave and the join.
 */
export class PusherWebhooks {
  readonly #dispatchers = new Map<PusherApp, WebhookDispatcher>();
  // channel (or channel + user) → the held leave, with whether its event was already sent.
  readonly #held = new Map<string, NodeJS.Timeout>();

  constructor(apps: readonly PusherApp[], limits: Limits, logger: Logger) {
    for (const app of apps) {
      if (app.webhookUrls.length === 0) continue;
      this.#dispatchers.set(
        app,
        new WebhookDispatcher({
          urls: app.webhookUrls,
          secret: new TextEncoder().encode(app.secret),
          queueMax: limits.webhookQueueMax,
          maxAttempts: limits.webhookMaxAttempts,
          retryBaseMs: limits.webhookRetryBaseMs,
          timeoutMs: limits.webhookTimeoutMs,
          concurrency: limits.webhookConcurrency,
          logger,
        }),
      );
    }
  }

  /** Whether the app has webhooks at all. */
  has(app: PusherApp): boolean {
    return this.#dispatchers.has(app);
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

  /** Resolves when no delivery waits (tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.#dispatchers.values()].map((d) => d.idle()));
  }

  close(): void {
    for (const timer of this.#held.values()) clearTimeout(timer);
    this.#held.clear();
    for (const d of this.#dispatchers.values()) d.close();
  }

  #hold(app: PusherApp, key: string, fire: () => Promise<void>): void {
    if (!this.#dispatchers.has(app)) return;
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
    const dispatcher = this.#dispatchers.get(app);
    if (dispatcher === undefined) return;
    const body = JSON.stringify({ time_ms: Date.now(), events: [event] });
    dispatcher.sendSigned(`pusher.${event.name}`, body, {
      'X-Pusher-Key': app.key,
      'X-Pusher-Signature': sign(app, body),
    });
  }
}
