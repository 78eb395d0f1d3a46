import { isReconnectable } from '../protocol/close-codes.js';
import type {
  AckFrame,
  ChannelInfo,
  ChannelUpdatedFrame,
  ClientFrame,
  HistoryPageFrame,
  MemberFrame,
  Message,
  MessageDeletedFrame,
  MessageEditedFrame,
  MessageFrame,
  PresenceEventFrame,
  ReactionFrame,
  ReadPositionFrame,
  Role,
  ServerFrame,
  SubscribedFrame,
  TypingEventFrame,
  UnsubscribedFrame,
  UserInfo,
  WelcomeFrame,
} from '../protocol/frames.js';
import { backoffDelay } from './backoff-delay.js';
import { ChannelStream } from './channel-stream.js';
import { Deferred } from './deferred.js';
import { ConnectionLostError, ParleyClientError } from './parley-client-error.js';
import { parseServerFrame } from './parse-server-frame.js';
import { randomId } from './random-id.js';
import { TypedEmitter } from './typed-emitter.js';
import { type WebSocketConstructor, type WebSocketLike, WS_OPEN } from './web-socket-like.js';

/**
 * Where a client is in its life: `idle` until `connect()`, `connecting` until the first
 * `welcome`, `open` while authenticated, `reconnecting` between a lost connection and the next
 * `welcome`, `closed` for good (after `close()` or a terminal close code).
 */
export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** What the server said when the session was accepted. */
export type Welcome = Omit<WelcomeFrame, 'type' | 'ref'>;
/** A committed publish. */
export type Ack = Omit<AckFrame, 'type' | 'ref'>;
/** A channel subscription as the server confirmed it: its position, epoch and first messages. */
export type SubscribeResult = Omit<SubscribedFrame, 'type' | 'ref'>;
/**
 * A channel's stream restarted: a resume was not recovered (the epoch changed, or the gap was
 * too large). Drop what is shown for the channel; `messages` (also emitted as `message`
 * events right after) are its latest history.
 */
export type ResetEvent = SubscribeResult;
/** A page of history. */
export type HistoryPage = Omit<HistoryPageFrame, 'type' | 'ref'>;
/** A user came online in, or left, a channel. */
export type PresenceEvent = Omit<PresenceEventFrame, 'type'>;
/** Someone is typing in a channel. */
export type TypingEvent = Omit<TypingEventFrame, 'type'>;
/** A membership change (`role` null when the user was removed). */
export type MemberEvent = Omit<MemberFrame, 'type' | 'ref'>;
/** The client stopped receiving a channel, by request or because access was lost. */
export type UnsubscribedEvent = Omit<UnsubscribedFrame, 'type' | 'ref'>;

/** A connection was lost and another will be tried. */
export interface DisconnectedEvent {
  /** The WebSocket close code (1006 when the client gave up on the socket itself). */
  readonly code: number;
  readonly reason: string;
  /** The backoff delay before the next attempt. */
  readonly reconnectInMs: number;
}

/** The client stopped for good. */
export interface ClosedEvent {
  /** The close code: the server's terminal code, or 1000 after `close()`. */
  readonly code: number;
  readonly reason: string;
  /** Why, as a catalogue error (e.g. `auth_failed` for 4501). */
  readonly error: ParleyClientError;
}

/** The events of a {@link ParleyClient} and the payload each carries. */
/** The frames of a {@link ParleyClientEvents.update} event. */
export type UpdateEvent =
  | MessageEditedFrame
  | MessageDeletedFrame
  | ReactionFrame
  | ReadPositionFrame
  | ChannelUpdatedFrame;

