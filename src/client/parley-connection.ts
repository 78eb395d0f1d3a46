import { isReconnectable } from '../protocol/close-codes.js';
import type { ClientFrame, ServerFrame, WelcomeFrame } from '../protocol/frames.js';
import { asClientError, describeError } from './as-client-error.js';
import { backoffDelay } from './backoff-delay.js';
import type { ChannelSubscriptions } from './channel-subscriptions.js';
import { Deferred } from './deferred.js';
import { ConnectionLostError, ParleyClientError } from './parley-client-error.js';
import type { ConnectionState, ParleyClientEvents, Welcome } from './parley-client-events.js';
import type { ResolvedOptions } from './parley-client-options.js';
import { parseServerFrame } from './parse-server-frame.js';
import { RequestTimeoutError } from './request-timeout-error.js';
import type { RequestFrame, RequestTracker } from './request-tracker.js';
import { stripFrame } from './strip-frame.js';
import type { Timer, TimerSet } from './timer-set.js';
import { type WebSocketConstructor, type WebSocketLike, WS_OPEN } from './web-socket-like.js';

/** Where and how a {@link ParleyConnection} connects. */
export interface ConnectionSettings {
  readonly url: string;
  /** A JWT, or a function returning a fresh one, called on every (re)connect and on `token_expiring`. */
  readonly token: string | (() => Promise<string>);
  readonly WebSocket: WebSocketConstructor;
  readonly options: ResolvedOptions;
  /** The random source of the backoff jitter, in [0, 1). */
  readonly random: () => number;
}

/** The parts of its client a {@link ParleyConnection} drives as sessions open and close. */
export interface ConnectionParts {
  readonly timers: TimerSet;
  readonly requests: RequestTracker;
  readonly subscriptions: ChannelSubscriptions;
  /** Emits one of the client's events. */
  emit<K extends keyof ParleyClientEvents>(event: K, payload: ParleyClientEvents[K]): void;
}

/**
 * The connection of one {@link ParleyClient}: opens a socket, authenticates, dispatches the
 * frames that arrive, keeps the session alive (ping, token refresh), reconnects with backoff and
 * jitter after a reconnectable close, and stops for good on a terminal one or on `close()`.
 * Requests and subscriptions are told when a session opens and when it is lost.
 */
export class ParleyConnection {
  readonly #url: string;
  readonly #token: string | (() => Promise<string>);
  readonly #WebSocket: WebSocketConstructor;
  readonly #o: ResolvedOptions;
  readonly #random: () => number;
  readonly #timers: TimerSet;
  readonly #requests: RequestTracker;
  readonly #subs: ChannelSubscriptions;
  readonly #emit: ConnectionParts['emit'];

  #state: ConnectionState = 'idle';
  #ws: WebSocketLike | undefined;
  #welcome: Welcome | undefined;
  #expiresAt: number | undefined;
  /** Counts welcomes; requests that lost their connection wait for a higher one. */
  #session = 0;
  #openGeneration = 0;
  #failedAttempts = 0;
  #authRef: number | undefined;
  #authError: ParleyClientError | undefined;
  #socketError: string | undefined;
  /** The socket a refresh is running for; one at a time, so a short-lived token cannot loop. */
  #refreshing: WebSocketLike | undefined;
  /** Why the last connection attempt failed, for messages about not being connected. */
  #lastFailure: string | undefined;
  #closedError: ParleyClientError | undefined;
  #connected: Deferred<Welcome> | undefined;
  #connectTimer: Timer | undefined;
  #pingTimer: Timer | undefined;
  #pageSize: number;

  constructor(settings: ConnectionSettings, parts: ConnectionParts) {
    this.#url = settings.url;
    this.#token = settings.token;
    this.#WebSocket = settings.WebSocket;
    this.#o = settings.options;
    this.#random = settings.random;
    this.#timers = parts.timers;
    this.#requests = parts.requests;
    this.#subs = parts.subscriptions;
    this.#emit = parts.emit;
    this.#pageSize = this.#o.historyPageSize;
  }

