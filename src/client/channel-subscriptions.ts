import type {
  HistoryPageFrame,
  Message,
  MessageFrame,
  ServerFrame,
  SubscribedFrame,
  UnsubscribedFrame,
} from '../protocol/frames.js';
import { asClientError } from './as-client-error.js';
import { ChannelStream } from './channel-stream.js';
import { Deferred } from './deferred.js';
import { ConnectionLostError, ParleyClientError } from './parley-client-error.js';
import type { ParleyClientEvents, SubscribeResult } from './parley-client-events.js';
import type { SubscribeOptions } from './parley-client-options.js';
import { RequestTimeoutError } from './request-timeout-error.js';
import type { ReplyOf, RequestFrame } from './request-tracker.js';
import { stripFrame } from './strip-frame.js';
import type { TimerSet } from './timer-set.js';
import { toMessage } from './to-message.js';

/** What {@link ChannelSubscriptions} needs of the client it belongs to. */
export interface SubscriptionHost {
  /** True while a session is open (the client's state is `open`). */
  isOpen(): boolean;
  /** Messages asked for per page when filling a gap, as of the last `welcome`. */
  pageSize(): number;
  /** Time a subscribe, unsubscribe or history request waits for its reply. */
  readonly requestTimeoutMs: number;
  /** Sends one request on the open session and waits up to `timeoutMs` for its reply. */
  request<T extends ServerFrame['type']>(
    frame: RequestFrame,
    expect: T,
    timeoutMs: number,
  ): Promise<ReplyOf<T>>;
  /** Sends a frame that needs no reply; dropped while no session is open. */
  sendQuietly(frame: RequestFrame): void;
  /** The delay before retry number `attempt` (0 for the first), with backoff and jitter. */
  backoff(attempt: number): number;
  /** Emits one of the client's events. */
  emit<K extends 'message' | 'reset' | 'error' | 'unsubscribed'>(
    event: K,
    payload: ParleyClientEvents[K],
  ): void;
}

interface Subscription {
  readonly channel: string;
  readonly options: SubscribeOptions;
  readonly stream: ChannelStream;
  /** Settled by the first `subscribed` (or the first failure). */
  readonly ready: Deferred<SubscribeResult>;
  epoch: string | undefined;
  /** True once a position is known, so the next subscribe is a resume with `since`. */
  resume: boolean;
  status: 'idle' | 'subscribing' | 'live';
  /** Bumped on every (re)subscribe and on loss, so stale replies are recognised. */
  generation: number;
  /** The generation a gap fill is running for, or -1. */
  filling: number;
  retries: number;
}

// A gap fill that makes no progress this many times in a row gives up on the missing range.
const MAX_FILL_STALLS = 3;

/**
 * The channel subscriptions of one client, kept across reconnects: each is subscribed again on
 * every new session, resumed from its last seq and epoch, and its messages are emitted in order
 * and once, gaps filled from history. A subscription ends only by `remove`, by the server
 * unsubscribing it, by a subscribe error that cannot be retried, or by `clear`.
 */
export class ChannelSubscriptions {
  readonly #host: SubscriptionHost;
  readonly #timers: TimerSet;
  readonly #subs = new Map<string, Subscription>();

  constructor(host: SubscriptionHost, timers: TimerSet) {
    this.#host = host;
    this.#timers = timers;
  }