export interface ParleyClientEvents {
  /** The connection state changed. */
  readonly state: ConnectionState;
  /**
   * A message of a subscribed channel: per channel strictly ascending by seq and each seq
   * once, history included (the messages of a subscribe result and of a reset come here too).
   */
  readonly message: Message;
  readonly reset: ResetEvent;
  readonly presence: PresenceEvent;
  readonly typing: TypingEvent;
  /** A membership change pushed by the server (replies to `addMember` etc. are not repeated). */
  readonly member: MemberEvent;
  readonly unsubscribed: UnsubscribedEvent;
  /**
   * A change to something already delivered, pushed by the server: a message edited or deleted,
   * a reaction toggled, the user's read position moved (on another connection too), a channel
   * renamed or archived.
   */
  readonly update: UpdateEvent;
  /** Something failed that no pending call could be told about. */
  readonly error: ParleyClientError;
  readonly disconnected: DisconnectedEvent;
  readonly closed: ClosedEvent;
}

/** Options of a {@link ParleyClient}. Durations are milliseconds. */
export interface ParleyClientOptions {
  /** The socket URL, `ws://HOST:PORT/ws` or `wss://…`. */
  readonly url: string;
  /** A JWT, or a function returning a fresh one; it is called on every (re)connect and on `token_expiring`. */
  readonly token: string | (() => Promise<string>);
  /** The WebSocket constructor. Default `globalThis.WebSocket`; on Node 20 pass `WebSocket` from `ws`. */
  readonly WebSocket?: WebSocketConstructor;
  /** Ceiling of the first reconnect delay (full jitter below it). Default 500. */
  readonly minDelayMs?: number;
  /** Ceiling of any reconnect delay. Default 30 000. */
  readonly maxDelayMs?: number;
  /** Time from opening a socket to `welcome` before the attempt is abandoned. Default 10 000. */
  readonly connectTimeoutMs?: number;
  /** Time a request waits for its reply, including time spent reconnecting. Default 10 000. */
  readonly requestTimeoutMs?: number;
  /** Time one publish attempt waits for its ack before it is sent again. Default 5 000. */
  readonly ackTimeoutMs?: number;
  /** Overall deadline of a publish, retries included, unless the call gives one. Default 30 000. */
  readonly publishTimeoutMs?: number;
  /** Interval of the client's `ping` liveness check; 0 turns it off. Default 25 000. */
  readonly pingIntervalMs?: number;
  /** Time a `ping` waits for `pong` before the socket is abandoned and replaced. Default 10 000. */
  readonly pongTimeoutMs?: number;
  /** Messages asked for per page when filling a gap (capped by the server's page maximum). Default 100. */
  readonly historyPageSize?: number;
  /** Time `close()` waits for the closing handshake before dropping the socket. Default 1 000. */
  readonly closeTimeoutMs?: number;
  /** The random source of the backoff jitter, in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

/** Options of {@link ParleyClient.subscribe}. */
export interface SubscribeOptions {
  /** How many recent messages to receive first (the server's default when absent). */
  readonly history?: number;
  /** Resume after this seq instead of starting with recent history. */
  readonly since?: number;
  /** The epoch `since` belongs to. */
  readonly epoch?: string;
  /**
   * What to do when a resume within the same epoch is not recovered (the gap was larger than
   * the server replays): `reset` (default) emits `reset` and continues from the server's
   * latest messages; `history` pages through history after the last seq so every missed
   * message is delivered. A changed epoch always resets.
   */
  readonly recover?: 'reset' | 'history';
}

/** Options of {@link ParleyClient.publish}. */
export interface PublishOptions {
  /** The idempotency key; a random UUID when absent. Retries always reuse it. */
  readonly clientMsgId?: string;
  /** Overall deadline, retries included. Default: the client's `publishTimeoutMs`. */
  readonly timeoutMs?: number;
  /** Publish as a reply to this message (an id of the same channel). */
  readonly replyTo?: string;
}

/** Options of {@link ParleyClient.history}: give `before` or `after`, not both. */
export interface HistoryOptions {
  /** The page ends just before this seq (paging back). */
  readonly before?: number;
  /** The page starts just after this seq (paging forward). */
  readonly after?: number;
  readonly limit?: number;
  readonly timeoutMs?: number;
}

/** Options of {@link ParleyClient.createChannel}. */
export interface CreateChannelOptions {
  readonly private?: boolean;
  readonly title?: string;
  readonly timeoutMs?: number;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type RequestFrame = DistributiveOmit<ClientFrame, 'ref'>;
type ReplyOf<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>;
type Timer = ReturnType<typeof setTimeout>;

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

/** A timeout of the client's own: the reply did not come in time (the server did not say). */
class RequestTimeoutError extends ParleyClientError {
  override readonly name: string = 'RequestTimeoutError';
}

const DEFAULTS = {
  minDelayMs: 500,
  maxDelayMs: 30_000,
  connectTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
  ackTimeoutMs: 5_000,
  publishTimeoutMs: 30_000,
  pingIntervalMs: 25_000,
  pongTimeoutMs: 10_000,
  historyPageSize: 100,
  closeTimeoutMs: 1_000,
} as const;

// A gap fill that makes no progress this many times in a row gives up on the missing range.
const MAX_FILL_STALLS = 3;

/**
 * The Parley client SDK for browsers and Node: one authenticated WebSocket session that
 * reconnects with backoff and jitter, resumes every subscription from its last seq, delivers
 * each channel's messages in order and once, and retries publishes idempotently.
 *
 * Nothing happens until `connect()`; after `close()` (or a terminal close code) no timer or
 * socket is left and every pending call has been rejected.
 */
export class ParleyClient extends TypedEmitter<ParleyClientEvents> {
  readonly #url: string;
  readonly #token: string | (() => Promise<string>);
  readonly #WebSocket: WebSocketConstructor;
  readonly #o: Readonly<Record<keyof typeof DEFAULTS, number>>;
  readonly #random: () => number;

