import type { ServerLimits } from '../protocol/frames.js';
import { asClientError } from './as-client-error.js';
import { ConnectionLostError, ParleyClientError } from './parley-client-error.js';
import type { Ack } from './parley-client-events.js';
import type { PublishOptions } from './parley-client-options.js';
import { randomId } from './random-id.js';
import { RequestTimeoutError } from './request-timeout-error.js';
import type { RequestFrame, RequestTracker } from './request-tracker.js';
import { stripFrame } from './strip-frame.js';
import type { TimerSet } from './timer-set.js';

/** What a {@link Publisher} needs of its client beyond sending requests. */
export interface PublishLink {
  /** True while a session is open (the client's state is `open`). */
  isOpen(): boolean;
  /** Counts welcomes, as {@link RequestTracker.whenOpen} expects. */
  session(): number;
  /** The error the client closed with, once it closed. */
  closedError(): ParleyClientError | undefined;
  /** The limits of the server's last `welcome`, none before the first. */
  limits(): ServerLimits | undefined;
  /** Why no session is open, for the message of a timeout. */
  notConnected(): string;
  /** The delay before retry number `attempt` (0 for the first), with backoff and jitter. */
  backoff(attempt: number): number;
}

/** The deadlines of a {@link Publisher}, in milliseconds. */
export interface PublishTimeouts {
  /** Time one attempt waits for its ack before it is sent again. */
  readonly ackTimeoutMs: number;
  /** Overall deadline of a publish, retries included, unless the call gives one. */
  readonly publishTimeoutMs: number;
}

/**
 * The publishes of one client, retried idempotently: each keeps its `client_msg_id` across
 * attempts, so however often a lost connection or a late ack makes it send again, the server
 * stores the message once.
 */
export class Publisher {
  readonly #link: PublishLink;
  readonly #requests: RequestTracker;
  readonly #timers: TimerSet;
  readonly #o: PublishTimeouts;

  constructor(link: PublishLink, requests: RequestTracker, timers: TimerSet, timeouts: PublishTimeouts) {
    this.#link = link;
    this.#requests = requests;
    this.#timers = timers;
    this.#o = timeouts;
  }

  /**
   * Publishes `text` and resolves with the ack once it is committed, sending it again after a
   * lost connection, a late ack or a retryable error until the deadline.
   */
  async publish(channel: string, text: string, options: PublishOptions = {}): Promise<Ack> {
    const clientMsgId = options.clientMsgId ?? randomId();
    const timeoutMs = options.timeoutMs ?? this.#o.publishTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const frame: RequestFrame = {
      type: 'publish',
      channel,
      text,
      client_msg_id: clientMsgId,
      ...(options.replyTo === undefined ? {} : { reply_to: options.replyTo }),
      ...(options.attachments === undefined || options.attachments.length === 0
        ? {}
        : { attachments: options.attachments }),
    };
    let lostSession = -1;
    let retries = 0;
    let serverError: ParleyClientError | undefined;
    for (;;) {
      let session = this.#link.session();
      try {
        await this.#requests.whenOpen(deadline, lostSession);
        session = this.#link.session();
        this.#checkSize(frame, channel);
        const ack = await this.#requests.request(
          frame,
          'ack',
          Math.min(this.#o.ackTimeoutMs, deadline - Date.now()),
        );
        return stripFrame(ack);
      } catch (err) {
        const closedError = this.#link.closedError();
        if (closedError !== undefined) throw closedError;
        const error = asClientError(err);
        let waitMs = 0;
        if (err instanceof ConnectionLostError) {
          lostSession = session;
        } else if (!(err instanceof RequestTimeoutError)) {
          if (!error.retryable) throw error;
          serverError = error;
          waitMs = error.retryAfterMs ?? this.#link.backoff(retries++);
        }
        if (Date.now() + waitMs >= deadline) {
          const why = this.#link.isOpen() ? '' : `; ${this.#link.notConnected()}`;
          throw (
            serverError ??
            new ParleyClientError(
              'timeout',
              `no ack for client_msg_id ${clientMsgId} within ${timeoutMs} ms${why}`,
              {
                channel,
              },
            )
          );
        }
        if (waitMs > 0) await this.#timers.sleep(waitMs);
      }
    }
  }

  /**
   * Throws what the server would answer for a publish over its announced limits. Too long a
   * text gets an error frame anyway, but too large a frame closes the socket (1009), and
   * resending it after the reconnect would close the next one too.
   */
  #checkSize(frame: RequestFrame & { readonly text: string }, channel: string): void {
    const limits = this.#link.limits();
    if (limits === undefined) return;
    if (limits.max_message_chars > 0 && frame.text.length > limits.max_message_chars) {
      throw new ParleyClientError(
        'message_too_long',
        `the text is ${frame.text.length} characters; the server accepts ${limits.max_message_chars}`,
        { channel },
      );
    }
    const json = JSON.stringify({ ...frame, ref: Number.MAX_SAFE_INTEGER });
    // Only a long frame can pass the byte limit; UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (limits.max_payload_bytes > 0 && json.length * 3 > limits.max_payload_bytes) {
      const bytes = new TextEncoder().encode(json).length;
      if (bytes > limits.max_payload_bytes) {
        throw new ParleyClientError(
          'payload_too_large',
          `the publish frame is ${bytes} bytes; the server accepts ${limits.max_payload_bytes}`,
          { channel },
        );
      }
    }
  }
}