  /** The channels subscribed to (or being subscribed to). */
  get channels(): readonly string[] {
    return [...this.#subs.keys()];
  }

  /** The seq of the last message delivered in `channel`, or undefined when not subscribed. */
  lastSeq(channel: string): number | undefined {
    return this.#subs.get(channel)?.stream.lastSeq;
  }

  /**
   * Adds a subscription to `channel`, subscribed at once when a session is open, and returns
   * the server's first confirmation; a channel already subscribed returns its first result.
   */
  add(channel: string, options: SubscribeOptions): Promise<SubscribeResult> {
    const existing = this.#subs.get(channel);
    if (existing !== undefined) return existing.ready.promise;
    const sub: Subscription = {
      channel,
      options,
      stream: new ChannelStream(options.since ?? 0),
      ready: new Deferred(),
      epoch: options.epoch,
      resume: options.since !== undefined,
      status: 'idle',
      generation: 0,
      filling: -1,
      retries: 0,
    };
    this.#subs.set(channel, sub);
    if (this.#host.isOpen()) this.#sendSubscribe(sub);
    return sub.ready.promise;
  }

  /**
   * Forgets `channel`'s subscription (a subscribe still waiting rejects with `conflict`);
   * false when it was not subscribed.
   */
  remove(channel: string): boolean {
    const sub = this.#subs.get(channel);
    if (sub === undefined) return false;
    this.#forget(
      sub,
      new ParleyClientError('conflict', `unsubscribed from ${channel} before the subscribe completed`),
    );
    return true;
  }

  /** Subscribes every subscription again on a new session, resuming where one is known. */
  resubscribeAll(): void {
    for (const sub of this.#subs.values()) this.#sendSubscribe(sub);
  }

  /** Marks every subscription as lost with its connection, so replies still to come are stale. */
  disconnected(): void {
    for (const sub of this.#subs.values()) {
      sub.status = 'idle';
      sub.generation += 1;
    }
  }

  /**
   * Forgets every subscription at once (the client closed) and returns what rejects their
   * waiting subscribe calls, for the caller to run once it has announced the close.
   */
  clear(): (error: ParleyClientError) => void {
    const subs = [...this.#subs.values()];
    this.#subs.clear();
    return (error) => {
      for (const sub of subs) sub.ready.reject(error);
    };
  }

  /** Delivers a `message` frame of a subscribed channel (held while its subscribe is in flight). */
  onMessage(frame: MessageFrame): void {
    const sub = this.#subs.get(frame.channel);
    if (sub === undefined) return;
    const message = toMessage(frame);
    if (sub.status === 'subscribing') {
      // Arrived ahead of `subscribed`; ordered once the reply gives the position.
      sub.stream.hold(message);
      return;
    }
    if (sub.status !== 'live') return;
    this.#deliver(sub, sub.stream.accept([message]));
    if (sub.stream.needsFill) void this.#fill(sub, sub.generation);
  }

  /** Ends the subscription the server ended and emits `unsubscribed`. */
  onUnsubscribed(frame: UnsubscribedFrame): void {
    const sub = this.#subs.get(frame.channel);
    if (sub !== undefined) {
      this.#forget(sub, new ParleyClientError('forbidden', `the server unsubscribed ${frame.channel}`));
    }
    this.#host.emit('unsubscribed', { channel: frame.channel, reason: frame.reason });
  }

  #sendSubscribe(sub: Subscription): void {
    const generation = ++sub.generation;
    sub.status = 'subscribing';
    sub.stream.clear();
    const { history } = sub.options;
    const frame: RequestFrame = {
      type: 'subscribe',
      channel: sub.channel,
      ...(history === undefined ? {} : { history }),
      ...(sub.resume ? { since: sub.stream.lastSeq } : {}),
      ...(sub.resume && sub.epoch !== undefined ? { epoch: sub.epoch } : {}),
    };
    this.#host.request(frame, 'subscribed', this.#host.requestTimeoutMs).then(
      (reply) => this.#onSubscribed(sub, generation, reply),
      (err: unknown) => this.#onSubscribeFailed(sub, generation, err),
    );
  }

  #isCurrent(sub: Subscription, generation: number): boolean {
    return this.#subs.get(sub.channel) === sub && sub.generation === generation;
  }

  #onSubscribed(sub: Subscription, generation: number, frame: SubscribedFrame): void {
    if (!this.#isCurrent(sub, generation)) return;
    const wasResume = sub.resume;
    const previousEpoch = sub.epoch;
    sub.status = 'live';
    sub.resume = true;
    sub.epoch = frame.epoch;
    sub.retries = 0;
    const result = stripFrame(frame);
    const first = frame.messages[0]?.seq;
    const start = first === undefined ? frame.last_seq : first - 1;
    if (!wasResume) {
      sub.stream.restart(start);
    } else if (!frame.recovered) {
      // A server behind our position (its store was replaced) invalidates it like a new epoch.
      const sameEpoch =
        (previousEpoch === undefined || previousEpoch === frame.epoch) &&
        frame.last_seq >= sub.stream.lastSeq;
      // With recover: 'history' the position is kept and the fill below pages up to last_seq.
      if (!sameEpoch || sub.options.recover !== 'history') {
        sub.stream.restart(sameEpoch ? Math.max(start, sub.stream.lastSeq) : start);
        this.#host.emit('reset', result);
      }
    }
    this.#deliver(sub, sub.stream.accept(frame.messages.map(toMessage)));
    sub.stream.expect(frame.last_seq);
    sub.ready.resolve(result);
    if (sub.stream.needsFill) void this.#fill(sub, generation);
  }