  #state: ConnectionState = 'idle';
  #ws: WebSocketLike | undefined;
  #welcome: Welcome | undefined;
  #expiresAt: number | undefined;
  /** Counts welcomes; requests that lost their connection wait for a higher one. */
  #session = 0;
  #openGeneration = 0;
  #failedAttempts = 0;
  #nextRef = 1;
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
  readonly #timers = new Set<Timer>();
  readonly #sleepers = new Set<(error: ParleyClientError) => void>();
  readonly #pending = new Map<number, PendingRequest>();
  readonly #openWaiters = new Set<OpenWaiter>();
  readonly #subs = new Map<string, Subscription>();

  constructor(options: ParleyClientOptions) {
    super();
    const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (WebSocketImpl === undefined) {
      throw new ParleyClientError(
        'bad_request',
        'no WebSocket implementation: pass options.WebSocket (on Node 20, `WebSocket` from the "ws" package)',
      );
    }
    this.#url = options.url;
    this.#token = options.token;
    this.#WebSocket = WebSocketImpl;
    this.#random = options.random ?? Math.random;
    this.#o = {
      minDelayMs: options.minDelayMs ?? DEFAULTS.minDelayMs,
      maxDelayMs: options.maxDelayMs ?? DEFAULTS.maxDelayMs,
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      ackTimeoutMs: options.ackTimeoutMs ?? DEFAULTS.ackTimeoutMs,
      publishTimeoutMs: options.publishTimeoutMs ?? DEFAULTS.publishTimeoutMs,
      pingIntervalMs: options.pingIntervalMs ?? DEFAULTS.pingIntervalMs,
      pongTimeoutMs: options.pongTimeoutMs ?? DEFAULTS.pongTimeoutMs,
      historyPageSize: options.historyPageSize ?? DEFAULTS.historyPageSize,
      closeTimeoutMs: options.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs,
    };
    this.#pageSize = this.#o.historyPageSize;
  }

  /** The connection state. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** The authenticated user, once a `welcome` arrived. */
  get user(): UserInfo | undefined {
    return this.#welcome?.user;
  }

  /** When the session's token expires (ms since the epoch), as of the last welcome or refresh. */
  get expiresAt(): number | undefined {
    return this.#expiresAt;
  }

