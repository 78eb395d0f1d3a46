import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { CloseCode } from '../../protocol/close-codes.js';
import { ParleyError } from '../../protocol/error-catalogue.js';
import type { ClientFrame, ErrorFrame, Ref, ServerFrame, UserInfo } from '../../protocol/frames.js';
import { parseClientFrame } from '../../protocol/parse-client-frame.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import type { ChatService } from '../chat/chat-service.js';
import type { Session } from '../chat/session.js';
import { TokenBucket } from '../chat/token-bucket.js';
import type { Limits } from '../config.js';
import type { Subscription } from '../hub.js';
import { AfterTick } from './after-tick.js';
import type { Slots } from './slots.js';
import { deflateFrame, type OutFrame, textFrame } from './text-frame.js';

const OPEN = 1;
const OWNER = Symbol('parley connection');
type Owned = WebSocket & { [OWNER]?: Connection };
// Everything written to one socket in a tick leaves in one write: the socket is corked at the
// tick's first send and uncorked, with every other socket corked in that tick, at its end.
const afterTick = new AfterTick();
// setTimeout's longest delay; later expiries are re-armed.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What a Connection needs from the node. */
export interface ConnectionDeps {
  readonly chat: ChatService;
  readonly verifier: TokenVerifier;
  readonly limits: Limits;
  readonly heartbeatMs: number;
  readonly logger: Logger;
  /** Called when a socket is cut off as a slow consumer (metrics). */
  readonly onSlowConsumer?: (() => void) | undefined;
  /**
   * Smallest payload sent compressed to a socket that negotiated permessage-deflate (with
   * `server_no_context_takeover` and a full window); undefined = compression is off.
   */
  readonly compressMinBytes?: number | undefined;
  /**
   * Authentications in progress at once (token check and session start) across the node's
   * connections; the others wait their turn. Bounds the memory a connect storm holds in flight.
   */
  readonly authSlots?: Slots | undefined;
}

interface NegotiatedDeflate {
  readonly _extensions?: {
    readonly 'permessage-deflate'?: { readonly params?: Readonly<Record<string, unknown>> };
  };
}

// The smallest payload to compress for this socket, or undefined to send it plain frames. A
// shared compressed frame is made with zlib's full 32-KiB window: a socket that asked for a
// smaller server window (server_max_window_bits < 15) gets plain frames. (ws keeps what it
// negotiated in a private field: were that to change, sockets would get plain frames.)
function compressMinFor(ws: WebSocket, minBytes: number | undefined): number | undefined {
  if (minBytes === undefined) return undefined;
  const params = (ws as unknown as NegotiatedDeflate)._extensions?.['permessage-deflate']?.params;
  if (params === undefined) return undefined;
  const bits = params.server_max_window_bits;
  return bits === undefined || bits === 15 ? minBytes : undefined;
}

/**
 * One WebSocket's protocol state: authentication by first frame within a deadline, token
 * expiry and refresh, rate limits, the send-queue limit, and dispatch of each parsed frame to
 * the chat service. Frames of one connection are handled in order.
 */
export class Connection implements Session {
  readonly id = randomUUID();
  readonly subscriptions = new Map<string, Subscription>();
  #typingAt: Map<string, number> | undefined;
  /** False once a heartbeat ping went unanswered. */
  alive = true;

  readonly #ws: WebSocket;
  readonly #deps: ConnectionDeps;
  readonly #frames: TokenBucket;
  #user: UserInfo | undefined;
  #state: 'hello' | 'authenticating' | 'open' | 'closed' = 'hello';
  // The frames being handled, in order; none (no promise kept) while the connection is idle.
  #chain: Promise<void> | undefined;
  #queued = 0;
  #dropped = 0;
  // At most two timers per connection, and one once it is open: an idle connection's memory
  // is mostly per-connection objects like these.
  #helloTimer: NodeJS.Timeout | undefined;
  /** The token's expiry warning, then its expiry: one timer at a time. */
  #expiryTimer: NodeJS.Timeout | undefined;
  #expiresAt = 0;
  #draining = false;
  #corked = false;
  readonly #compressMin: number | undefined;
  // Frames are written to the net.Socket ws reads from (ws exposes no cork of its own, and
  // frames its own sends per socket); ws writes only its control frames there. Never call
  // ws.send on it: ws would compress and queue that message on its own, out of order with these.
  readonly #socket: Socket;
  readonly #onClosed: ((conn: Connection) => void) | undefined;

