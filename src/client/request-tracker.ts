import type { ClientFrame, ServerFrame } from '../protocol/frames.js';
import { ConnectionLostError, ParleyClientError } from './parley-client-error.js';
import { RequestTimeoutError } from './request-timeout-error.js';
import type { Timer, TimerSet } from './timer-set.js';
import { type WebSocketLike, WS_OPEN } from './web-socket-like.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A client frame before its `ref` is assigned. */
export type RequestFrame = DistributiveOmit<ClientFrame, 'ref'>;
/** The server frame of type `T`: the reply a request expects. */
export type ReplyOf<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>;

/** What a {@link RequestTracker} needs of the connection its requests go out on. */
export interface RequestLink {
  /** The current socket (open, or still before its `welcome`), if any. */
  socket(): WebSocketLike | undefined;
  /** True while a session is open (the client's state is `open`). */
  isOpen(): boolean;
  /** Counts welcomes; requests that lost their connection wait for a higher one. */
  session(): number;
  /** The error the client closed with, once it closed. */
  closedError(): ParleyClientError | undefined;
  /** Why no session is open, for the message of a timeout. */
  notConnected(): string;
  /** Writes `frame` on `ws`; dropped unless the socket is open. */
  send(ws: WebSocketLike, frame: ClientFrame): void;
}

interface PendingRequest {
  readonly expect: ServerFrame['type'];
  readonly resolve: (frame: ServerFrame) => void;
  readonly reject: (error: ParleyClientError) => void;
}

interface OpenWaiter {
  readonly resolve: () => void;
  readonly reject: (error: ParleyClientError) => void;
  readonly timer: Timer;
}

/**
 * The requests of one client waiting for their replies, matched by `ref`, and the calls waiting
 * for an open session. A request is sent on the open socket only; a lost connection rejects it
 * with {@link ConnectionLostError}, which idempotent calls answer by sending it again on the
 * next session, within their deadline.
 */
export class RequestTracker {
  readonly #link: RequestLink;
  readonly #timers: TimerSet;
  readonly #requestTimeoutMs: number;
  #nextRef = 1;
  readonly #pending = new Map<number, PendingRequest>();
  readonly #openWaiters = new Set<OpenWaiter>();

  /** A tracker sending on `link`'s socket; `requestTimeoutMs` is the default deadline of `call`. */
  constructor(link: RequestLink, timers: TimerSet, requestTimeoutMs: number) {
    this.#link = link;
    this.#timers = timers;
    this.#requestTimeoutMs = requestTimeoutMs;
  }

  /** A ref no other frame of this client carries. */
  nextRef(): number {
    return this.#nextRef++;
  }

  /**
   * Sends a request once connected and waits for its reply, within `timeoutMs` overall.
   * Idempotent requests whose connection drops are sent again on the next one.
   */
  async call<T extends ServerFrame['type']>(
    frame: RequestFrame,
    expect: T,
    options: { readonly timeoutMs?: number | undefined; readonly idempotent: boolean },
  ): Promise<ReplyOf<T>> {
    const deadline = Date.now() + (options.timeoutMs ?? this.#requestTimeoutMs);
    let lostSession = -1;
    for (;;) {
      await this.whenOpen(deadline, lostSession);
      const session = this.#link.session();
      try {
        return await this.request(frame, expect, deadline - Date.now());
      } catch (err) {
        if (
          !options.idempotent ||
          !(err instanceof ConnectionLostError) ||
          this.#link.closedError() !== undefined
        )
          throw err;
        lostSession = session;
      }
    }
  }

  /** Resolves once a session later than `afterSession` is open; rejects at `deadline` or on close. */
  whenOpen(deadline: number, afterSession: number): Promise<void> {
    if (this.#link.isOpen() && this.#link.session() > afterSession) return Promise.resolve();
    const closedError = this.#link.closedError();
    if (closedError !== undefined) return Promise.reject(closedError);
    return new Promise((resolve, reject) => {
      const timer = this.#timers.after(Math.max(0, deadline - Date.now()), () => {
        this.#openWaiters.delete(waiter);
        reject(new RequestTimeoutError('timeout', this.#link.notConnected()));
      });
      const waiter: OpenWaiter = { resolve, reject, timer };
      this.#openWaiters.add(waiter);
    });
  }

  /** Sends one request on the open socket and waits up to `timeoutMs` for the reply with its ref. */
  request<T extends ServerFrame['type']>(
    frame: RequestFrame,
    expect: T,
    timeoutMs: number,
  ): Promise<ReplyOf<T>> {
    const ws = this.#link.socket();
    if (ws === undefined || !this.#link.isOpen() || ws.readyState !== WS_OPEN) {
      return Promise.reject(new ConnectionLostError('not connected'));
    }
    const ref = this.#nextRef++;
    return new Promise((resolve, reject) => {
      const timer = this.#timers.after(Math.max(0, timeoutMs), () => {
        this.#pending.delete(ref);
        reject(new RequestTimeoutError('timeout', `no ${expect} reply within ${timeoutMs} ms`));
      });
      this.#pending.set(ref, {
        expect,
        resolve: (reply) => {
          this.#timers.cancel(timer);
          resolve(reply as ReplyOf<T>);
        },
        reject: (error) => {
          this.#timers.cancel(timer);
          reject(error);
        },
      });
      this.#link.send(ws, { ...frame, ref });
    });
  }

  /** Settles the request that `frame` (carrying `ref`) answers; false when none waits for it. */
  settle(ref: number, frame: ServerFrame): boolean {
    const pending = this.#pending.get(ref);
    if (pending === undefined) return false;
    this.#pending.delete(ref);
    if (frame.type === 'error') pending.reject(ParleyClientError.fromFrame(frame));
    else if (frame.type === pending.expect) pending.resolve(frame);
    else
      pending.reject(
        new ParleyClientError('internal', `expected a ${pending.expect} reply, got ${frame.type}`),
      );
    return true;
  }

  /** Lets every call waiting for an open session go on (a `welcome` arrived). */
  opened(): void {
    for (const waiter of this.#openWaiters) {
      this.#timers.cancel(waiter.timer);
      waiter.resolve();
    }
    this.#openWaiters.clear();
  }

  /** Rejects every request waiting for its reply (its connection was lost, or the client closed). */
  rejectPending(error: ParleyClientError): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const request of pending) request.reject(error);
  }

  /** Rejects every call waiting for an open session (the client closed). */
  rejectWaiters(error: ParleyClientError): void {
    const waiters = [...this.#openWaiters];
    this.#openWaiters.clear();
    for (const waiter of waiters) waiter.reject(error);
  }
}
