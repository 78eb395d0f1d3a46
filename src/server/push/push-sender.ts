import type { Logger } from 'pino';
import type { PushLimits } from '../config-push.js';
import { canRead } from '../core/permissions.js';
import type { PendingPush, PushSettlement } from '../store/push-store.js';
import type { Store } from '../store/store.js';
import { pushPayload, pushTopic } from './push-payload.js';
import type { PushTransport } from './push-transport.js';

/** How a due push ended on this node (metrics, tests). */
export type PushOutcome =
  /** Sent to at least one of the user's browsers. */
  | 'sent'
  /** The user is connected somewhere: looked at again after the grace period. */
  | 'held'
  /** Still connected when the hold ran out, or has read it meanwhile: not sent. */
  | 'read'
  /** Over the user's rate: due again in the next window. */
  | 'rate_limited'
  /** Not sent: no subscription, no channel, or the user may not read it any more. */
  | 'dropped'
  /** Every push service failed: tried again later, given up after `pushMaxAttempts`. */
  | 'failed';

/** Options of a `PushSender`. */
export interface PushSenderOptions {
  readonly store: Store;
  readonly transport: PushTransport;
  /** This node's name in claims (unique per process). */
  readonly node: string;
  readonly limits: PushLimits;
  readonly logger: Logger;
  readonly onOutcome?: (outcome: PushOutcome) => void;
}

/**
 * Sends the pushes waiting in the Store once they are due, like `WebhookSender` sends the
 * outbox: every node runs one, each due push is claimed with a lease (so one node sends it),
 * and a node that dies leaves its claims to lapse and be taken by another (or by itself after
 * a restart). A due push is sent only if the user has no connection on any node (the cluster's
 * online state, which the Store keeps), has not read up to it, and may still read its channel,
 * within their rate; its payload is built then, from the newest message (see `pushPayload`).
 * A subscription whose push service answers 404 or 410 is removed.
 */
export class PushSender {
  readonly #o: PushSenderOptions;
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #pumping = false;
  #again = false;
  #closed = false;
  #claims = 0;

  constructor(options: PushSenderOptions) {
    this.#o = options;
  }

  /** Starts looking for due pushes (those left from before a restart too). */
  start(): void {
    this.#schedule(0);
  }

  /** Looks for due pushes now, or at `at` if sooner than the next poll. */
  wake(at = Date.now()): void {
    if (this.#closed) return;
    const ms = Math.max(0, at - Date.now());
    if (ms === 0 && this.#pumping) this.#again = true;
    else if (ms < this.#o.limits.pushPollMs) this.#schedule(ms);
  }

  /** Stops claiming and waits for the pushes being sent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    await Promise.allSettled([...this.#inFlight]);
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
    try {
      let claimed = 0;
      do {
        this.#again = false;
        const room = this.#o.limits.pushConcurrency - this.#inFlight.size;
        if (room <= 0) break;
        const now = Date.now();
        const due = await this.#o.store.push.claimPushes({
          owner: `${this.#o.node}:${++this.#claims}`.slice(0, 64),
          limit: room,
          leaseMs: this.#o.limits.pushTimeoutMs + 10_000,
          now,
        });
        claimed = due.length;
        for (const push of due) this.#start(push);
      } while ((claimed > 0 || this.#again) && !this.#closed);
    } catch (err) {
      this.#o.logger.warn({ err }, 'push: cannot claim due pushes; will try again');
    } finally {
      this.#pumping = false;
    }
    this.#schedule(this.#again ? 0 : this.#o.limits.pushPollMs);
  }

  #start(push: PendingPush): void {
    const run = this.#handle(push).catch((err) =>
      // The claim lapses and the push is looked at again.
      this.#o.logger.warn(
        { err, user: push.userId, channel: push.channelId },
        'push not settled; will retry',
      ),
    );
    this.#inFlight.add(run);
    void run.finally(() => {
      this.#inFlight.delete(run);
      this.wake();
    });
  }

  async #handle(push: PendingPush): Promise<void> {
    const { outcome, settlement } = await this.#decide(push);
    const now = Date.now();
    if (!(await this.#o.store.push.settlePush(push, settlement, now))) {
      this.#o.logger.warn(
        { user: push.userId, channel: push.channelId },
        'push claim lapsed before it was settled',
      );
      return;
    }
    this.#o.onOutcome?.(outcome);
  }

  async #decide(push: PendingPush): Promise<{ outcome: PushOutcome; settlement: PushSettlement }> {
    const { store, limits } = this.#o;
    const now = Date.now();
    const done = (outcome: PushOutcome) => ({
      outcome,
      settlement: {
        kind: 'done',
        lastSeq: push.lastSeq,
        messages: push.messages,
        graceMs: limits.pushGraceMs,
      } as const,
    });
    const later = (outcome: PushOutcome, at: number, failed = false) => ({
      outcome,
      settlement: { kind: 'later', at, failed } as const,
    });
    const targets = await store.push.pushSubscriptionsOf(push.userId);
    if (targets.length === 0) return done('dropped');
    const read = (await store.readPositions(push.userId)).get(push.channelId) ?? 0;
    if (read >= push.lastSeq) return done('read');
    if (await store.push.userOnline(push.userId)) {
      // Connected somewhere: the page shows it. Looked at again until the hold runs out.
      return now - push.createdAt >= limits.pushHoldMs
        ? done('read')
        : later('held', now + limits.pushGraceMs);
    }
    // Checked now, not when queued: the user may have left or been removed since.
    const channel = await store.getChannel(push.channelId);
    const role = channel === undefined ? undefined : await store.getRole(push.channelId, push.userId);
    if (channel === undefined || !canRead(channel.kind, role)) return done('dropped');
    const nextWindow = await store.push.takePushBudget(
      push.userId,
      limits.pushWindowMs,
      limits.pushPerWindow,
      now,
    );
    if (nextWindow !== undefined) return later('rate_limited', nextWindow);
    const latest = await store.getMessage(push.channelId, push.lastMessageId);
    const payload = JSON.stringify(
      pushPayload({ channel, messages: push.messages, urgent: push.urgent, latest }),
    );
    const options = {
      ttlSeconds: limits.pushTtlSeconds,
      topic: pushTopic(push.channelId),
      urgency: push.urgent ? ('high' as const) : ('normal' as const),
    };
    const results = await Promise.all(targets.map((t) => this.#o.transport.send(t, payload, options)));
    let sent = false;
    const errors: string[] = [];
    for (const [i, result] of results.entries()) {
      const target = targets[i];
      if (target === undefined) continue;
      if (result.kind === 'sent') sent = true;
      else if (result.kind === 'gone') await store.push.dropPushSubscription(target.id);
      else errors.push(result.error);
    }
    if (sent || errors.length === 0) return done(sent ? 'sent' : 'dropped');
    if (push.attempts + 1 >= limits.pushMaxAttempts) {
      this.#o.logger.warn({ user: push.userId, channel: push.channelId, errors }, 'push given up');
      return done('failed');
    }
    const backoff = Math.min(1000 * 2 ** push.attempts, 60_000);
    this.#o.logger.debug({ user: push.userId, channel: push.channelId, errors }, 'push failed; will retry');
    return later('failed', now + backoff, true);
  }
}