  #onSubscribeFailed(sub: Subscription, generation: number, err: unknown): void {
    // After a lost connection the next welcome subscribes again.
    if (!this.#isCurrent(sub, generation) || err instanceof ConnectionLostError) return;
    const error = asClientError(err, sub.channel);
    if (!sub.ready.settled) {
      this.#forget(sub, error);
      // The server may still subscribe us after a late reply; say we do not want it.
      if (err instanceof RequestTimeoutError)
        this.#host.sendQuietly({ type: 'unsubscribe', channel: sub.channel });
      return;
    }
    if (error.retryable) {
      const delay = error.retryAfterMs ?? this.#host.backoff(sub.retries++);
      this.#timers.after(delay, () => {
        if (this.#isCurrent(sub, generation) && this.#host.isOpen()) this.#sendSubscribe(sub);
      });
      return;
    }
    this.#forget(sub, error);
    this.#host.emit('error', error);
    this.#host.emit('unsubscribed', { channel: sub.channel, reason: 'removed' });
  }

  #forget(sub: Subscription, error: ParleyClientError): void {
    this.#subs.delete(sub.channel);
    sub.generation += 1;
    sub.ready.reject(error);
  }

  /** Pages `history after lastSeq` until the stream has every message up to its target. */
  async #fill(sub: Subscription, generation: number): Promise<void> {
    if (sub.filling === generation) return;
    sub.filling = generation;
    let stalls = 0;
    let failures = 0;
    try {
      while (this.#isCurrent(sub, generation) && sub.status === 'live' && sub.stream.needsFill) {
        const after = sub.stream.lastSeq;
        let page: HistoryPageFrame;
        try {
          page = await this.#host.request(
            { type: 'history', channel: sub.channel, after, limit: this.#host.pageSize() },
            'history',
            this.#host.requestTimeoutMs,
          );
        } catch (err) {
          const error = asClientError(err, sub.channel);
          if (err instanceof ConnectionLostError || !error.retryable) throw err;
          await this.#timers.sleep(error.retryAfterMs ?? this.#host.backoff(failures++));
          continue;
        }
        failures = 0;
        if (!this.#isCurrent(sub, generation)) return;
        this.#deliver(sub, sub.stream.accept(page.messages.map(toMessage)));
        if (sub.stream.lastSeq > after) {
          stalls = 0;
          continue;
        }
        stalls += 1;
        if (stalls >= MAX_FILL_STALLS) {
          this.#host.emit(
            'error',
            new ParleyClientError(
              'unavailable',
              `messages after seq ${after} of ${sub.channel} could not be read; skipped`,
              { channel: sub.channel },
            ),
          );
          this.#deliver(sub, sub.stream.skipGap());
          stalls = 0;
          continue;
        }
        // Another node may not have committed what its bus already announced; ask again soon.
        await this.#timers.sleep(this.#host.backoff(stalls));
      }
    } catch (err) {
      // A lost connection resumes from lastSeq on the next one; a closed client is done.
      if (err instanceof ConnectionLostError || !this.#isCurrent(sub, generation)) return;
      this.#host.emit('error', asClientError(err, sub.channel));
    } finally {
      if (sub.filling === generation) sub.filling = -1;
    }
  }

  #deliver(sub: Subscription, messages: readonly Message[]): void {
    for (const message of messages) {
      // A listener may unsubscribe in the middle of a batch.
      if (this.#subs.get(sub.channel) !== sub) return;
      this.#host.emit('message', message);
    }
  }
}