  /** `onClosed` runs once the socket has closed (after the session's own cleanup started). */
  constructor(ws: WebSocket, deps: ConnectionDeps, onClosed?: (conn: Connection) => void) {
    this.#ws = ws;
    this.#onClosed = onClosed;
    const socket = (ws as unknown as { _socket?: Socket })._socket;
    if (socket === undefined) throw new Error('a server WebSocket without its socket');
    this.#socket = socket;
    this.#deps = deps;
    this.#compressMin = compressMinFor(ws, deps.compressMinBytes);
    this.#frames = new TokenBucket(deps.limits.framesPerSecond, deps.limits.framesBurst);
    // Listeners shared by every socket, which finds its connection through OWNER, instead of
    // four closures (and their context) held by every idle connection.
    (ws as Owned)[OWNER] = this;
    ws.on('message', Connection.#socketMessage);
    ws.on('close', Connection.#socketClose);
    ws.on('error', Connection.#socketError);
    ws.on('pong', Connection.#socketPong);
    this.#helloTimer = setTimeout(() => {
      if (this.#state === 'hello' || this.#state === 'authenticating') {
        this.#sendError(
          undefined,
          new ParleyError('auth_timeout', `no auth frame within ${deps.limits.helloTimeoutMs} ms`),
        );
        this.close(CloseCode.AuthTimeout, 'auth timeout');
      }
    }, deps.limits.helloTimeoutMs);
  }

  // `function`s: the emitter calls a listener with `this` = the socket.
  static readonly #socketMessage = function (this: WebSocket, data: RawData, isBinary: boolean): void {
    const conn = (this as Owned)[OWNER];
    if (conn !== undefined) conn.#onMessage(data, isBinary);
  };