  /** The connection state. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** The last `welcome`, none before the first. */
  get welcome(): Welcome | undefined {
    return this.#welcome;
  }

  /** When the session's token expires (ms since the epoch), as of the last welcome or refresh. */
  get expiresAt(): number | undefined {
    return this.#expiresAt;
  }

  /** Counts welcomes; requests that lost their connection wait for a higher one. */
  get session(): number {
    return this.#session;
  }

  /** The error the connection stopped with for good, once it has. */
  get closedError(): ParleyClientError | undefined {
    return this.#closedError;
  }

  /** The current socket (open, or still before its `welcome`), if any. */
  get socket(): WebSocketLike | undefined {
    return this.#ws;
  }

  /** Messages asked for per page when filling a gap: the option, capped by the server's page maximum. */
  get pageSize(): number {
    return this.#pageSize;
  }

  /**
   * Starts connecting. Resolves with the first `welcome`, however many attempts it takes;
   * rejects when the server closes with a terminal code or `close()` is called first. Calling
   * it again returns the same promise.
   */
  connect(): Promise<Welcome> {
    if (this.#connected !== undefined) return this.#connected.promise;
    this.#connected = new Deferred();
    if (this.#closedError !== undefined) {
      this.#connected.reject(this.#closedError);
    } else {
      this.#setState('connecting');
      void this.#open();
    }
    return this.#connected.promise;
  }

  /**
   * Closes the client for good: rejects every pending call, stops every timer and closes the
   * socket (waiting up to `closeTimeoutMs` for the closing handshake). Emits `closed` once.
   */
  async close(): Promise<void> {
    const ws = this.#finish(
      1000,
      'closed by the client',
      new ParleyClientError('unavailable', 'the client was closed'),
    );
    if (ws === undefined || ws.readyState === 3) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate?.();
        resolve();
      }, this.#o.closeTimeoutMs);
      ws.addEventListener('close', () => {
        clearTimeout(timer);
        resolve();
      });
      try {
        ws.close(1000);
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  async #open(): Promise<void> {
    const generation = ++this.#openGeneration;
    let token: string;
    try {
      token = typeof this.#token === 'string' ? this.#token : await this.#token();
    } catch (err) {
      if (this.#closedError !== undefined || generation !== this.#openGeneration) return;
      this.#emit(
        'error',
        new ParleyClientError('auth_failed', `the token function failed: ${describeError(err)}`, {
          cause: err,
        }),
      );
      this.#retryLater(1006, 'no token');
      return;
    }
    if (this.#closedError !== undefined || generation !== this.#openGeneration) return;
    let ws: WebSocketLike;
    try {
      ws = new this.#WebSocket(this.#url);
    } catch (err) {
      this.#finish(
        1006,
        'bad url',
        new ParleyClientError('bad_request', `cannot open ${this.#url}: ${describeError(err)}`),
      );
      return;
    }
    this.#ws = ws;
    this.#socketError = undefined;
    this.#authError = undefined;
    this.#connectTimer = this.#timers.after(this.#o.connectTimeoutMs, () =>
      this.#drop(ws, `no welcome within ${this.#o.connectTimeoutMs} ms`),
    );
    ws.addEventListener('open', () => {
      if (ws !== this.#ws) return;
      this.#authRef = this.#requests.nextRef();
      this.send(ws, { type: 'auth', token, ref: this.#authRef });
    });
    ws.addEventListener('message', (event) => {
      if (ws !== this.#ws) return;
      const frame = parseServerFrame(event.data);
      if (frame === undefined) {
        this.#emit(
          'error',
          new ParleyClientError('internal', 'the server sent a frame the client cannot read'),
        );
        return;
      }
      this.#onFrame(ws, frame);
    });
    ws.addEventListener('error', (event) => {
      if (ws === this.#ws) this.#socketError = event.message;
    });
    ws.addEventListener('close', (event) =>
      this.#onClose(ws, event.code, event.reason || (this.#socketError ?? '')),
    );
  }

  #onFrame(ws: WebSocketLike, frame: ServerFrame): void {
    const ref = 'ref' in frame ? frame.ref : undefined;
    if (typeof ref === 'number') {
      if (ref === this.#authRef && frame.type === 'error') {
        // The close that follows decides whether to retry; this says why.
        this.#authError = ParleyClientError.fromFrame(frame);
        return;
      }
      if (this.#requests.settle(ref, frame)) return;
    }
    switch (frame.type) {
      case 'welcome':
        this.#onWelcome(ws, frame);
        return;
      case 'token_expiring':
        void this.#refresh(ws);
        return;
      case 'message':
        this.#subs.onMessage(frame);
        return;
      case 'presence':
        this.#emit('presence', { channel: frame.channel, event: frame.event, user: frame.user });
        return;
      case 'typing':
        this.#emit('typing', { channel: frame.channel, user: frame.user });
        return;
      case 'member':
        this.#emit('member', { channel: frame.channel, user_id: frame.user_id, role: frame.role ?? null });
        return;
      case 'unsubscribed':
        this.#subs.onUnsubscribed(frame);
        return;
      case 'message_edited':
      case 'message_deleted':
      case 'reaction':
      case 'read_position':
      case 'channel_updated':
      case 'moderation':
        this.#emit('update', frame);
        return;
      case 'error':
        this.#emit('error', ParleyClientError.fromFrame(frame));
        return;
      case 'refreshed':
      case 'pong':
      case 'ack':
      case 'subscribed':
      case 'history':
      case 'presence_list':
      case 'channel':
        // A reply whose request already timed out or was abandoned with its connection.
        return;
      default:
        frame satisfies never;
    }
  }

  #onWelcome(ws: WebSocketLike, frame: WelcomeFrame): void {
    if (this.#state === 'open' || this.#state === 'closed') return;
    this.#timers.cancel(this.#connectTimer);
    this.#authRef = undefined;
    this.#authError = undefined;
    this.#failedAttempts = 0;
    this.#session += 1;
    this.#welcome = stripFrame(frame);
    this.#expiresAt = frame.expires_at;
    const pageMax = frame.limits.history_page_max;
    this.#pageSize = pageMax > 0 ? Math.min(this.#o.historyPageSize, pageMax) : this.#o.historyPageSize;
    this.#setState('open');
    this.#schedulePing(ws);
    this.#connected?.resolve(this.#welcome);
    this.#requests.opened();
    this.#subs.resubscribeAll();
  }

  #onClose(ws: WebSocketLike, code: number, reason: string): void {
    if (ws !== this.#ws) return;
    this.#ws = undefined;
    this.#timers.cancel(this.#connectTimer);
    this.#timers.cancel(this.#pingTimer);
    this.#authRef = undefined;
    this.#subs.disconnected();
    this.#requests.rejectPending(new ConnectionLostError());
    if (this.#state === 'closed') return;
    if (!isReconnectable(code)) {
      this.#finish(code, reason, this.#authError ?? ParleyClientError.fromClose(code, reason));
      return;
    }
    const refusal = upgradeRefusal(reason);
    if (refusal !== undefined) {
      this.#finish(code, reason, refusal);
      return;
    }
    this.#retryLater(code, reason);
  }

  #retryLater(code: number, reason: string): void {
    this.#lastFailure = reason === '' ? `closed with ${code}` : `closed with ${code}: ${reason}`;
    const delay = backoffDelay(this.#failedAttempts++, this.#o, this.#random);
    this.#setState(this.#welcome === undefined ? 'connecting' : 'reconnecting');
    this.#emit('disconnected', { code, reason, reconnectInMs: delay });
    this.#timers.after(delay, () => {
      if (this.#closedError === undefined) void this.#open();
    });
  }

  /** Gives up on a socket that stopped answering, without waiting for its closing handshake. */
  #drop(ws: WebSocketLike, reason: string): void {
    this.#onClose(ws, 1006, reason);
    try {
      if (ws.terminate !== undefined) ws.terminate();
      else ws.close();
    } catch {
      // The socket is already gone; nothing is left to release.
    }
  }

  /** Stops everything; returns the socket that was open so `close()` can close it gracefully. */
  #finish(code: number, reason: string, error: ParleyClientError): WebSocketLike | undefined {
    if (this.#state === 'closed') return undefined;
    this.#closedError = error;
    const ws = this.#ws;
    this.#ws = undefined;
    this.#openGeneration += 1;
    this.#timers.cancelAll();
    this.#connectTimer = undefined;
    this.#pingTimer = undefined;
    // Forgotten before the state says closed, rejected after, as the other waiting calls are.
    const rejectSubscribes = this.#subs.clear();
    this.#setState('closed');
    this.#requests.rejectPending(error);
    this.#requests.rejectWaiters(error);
    this.#timers.wakeAll(error);
    rejectSubscribes(error);
    this.#connected?.reject(error);
    this.#emit('closed', { code, reason, error });
    return ws;
  }

  async #refresh(ws: WebSocketLike): Promise<void> {
    const source = this.#token;
    // A fixed token cannot be renewed; the server closes with 4002 and the reconnect tells.
    if (typeof source === 'string' || this.#refreshing === ws) return;
    this.#refreshing = ws;
    try {
      const token = await source();
      // token_expiring may come just before welcome: wait for this socket's session.
      const session = this.#state === 'open' ? this.#session - 1 : this.#session;
      await this.#requests.whenOpen(Date.now() + this.#o.requestTimeoutMs, session);
      if (ws !== this.#ws) return;
      const reply = await this.#requests.request(
        { type: 'refresh', token },
        'refreshed',
        this.#o.requestTimeoutMs,
      );
      this.#expiresAt = reply.expires_at;
    } catch (err) {
      if (err instanceof ConnectionLostError || this.#closedError !== undefined || ws !== this.#ws) return;
      this.#emit('error', asClientError(err));
    } finally {
      if (this.#refreshing === ws) this.#refreshing = undefined;
    }
  }

  #schedulePing(ws: WebSocketLike): void {
    if (this.#o.pingIntervalMs <= 0) return;
    this.#pingTimer = this.#timers.after(this.#o.pingIntervalMs, () => {
      this.#requests.request({ type: 'ping' }, 'pong', this.#o.pongTimeoutMs).then(
        () => {
          if (ws === this.#ws) this.#schedulePing(ws);
        },
        (err: unknown) => {
          if (err instanceof RequestTimeoutError && ws === this.#ws) {
            this.#drop(ws, `no pong within ${this.#o.pongTimeoutMs} ms`);
          } else if (ws === this.#ws) {
            this.#schedulePing(ws);
          }
        },
      );
    });
  }

  /** Why no session is open, for messages about not being connected. */
  notConnected(): string {
    if (this.#state === 'idle') return `not connected to ${this.#url}: connect() was not called`;
    const last = this.#lastFailure === undefined ? '' : ` (last attempt ${this.#lastFailure})`;
    return `not connected to ${this.#url}${last}`;
  }

  /** Sends a frame that needs no reply on the open session; dropped while none is open. */
  sendQuietly(frame: RequestFrame): void {
    const ws = this.#ws;
    if (ws !== undefined && this.#state === 'open') this.send(ws, frame);
  }

  /** Writes `frame` on `ws`; dropped unless the socket is open. */
  send(ws: WebSocketLike, frame: ClientFrame): void {
    if (ws.readyState !== WS_OPEN) return;
    try {
      ws.send(JSON.stringify(frame));
    } catch {
      // The socket is closing; its close event rejects what waits for a reply.
    }
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#emit('state', state);
  }
}

/**
 * The terminal error for an HTTP refusal of the WebSocket upgrade (404: wrong path, 403: Origin
 * not allowed), which retrying cannot fix. Only `ws` reports the status, in its error message
 * ("Unexpected server response: 404"); browsers hide it and such refusals are retried.
 */
function upgradeRefusal(reason: string): ParleyClientError | undefined {
  const status = Number(/^Unexpected server response: (\d{3})$/.exec(reason)?.[1]);
  if (status === 404) return new ParleyClientError('not_found', `${reason} (is the URL path /ws?)`);
  if (status === 401 || status === 403) return new ParleyClientError('forbidden', reason);
  return undefined;
}