  /** The channels subscribed to (or being subscribed to). */
  get subscriptions(): readonly string[] {
    return [...this.#subs.keys()];
  }

  /** The seq of the last message delivered in `channel`, or undefined when not subscribed. */
  lastSeq(channel: string): number | undefined {
    return this.#subs.get(channel)?.stream.lastSeq;
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
   * Subscribes to `channel` and resolves with the server's confirmation. The subscription is
   * kept across reconnects (resumed with `since` = last seq and the epoch). Every message,
   * including the result's `messages`, is also emitted as a `message` event, in order.
   * Subscribing to a channel already subscribed returns the first call's result.
   */
  subscribe(channel: string, options: SubscribeOptions = {}): Promise<SubscribeResult> {
    if (this.#closedError !== undefined) return Promise.reject(this.#closedError);
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
    if (this.#state === 'open') this.#sendSubscribe(sub);
    return sub.ready.promise;
  }

  /** Stops receiving `channel` (membership is kept) and emits `unsubscribed`. */
  async unsubscribe(channel: string): Promise<void> {
    const sub = this.#subs.get(channel);
    if (sub === undefined) return;
    this.#forget(
      sub,
      new ParleyClientError('conflict', `unsubscribed from ${channel} before the subscribe completed`),
    );
    if (this.#state === 'open') {
      try {
        await this.#request({ type: 'unsubscribe', channel }, 'unsubscribed', this.#o.requestTimeoutMs);
      } catch (err) {
        // A lost connection unsubscribes by itself (the server forgets subscriptions with it),
        // and not_found means the server had already dropped this one.
        const done =
          err instanceof ConnectionLostError ||
          (err instanceof ParleyClientError && err.code === 'not_found');
        if (!done) throw err;
      }
    }
    this.emit('unsubscribed', { channel, reason: 'requested' });
  }

  /**
   * Publishes `text` and resolves with the ack once it is committed. When the connection drops
   * or the ack is late, the same `client_msg_id` is sent again (after reconnecting) until the
   * deadline, so the message is stored once. Rejects with the server's error code, with
   * `timeout` at the deadline, or with the terminal error when the client closes.
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
    };
    let lostSession = -1;
    let retries = 0;
    let serverError: ParleyClientError | undefined;
    for (;;) {
      let session = this.#session;
      try {
        await this.#whenOpen(deadline, lostSession);
        session = this.#session;
        this.#checkSize(frame, channel);
        const ack = await this.#request(frame, 'ack', Math.min(this.#o.ackTimeoutMs, deadline - Date.now()));
        return strip(ack);
      } catch (err) {
        if (this.#closedError !== undefined) throw this.#closedError;
        const error = asClientError(err);
        let waitMs = 0;
        if (err instanceof ConnectionLostError) {
          lostSession = session;
        } else if (!(err instanceof RequestTimeoutError)) {
          if (!error.retryable) throw error;
          serverError = error;
          waitMs = error.retryAfterMs ?? backoffDelay(retries++, this.#o, this.#random);
        }
        if (Date.now() + waitMs >= deadline) {
          const why = this.#state === 'open' ? '' : `; ${this.#notConnected()}`;
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
        if (waitMs > 0) await this.#sleep(waitMs);
      }
    }
  }

  /** Reads a page of `channel`'s history, ascending by seq. */
  async history(channel: string, options: HistoryOptions = {}): Promise<HistoryPage> {
    const page = await this.#call(
      {
        type: 'history',
        channel,
        ...(options.before === undefined ? {} : { before: options.before }),
        ...(options.after === undefined ? {} : { after: options.after }),
        ...(options.limit === undefined ? {} : { limit: options.limit }),
      },
      'history',
      { timeoutMs: options.timeoutMs, idempotent: true },
    );
    return { channel: page.channel, messages: page.messages.map(toMessage), has_more: page.has_more };
  }

  /**
   * Replaces the text of one's own message. Retried after a lost connection, so a retry may
   * record the same text once more among the message's versions.
   */
  async edit(channel: string, id: string, text: string): Promise<Omit<MessageEditedFrame, 'type' | 'ref'>> {
    return strip(
      await this.#call({ type: 'message_edit', channel, id, text }, 'message_edited', { idempotent: true }),
    );
  }

  /** Deletes a message (its author, or a channel admin or owner). */
  async deleteMessage(channel: string, id: string): Promise<Omit<MessageDeletedFrame, 'type' | 'ref'>> {
    return strip(
      await this.#call({ type: 'message_delete', channel, id }, 'message_deleted', { idempotent: true }),
    );
  }

  /**
   * Toggles this user's `emoji` reaction on a message. Not retried after a lost connection: a
   * second toggle would undo the first.
   */
  async react(channel: string, id: string, emoji: string): Promise<Omit<ReactionFrame, 'type' | 'ref'>> {
    return strip(await this.#call({ type: 'react', channel, id, emoji }, 'reaction', { idempotent: false }));
  }

  /** Moves this user's read position in `channel` forward to `seq`; resolves with the position now. */
  async markRead(channel: string, seq: number): Promise<Omit<ReadPositionFrame, 'type' | 'ref'>> {
    return strip(await this.#call({ type: 'read', channel, seq }, 'read_position', { idempotent: true }));
  }

  /** Who is online in `channel`. */
  async presence(channel: string): Promise<readonly UserInfo[]> {
    const reply = await this.#call({ type: 'presence', channel }, 'presence_list', { idempotent: true });
    return reply.users;
  }

  /** Tells `channel`'s other subscribers this user is typing. Dropped when not connected. */
  typing(channel: string): void {
    const ws = this.#ws;
    if (this.#state === 'open' && ws !== undefined) this.#send(ws, { type: 'typing', channel });
  }

  /** Creates a channel owned by this user. Not retried after a lost connection (it could exist). */
  async createChannel(name: string, options: CreateChannelOptions = {}): Promise<ChannelInfo> {
    const reply = await this.#call(
      {
        type: 'channel_create',
        channel: name,
        ...(options.private === undefined ? {} : { private: options.private }),
        ...(options.title === undefined ? {} : { title: options.title }),
      },
      'channel',
      { timeoutMs: options.timeoutMs, idempotent: false },
    );
    return reply.channel;
  }

  /** Adds `userId` to `channel` with `role` (the server's default when absent), or changes their role. */
  async addMember(channel: string, userId: string, role?: Role): Promise<MemberEvent> {
    const reply = await this.#call(
      { type: 'member_add', channel, user_id: userId, ...(role === undefined ? {} : { role }) },
      'member',
      { idempotent: true },
    );
    return strip(reply);
  }

  /** Removes `userId` from `channel` (themselves, or anyone as owner or admin). */
  async removeMember(channel: string, userId: string): Promise<MemberEvent> {
    const reply = await this.#call({ type: 'member_remove', channel, user_id: userId }, 'member', {
      idempotent: false,
    });
    return strip(reply);
  }

  /** Opens (or gets) the direct-message channel with `userId`. */
  async openDm(userId: string): Promise<ChannelInfo> {
    const reply = await this.#call({ type: 'dm_open', user_id: userId }, 'channel', { idempotent: true });
    return reply.channel;
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

  // ─── connection ──────────────────────────────────────────────────────────────────────────

  async #open(): Promise<void> {
    const generation = ++this.#openGeneration;
    let token: string;
    try {
      token = typeof this.#token === 'string' ? this.#token : await this.#token();
    } catch (err) {
      if (this.#closedError !== undefined || generation !== this.#openGeneration) return;
      this.emit(
        'error',
        new ParleyClientError('auth_failed', `the token function failed: ${describe(err)}`, { cause: err }),
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
        new ParleyClientError('bad_request', `cannot open ${this.#url}: ${describe(err)}`),
      );
      return;
    }
    this.#ws = ws;
    this.#socketError = undefined;
    this.#authError = undefined;
    this.#connectTimer = this.#after(this.#o.connectTimeoutMs, () =>
      this.#drop(ws, `no welcome within ${this.#o.connectTimeoutMs} ms`),
    );
    ws.addEventListener('open', () => {
      if (ws !== this.#ws) return;
      this.#authRef = this.#nextRef++;
      this.#send(ws, { type: 'auth', token, ref: this.#authRef });
    });
    ws.addEventListener('message', (event) => {
      if (ws !== this.#ws) return;
      const frame = parseServerFrame(event.data);
      if (frame === undefined) {
        this.emit(
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
      const pending = this.#pending.get(ref);
      if (pending !== undefined) {
        this.#pending.delete(ref);
        if (frame.type === 'error') pending.reject(ParleyClientError.fromFrame(frame));
        else if (frame.type === pending.expect) pending.resolve(frame);
        else
          pending.reject(
            new ParleyClientError('internal', `expected a ${pending.expect} reply, got ${frame.type}`),
          );
        return;
      }
    }
    switch (frame.type) {
      case 'welcome':
        this.#onWelcome(ws, frame);
        return;
      case 'token_expiring':
        void this.#refresh(ws);
        return;
      case 'message':
        this.#onMessage(frame);
        return;
      case 'presence':
        this.emit('presence', { channel: frame.channel, event: frame.event, user: frame.user });
        return;
      case 'typing':
        this.emit('typing', { channel: frame.channel, user: frame.user });
        return;
      case 'member':
        this.emit('member', { channel: frame.channel, user_id: frame.user_id, role: frame.role ?? null });
        return;
      case 'unsubscribed':
        this.#onUnsubscribed(frame);
        return;
      case 'message_edited':
      case 'message_deleted':
      case 'reaction':
      case 'read_position':
      case 'channel_updated':
        this.emit('update', frame);
        return;
      case 'error':
        this.emit('error', ParleyClientError.fromFrame(frame));
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
    this.#cancel(this.#connectTimer);
    this.#authRef = undefined;
    this.#authError = undefined;
    this.#failedAttempts = 0;
    this.#session += 1;
    this.#welcome = strip(frame);
    this.#expiresAt = frame.expires_at;
    const pageMax = frame.limits.history_page_max;
    this.#pageSize = pageMax > 0 ? Math.min(this.#o.historyPageSize, pageMax) : this.#o.historyPageSize;
    this.#setState('open');
    this.#schedulePing(ws);
    this.#connected?.resolve(this.#welcome);
    for (const waiter of this.#openWaiters) {
      this.#cancel(waiter.timer);
      waiter.resolve();
    }
    this.#openWaiters.clear();
    for (const sub of this.#subs.values()) this.#sendSubscribe(sub);
  }

  #onClose(ws: WebSocketLike, code: number, reason: string): void {
    if (ws !== this.#ws) return;
    this.#ws = undefined;
    this.#cancel(this.#connectTimer);
    this.#cancel(this.#pingTimer);
    this.#authRef = undefined;
    const lost = new ConnectionLostError();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const sub of this.#subs.values()) {
      sub.status = 'idle';
      sub.generation += 1;
    }
    for (const request of pending) request.reject(lost);
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
    this.emit('disconnected', { code, reason, reconnectInMs: delay });
    this.#after(delay, () => {
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
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#connectTimer = undefined;
    this.#pingTimer = undefined;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    const waiters = [...this.#openWaiters];
    this.#openWaiters.clear();
    const sleepers = [...this.#sleepers];
    this.#sleepers.clear();
    const subs = [...this.#subs.values()];
    this.#subs.clear();
    this.#setState('closed');
    for (const request of pending) request.reject(error);
    for (const waiter of waiters) waiter.reject(error);
    for (const wake of sleepers) wake(error);
    for (const sub of subs) sub.ready.reject(error);
    this.#connected?.reject(error);
    this.emit('closed', { code, reason, error });
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
      await this.#whenOpen(Date.now() + this.#o.requestTimeoutMs, session);
      if (ws !== this.#ws) return;
      const reply = await this.#request({ type: 'refresh', token }, 'refreshed', this.#o.requestTimeoutMs);
      this.#expiresAt = reply.expires_at;
    } catch (err) {
      if (err instanceof ConnectionLostError || this.#closedError !== undefined || ws !== this.#ws) return;
      this.emit('error', asClientError(err));
    } finally {
      if (this.#refreshing === ws) this.#refreshing = undefined;
    }
  }

  #schedulePing(ws: WebSocketLike): void {
    if (this.#o.pingIntervalMs <= 0) return;
    this.#pingTimer = this.#after(this.#o.pingIntervalMs, () => {
      this.#request({ type: 'ping' }, 'pong', this.#o.pongTimeoutMs).then(
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

  // ─── subscriptions ───────────────────────────────────────────────────────────────────────

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
    this.#request(frame, 'subscribed', this.#o.requestTimeoutMs).then(
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
    const result = strip(frame);
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
        this.emit('reset', result);
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
        this.#sendQuietly({ type: 'unsubscribe', channel: sub.channel });
      return;
    }
    if (error.retryable) {
      const delay = error.retryAfterMs ?? backoffDelay(sub.retries++, this.#o, this.#random);
      this.#after(delay, () => {
        if (this.#isCurrent(sub, generation) && this.#state === 'open') this.#sendSubscribe(sub);
      });
      return;
    }
    this.#forget(sub, error);
    this.emit('error', error);
    this.emit('unsubscribed', { channel: sub.channel, reason: 'removed' });
  }

  #onUnsubscribed(frame: UnsubscribedFrame): void {
    const sub = this.#subs.get(frame.channel);
    if (sub !== undefined) {
      this.#forget(sub, new ParleyClientError('forbidden', `the server unsubscribed ${frame.channel}`));
    }
    this.emit('unsubscribed', { channel: frame.channel, reason: frame.reason });
  }

  #forget(sub: Subscription, error: ParleyClientError): void {
    this.#subs.delete(sub.channel);
    sub.generation += 1;
    sub.ready.reject(error);
  }

  #onMessage(frame: MessageFrame): void {
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
          page = await this.#request(
            { type: 'history', channel: sub.channel, after, limit: this.#pageSize },
            'history',
            this.#o.requestTimeoutMs,
          );
        } catch (err) {
          const error = asClientError(err, sub.channel);
          if (err instanceof ConnectionLostError || !error.retryable) throw err;
          await this.#sleep(error.retryAfterMs ?? backoffDelay(failures++, this.#o, this.#random));
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
          this.emit(
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
        await this.#sleep(backoffDelay(stalls, this.#o, this.#random));
      }
    } catch (err) {
      // A lost connection resumes from lastSeq on the next one; a closed client is done.
      if (err instanceof ConnectionLostError || !this.#isCurrent(sub, generation)) return;
      this.emit('error', asClientError(err, sub.channel));
    } finally {
      if (sub.filling === generation) sub.filling = -1;
    }
  }

  #deliver(sub: Subscription, messages: readonly Message[]): void {
    for (const message of messages) {
      // A listener may unsubscribe in the middle of a batch.
      if (this.#subs.get(sub.channel) !== sub) return;
      this.emit('message', message);
    }
  }

  // ─── requests ────────────────────────────────────────────────────────────────────────────

  /**
   * Sends a request once connected and waits for its reply, within `timeoutMs` overall.
   * Idempotent requests whose connection drops are sent again on the next one.
   */
  async #call<T extends ServerFrame['type']>(
    frame: RequestFrame,
    expect: T,
    options: { readonly timeoutMs?: number | undefined; readonly idempotent: boolean },
  ): Promise<ReplyOf<T>> {
    const deadline = Date.now() + (options.timeoutMs ?? this.#o.requestTimeoutMs);
    let lostSession = -1;
    for (;;) {
      await this.#whenOpen(deadline, lostSession);
      const session = this.#session;
      try {
        return await this.#request(frame, expect, deadline - Date.now());
      } catch (err) {
        if (!options.idempotent || !(err instanceof ConnectionLostError) || this.#closedError !== undefined)
          throw err;
        lostSession = session;
      }
    }
  }

  /**
   * Throws what the server would answer for a publish over its announced limits. Too long a
   * text gets an error frame anyway, but too large a frame closes the socket (1009), and
   * resending it after the reconnect would close the next one too.
   */
  #checkSize(frame: RequestFrame & { readonly text: string }, channel: string): void {
    const limits = this.#welcome?.limits;
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

  /** Resolves once a session later than `afterSession` is open; rejects at `deadline` or on close. */
  #whenOpen(deadline: number, afterSession: number): Promise<void> {
    if (this.#state === 'open' && this.#session > afterSession) return Promise.resolve();
    if (this.#closedError !== undefined) return Promise.reject(this.#closedError);
    return new Promise((resolve, reject) => {
      const timer = this.#after(Math.max(0, deadline - Date.now()), () => {
        this.#openWaiters.delete(waiter);
        reject(new RequestTimeoutError('timeout', this.#notConnected()));
      });
      const waiter: OpenWaiter = { resolve, reject, timer };
      this.#openWaiters.add(waiter);
    });
  }

  /** Sends one request on the open socket and waits up to `timeoutMs` for the reply with its ref. */
  #request<T extends ServerFrame['type']>(
    frame: RequestFrame,
    expect: T,
    timeoutMs: number,
  ): Promise<ReplyOf<T>> {
    const ws = this.#ws;
    if (ws === undefined || this.#state !== 'open' || ws.readyState !== WS_OPEN) {
      return Promise.reject(new ConnectionLostError('not connected'));
    }
    const ref = this.#nextRef++;
    return new Promise((resolve, reject) => {
      const timer = this.#after(Math.max(0, timeoutMs), () => {
        this.#pending.delete(ref);
        reject(new RequestTimeoutError('timeout', `no ${expect} reply within ${timeoutMs} ms`));
      });
      this.#pending.set(ref, {
        expect,
        resolve: (reply) => {
          this.#cancel(timer);
          resolve(reply as ReplyOf<T>);
        },
        reject: (error) => {
          this.#cancel(timer);
          reject(error);
        },
      });
      this.#send(ws, { ...frame, ref });
    });
  }

  #notConnected(): string {
    if (this.#state === 'idle') return `not connected to ${this.#url}: connect() was not called`;
    const last = this.#lastFailure === undefined ? '' : ` (last attempt ${this.#lastFailure})`;
    return `not connected to ${this.#url}${last}`;
  }

  #sendQuietly(frame: RequestFrame): void {
    const ws = this.#ws;
    if (ws !== undefined && this.#state === 'open') this.#send(ws, frame);
  }

  #send(ws: WebSocketLike, frame: ClientFrame): void {
    if (ws.readyState !== WS_OPEN) return;
    try {
      ws.send(JSON.stringify(frame));
    } catch {
      // The socket is closing; its close event rejects what waits for a reply.
    }
  }

  // ─── timers and state ────────────────────────────────────────────────────────────────────

  #after(ms: number, fn: () => void): Timer {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
    return timer;
  }

  #cancel(timer: Timer | undefined): void {
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#timers.delete(timer);
  }

  /** Waits `ms`; rejects with the close error if the client closes first. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = (error: ParleyClientError) => reject(error);
      this.#sleepers.add(wake);
      this.#after(ms, () => {
        this.#sleepers.delete(wake);
        resolve();
      });
    });
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }
}

/** A frame without its `type` and `ref`: the DTO the SDK hands out. */
function strip<F extends { readonly type: string; readonly ref?: unknown }>(
  frame: F,
): Omit<F, 'type' | 'ref'> {
  const { type: _type, ref: _ref, ...rest } = frame;
  return rest;
}

/** The stored message a frame carries, without wire-only fields. */
function toMessage(m: Message): Message {
  return {
    id: m.id,
    channel: m.channel,
    seq: m.seq,
    user_id: m.user_id,
    username: m.username,
    text: m.text,
    ts: m.ts,
    client_msg_id: m.client_msg_id ?? null,
    ...(m.reply_to === undefined ? {} : { reply_to: m.reply_to }),
    ...(m.edited_at === undefined ? {} : { edited_at: m.edited_at }),
    ...(m.deleted === true ? { deleted: true as const } : {}),
    ...(m.reactions === undefined ? {} : { reactions: m.reactions }),
  };
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

function asClientError(err: unknown, channel?: string): ParleyClientError {
  if (err instanceof ParleyClientError) return err;
  return new ParleyClientError('internal', describe(err), { cause: err, channel });
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