  static readonly #socketClose = function (this: WebSocket): void {
    const conn = (this as Owned)[OWNER];
    if (conn !== undefined) conn.#onClose();
  };

  // Shared by every connection (with the connection as its argument), not a closure each.
  static readonly #uncork = (conn: Connection): void => {
    conn.#corked = false;
    conn.#socket.uncork();
  };

  static readonly #socketError = function (this: WebSocket, err: Error): void {
    const conn = (this as Owned)[OWNER];
    if (conn !== undefined) conn.#deps.logger.debug({ err: err.message, conn: conn.id }, 'socket error');
  };

  static readonly #socketPong = function (this: WebSocket): void {
    const conn = (this as Owned)[OWNER];
    if (conn !== undefined) conn.alive = true;
  };

  /** Channel id → time of the last relayed typing event (made on first use). */
  get typingAt(): Map<string, number> {
    this.#typingAt ??= new Map();
    return this.#typingAt;
  }

  /** The authenticated user. Only valid once the connection is open. */
  get user(): UserInfo {
    if (this.#user === undefined) throw new Error('connection is not authenticated');
    return this.#user;
  }

  get userId(): string {
    return this.#user?.id ?? '';
  }

  /** True once authenticated and until closed. */
  get isOpen(): boolean {
    return this.#state === 'open';
  }

  send(frame: ServerFrame): void {
    if (this.#state === 'closed') return;
    const plain = textFrame(JSON.stringify(frame));
    this.#write(this.#compressMin === undefined ? plain : deflateFrame(plain, this.#compressMin));
  }

  sendFrame(frame: OutFrame): void {
    this.#write(this.#compressMin === undefined ? frame.plain : frame.deflated(this.#compressMin));
  }

  #write(frame: Buffer): void {
    if (this.#state === 'closed') return;
    const socket = this.#socket;
    // The backlog is judged at a tick's first send: what earlier ticks left unsent. Within a
    // tick, corked writes pile up by design (bounded by a commit batch, and broadcast frames
    // are shared between sockets, not copied).
    if (!this.#corked) {
      if (socket.writableLength > this.#deps.limits.sendQueueMaxBytes) {
        this.#deps.onSlowConsumer?.();
        this.close(CloseCode.SlowConsumer, 'slow consumer');
        return;
      }
      this.#corked = true;
      socket.cork();
      afterTick.push(Connection.#uncork, this);
    }
    // A closing socket takes no more data frames (ws.send would refuse them too).
    if (this.#ws.readyState === OPEN) socket.write(frame);
  }

  close(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#markClosed();
    this.#ws.close(code, reason);
    // A close frame queued behind a full send buffer may never leave: cut the socket then.
    const kill = setTimeout(() => this.#ws.terminate(), 2000);
    kill.unref();
    this.#ws.once('close', () => clearTimeout(kill));
  }

  /** Refuses further frames (each gets `server_shutdown`) while the node drains. */
  stopReading(): void {
    this.#draining = true;
  }

  /** Calls `fn` once the socket is fully closed. */
  onClosed(fn: () => void): void {
    if (this.#ws.readyState === this.#ws.CLOSED) fn();
    else this.#ws.once('close', fn);
  }

  /** Pings the peer; terminates it when the previous ping went unanswered. */
  heartbeat(): void {
    if (!this.alive) {
      this.#deps.logger.debug({ conn: this.id }, 'heartbeat timeout');
      this.close(CloseCode.HeartbeatTimeout, 'heartbeat timeout');
      return;
    }
    this.alive = false;
    this.#ws.ping();
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#state === 'closed') return;
    const allowed = this.#frames.take();
    if (!allowed && ++this.#dropped > this.#deps.limits.framesBurst) {
      this.close(CloseCode.RateLimited, 'flood');
      return;
    }
    if (allowed) this.#dropped = 0;
    if (isBinary) {
      this.#sendError(
        undefined,
        new ParleyError('bad_request', 'binary frames are not supported; send JSON text'),
      );
      return;
    }
    const parsed = parseClientFrame(data.toString());
    if (!parsed.ok) {
      this.#sendError(parsed.ref, parsed.error);
      return;
    }
    const frame = parsed.frame;
    if (this.#draining) {
      this.#sendError(frame.ref, new ParleyError('server_shutdown', 'server is shutting down; reconnect'));
      return;
    }
    if (!allowed) {
      // Every request is answered, even a dropped one, so a client never waits in vain.
      this.#sendError(
        frame.ref,
        new ParleyError('rate_limited', 'too many frames; this one was dropped', {
          details: { retry_after_ms: this.#frames.retryAfterMs() },
        }),
      );
      return;
    }
    if (this.#state === 'hello') {
      if (frame.type === 'auth') {
        this.#state = 'authenticating';
        this.#enqueue(() => this.#authenticate(frame.token, frame.ref));
      } else {
        this.#sendError(frame.ref, new ParleyError('not_authenticated', 'send an auth frame first'));
      }
      return;
    }
    // Frames pipelined behind `auth` wait for it in the chain (and are ignored if it fails).
    this.#enqueue(() => this.#dispatch(frame));
  }

  // Runs `job` after the frames before it; the jobs handle their own errors.
  #enqueue(job: () => Promise<void>): void {
    this.#queued++;
    this.#chain = (this.#chain ?? Promise.resolve()).then(() => this.#run(job));
  }

  async #run(job: () => Promise<void>): Promise<void> {
    try {
      await job();
    } finally {
      if (--this.#queued === 0) this.#chain = undefined;
    }
  }

  async #authenticate(token: string, ref: Ref | undefined): Promise<void> {
    const slots = this.#deps.authSlots;
    const turn = slots?.acquire();
    if (turn !== undefined) await turn;
    try {
      // Closed (or timed out) while waiting for a slot: nothing to do.
      if (this.#state !== 'authenticating') return;
      await this.#authenticateNow(token, ref);
    } finally {
      slots?.release();
    }
  }

  async #authenticateNow(token: string, ref: Ref | undefined): Promise<void> {
    try {
      const identity = await this.#deps.verifier.verify(token);
      if (this.#state !== 'authenticating') return;
      this.#user = { id: identity.userId, username: identity.username };
      await this.#deps.chat.sessionOpened(this);
      if (this.#state !== 'authenticating') {
        await this.#deps.chat.sessionClosed(this);
        return;
      }
      this.#state = 'open';
      clearTimeout(this.#helloTimer);
      this.#helloTimer = undefined;
      this.send({
        type: 'welcome',
        ...(ref === undefined ? {} : { ref }),
        user: this.#user,
        session_id: this.id,
        heartbeat_ms: this.#deps.heartbeatMs,
        expires_at: identity.expiresAt,
        limits: {
          max_message_chars: this.#deps.limits.maxMessageChars,
          max_payload_bytes: this.#deps.limits.maxPayloadBytes,
          history_page_max: this.#deps.limits.historyPageMax,
        },
      });
      // After welcome: a token already near expiry gets its warning once the client is open.
      this.#armExpiry(identity.expiresAt);
      this.#deps.logger.debug({ conn: this.id, user: identity.userId }, 'authenticated');
    } catch (err) {
      const error =
        err instanceof ParleyError
          ? err
          : new ParleyError('unavailable', 'could not authenticate now; retry');
      if (!(err instanceof ParleyError))
        this.#deps.logger.error({ err }, 'authentication failed unexpectedly');
      this.#deps.logger.debug({ conn: this.id, reason: error.message }, 'auth refused');
      this.#sendError(ref, error);
      // A refused token is final; a server that could not check it (database down) is not.
      const refused =
        error.code === 'auth_failed' || error.code === 'token_expired' || error.code === 'forbidden';
      this.close(refused ? CloseCode.AuthFailed : CloseCode.Unavailable, error.code);
    }
  }

  async #dispatch(frame: ClientFrame): Promise<void> {
    if (this.#state !== 'open') return;
    const chat = this.#deps.chat;
    const ref = frame.ref;
    try {
      switch (frame.type) {
        case 'auth':
          throw new ParleyError('bad_request', 'already authenticated; use refresh to replace the token');
        case 'refresh':
          await this.#refresh(frame.token, ref);
          return;
        case 'ping':
          this.#reply(ref, { type: 'pong', ts: Date.now() });
          return;
        case 'subscribe':
          // ChatService sends the reply itself: it must precede the first live message.
          await chat.subscribe(this, frame);
          return;
        case 'unsubscribe':
          await chat.unsubscribe(this, frame.channel);
          this.#reply(ref, { type: 'unsubscribed', channel: frame.channel, reason: 'requested' });
          return;
        case 'publish': {
          // The chain waits only until the message is queued for commit, so one connection's
          // publishes keep their order and still share group commits.
          const { committed } = await chat.publish(this, frame);
          committed.catch((err: unknown) => this.#sendError(ref, err, frame.channel));
          return;
        }
        case 'history':
          this.#reply(ref, await chat.history(this, frame));
          return;
        case 'typing':
          await chat.typing(this, frame.channel);
          return;
        case 'presence':
          this.#reply(ref, await chat.presence(this, frame.channel));
          return;
        case 'channel_create':
          this.#reply(ref, await chat.createChannel(this, frame));
          return;
        case 'member_add':
          this.#reply(ref, await chat.setMember(this, frame.channel, frame.user_id, frame.role ?? 'member'));
          return;
        case 'member_remove':
          this.#reply(ref, await chat.removeMember(this, frame.channel, frame.user_id));
          return;
        case 'dm_open':
          this.#reply(ref, await chat.openDm(this, frame.user_id));
          return;
        case 'message_edit':
          this.#reply(ref, await chat.editMessage(this, frame.channel, frame.id, frame.text));
          return;
        case 'message_delete':
          this.#reply(ref, await chat.deleteMessage(this, frame.channel, frame.id));
          return;
        case 'react':
          this.#reply(ref, await chat.react(this, frame.channel, frame.id, frame.emoji));
          return;
        case 'read':
          this.#reply(ref, await chat.markRead(this, frame.channel, frame.seq));
          return;
        default: {
          const never: never = frame;
          throw new ParleyError('unknown_type', `unknown frame ${JSON.stringify(never).slice(0, 40)}`);
        }
      }
    } catch (err) {
      this.#sendError(ref, err, 'channel' in frame ? frame.channel : undefined);
    }
  }

  async #refresh(token: string, ref: Ref | undefined): Promise<void> {
    let identity: Awaited<ReturnType<TokenVerifier['verify']>>;
    try {
      identity = await this.#deps.verifier.verify(token);
    } catch (err) {
      this.#sendError(ref, err);
      return;
    }
    if (identity.userId !== this.user.id) {
      throw new ParleyError('auth_failed', 'refresh token is for another user');
    }
    this.#reply(ref, { type: 'refreshed', expires_at: identity.expiresAt });
    this.#armExpiry(identity.expiresAt);
  }

  #armExpiry(expiresAt: number): void {
    clearTimeout(this.#expiryTimer);
    this.#expiresAt = expiresAt;
    const warnIn = expiresAt - this.#deps.limits.tokenExpiryWarningMs - Date.now();
    if (warnIn <= 0) {
      this.send({ type: 'token_expiring', expires_at: expiresAt });
      this.#armExpire();
      return;
    }
    this.#expiryTimer = setTimeout(Connection.#warnDue, Math.min(warnIn, MAX_TIMER_MS), this);
  }

  // After the warning: the timer that closes the connection when the token expires.
  #armExpire(): void {
    this.#expiryTimer = setTimeout(
      Connection.#expiryDue,
      Math.max(0, Math.min(this.#expiresAt - Date.now(), MAX_TIMER_MS)),
      this,
    );
  }

  // The timers' callbacks are shared, with the connection as their argument: no closure and
  // context per connection. The warning re-arms itself while the warning time is still ahead
  // (a token beyond setTimeout's longest delay).
  static readonly #warnDue = (conn: Connection): void => {
    conn.#armExpiry(conn.#expiresAt);
  };

  static readonly #expiryDue = (conn: Connection): void => {
    if (Date.now() >= conn.#expiresAt) {
      conn.#sendError(
        undefined,
        new ParleyError('token_expired', 'token expired; reconnect with a fresh one'),
      );
      conn.close(CloseCode.TokenExpired, 'token expired');
    } else {
      conn.#armExpire();
    }
  };

  #reply(ref: Ref | undefined, frame: ServerFrame): void {
    this.send(ref === undefined ? frame : ({ ...frame, ref } as ServerFrame));
  }

  #sendError(ref: Ref | undefined, err: unknown, channel?: string): void {
    let error: ParleyError;
    if (err instanceof ParleyError) error = err;
    else {
      this.#deps.logger.error({ err, conn: this.id }, 'request failed');
      error = new ParleyError('internal', 'internal error');
    }
    const frame: ErrorFrame = {
      type: 'error',
      ...(ref === undefined ? {} : { ref }),
      code: error.code,
      message: error.message,
      ...(channel === undefined ? {} : { channel }),
      ...(error.details ?? {}),
    };
    this.send(frame);
  }

  #markClosed(): void {
    if (this.#state === 'closed') return;
    const wasOpen = this.#state === 'open';
    this.#state = 'closed';
    clearTimeout(this.#helloTimer);
    clearTimeout(this.#expiryTimer);
    if (wasOpen) {
      this.#deps.chat
        .sessionClosed(this)
        .catch((err) => this.#deps.logger.error({ err }, 'session close failed'));
    }
  }

  #onClose(): void {
    this.#markClosed();
    this.#onClosed?.(this);
  }
}
