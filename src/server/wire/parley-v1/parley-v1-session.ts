import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { RawData } from 'ws';
import { CloseCode } from '../../../protocol/close-codes.js';
import { ParleyError } from '../../../protocol/error-catalogue.js';
import type { ClientFrame, Ref, ServerFrame, UserInfo } from '../../../protocol/frames.js';
import { parseClientFrame } from '../../../protocol/parse-client-frame.js';
import type { Slots } from '../../auth/slots.js';
import type { TokenVerifier } from '../../auth/token-verifier.js';
import type { Limits } from '../../config.js';
import type { ChatService } from '../../core/chat-service.js';
import type { CloseReason } from '../../core/delivery.js';
import type { Subscription } from '../../core/hub.js';
import type { Session } from '../../core/session.js';
import { TokenBucket } from '../../token-bucket.js';
import type { OutFrame } from '../../transport/ws/text-frame.js';
import type { GatewayConnection } from '../../transport/ws/ws-gateway.js';
import type { SocketListener, WsSocket } from '../../transport/ws/ws-socket.js';
import { dispatch, reply, replyError, type V1Peer } from './parley-v1-dispatch.js';
import { parleyV1Encoder } from './parley-v1-encoder.js';

// setTimeout's longest delay; later expiries are re-armed.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What a v1 session needs from the node. */
export interface ParleyV1Deps {
  readonly chat: ChatService;
  readonly verifier: TokenVerifier;
  readonly limits: Limits;
  readonly heartbeatMs: number;
  readonly logger: Logger;
  /** Called when a socket is cut off as a slow consumer (metrics). */
  readonly onSlowConsumer?: (() => void) | undefined;
  /**
   * Authentications in progress at once (token check and session start) across the node's
   * connections; the others wait their turn. Bounds the memory a connect storm holds in flight.
   */
  readonly authSlots: Slots;
}

const CLOSE_CODES: Readonly<Record<CloseReason, number>> = {
  kicked: CloseCode.Kicked,
  slow_consumer: CloseCode.SlowConsumer,
};

/**
 * One Parley v1 connection's protocol state: authentication by first frame within a deadline,
 * token expiry and refresh, the frame rate limit, and the ordered chain its frames are handled
 * in (each by the dispatch). To the core it is a Session; to the gateway a connection.
 */
export class ParleyV1Session implements Session, GatewayConnection, SocketListener, V1Peer {
  readonly id = randomUUID();
  readonly subscriptions = new Map<string, Subscription>();
  readonly encoder = parleyV1Encoder;
  #typingAt: Map<string, number> | undefined;

  readonly #socket: WsSocket;
  readonly #deps: ParleyV1Deps;
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
  #issuedAt: number | undefined;
  #draining = false;
  readonly #onClosed: (conn: ParleyV1Session) => void;

  /** `onClosed` runs once the socket has closed (after the session's own cleanup started). */
  constructor(socket: WsSocket, deps: ParleyV1Deps, onClosed: (conn: ParleyV1Session) => void) {
    this.#socket = socket;
    this.#onClosed = onClosed;
    this.#deps = deps;
    this.#frames = new TokenBucket(deps.limits.framesPerSecond, deps.limits.framesBurst);
    socket.listen(this);
    this.#helloTimer = setTimeout(ParleyV1Session.#helloDue, deps.limits.helloTimeoutMs, this);
  }

  static readonly #helloDue = (session: ParleyV1Session): void => {
    if (session.#state === 'hello' || session.#state === 'authenticating') {
      replyError(
        session,
        undefined,
        new ParleyError('auth_timeout', `no auth frame within ${session.#deps.limits.helloTimeoutMs} ms`),
      );
      session.#closeWith(CloseCode.AuthTimeout, 'auth timeout');
    }
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

  /** When the token it authenticated (or last refreshed) with was issued, ms; the core re-checks it. */
  get issuedAt(): number | undefined {
    return this.#issuedAt;
  }

  /** True once authenticated and until closed. */
  get isOpen(): boolean {
    return this.#state === 'open';
  }

  write(frame: OutFrame): void {
    if (this.#state !== 'closed') this.#socket.send(frame);
  }

  sendFrame(frame: ServerFrame): void {
    if (this.#state !== 'closed') this.#socket.sendText(JSON.stringify(frame));
  }

  logError(err: unknown, what: string): void {
    this.#deps.logger.error({ err, conn: this.id }, what);
  }

  close(reason: CloseReason, message: string): void {
    this.#closeWith(CLOSE_CODES[reason], message);
  }

  shutdown(): void {
    this.#closeWith(CloseCode.ServerShutdown, 'server shutting down');
  }

  stopReading(): void {
    this.#draining = true;
  }

  onClosed(fn: () => void): void {
    this.#socket.onClosed(fn);
  }

  heartbeat(): void {
    if (this.#socket.ping()) return;
    this.#deps.logger.debug({ conn: this.id }, 'heartbeat timeout');
    this.#closeWith(CloseCode.HeartbeatTimeout, 'heartbeat timeout');
  }

  overflow(): void {
    this.#deps.onSlowConsumer?.();
    this.#closeWith(CloseCode.SlowConsumer, 'slow consumer');
  }

  closed(): void {
    this.#markClosed();
    this.#onClosed(this);
  }

  message(data: RawData, isBinary: boolean): void {
    if (this.#state === 'closed') return;
    const allowed = this.#frames.take();
    if (!allowed && ++this.#dropped > this.#deps.limits.framesBurst) {
      this.#closeWith(CloseCode.RateLimited, 'flood');
      return;
    }
    if (allowed) this.#dropped = 0;
    if (isBinary) {
      replyError(
        this,
        undefined,
        new ParleyError('bad_request', 'binary frames are not supported; send JSON text'),
      );
      return;
    }
    const parsed = parseClientFrame(data.toString());
    if (!parsed.ok) {
      replyError(this, parsed.ref, parsed.error);
      return;
    }
    const frame = parsed.frame;
    if (this.#draining) {
      replyError(this, frame.ref, new ParleyError('server_shutdown', 'server is shutting down; reconnect'));
      return;
    }
    if (!allowed) {
      // Every request is answered, even a dropped one, so a client never waits in vain.
      replyError(
        this,
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
        replyError(this, frame.ref, new ParleyError('not_authenticated', 'send an auth frame first'));
      }
      return;
    }
    // Frames pipelined behind `auth` wait for it in the chain (and are ignored if it fails).
    this.#enqueue(() => this.#handle(frame));
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

  async #handle(frame: ClientFrame): Promise<void> {
    if (this.#state !== 'open') return;
    switch (frame.type) {
      case 'auth':
        replyError(
          this,
          frame.ref,
          new ParleyError('bad_request', 'already authenticated; use refresh to replace the token'),
        );
        return;
      case 'refresh':
        await this.#refresh(frame.token, frame.ref);
        return;
      case 'ping':
        reply(this, frame.ref, { type: 'pong', ts: Date.now() });
        return;
      default:
        await dispatch(this.#deps.chat, this, this, frame);
    }
  }

  async #authenticate(token: string, ref: Ref | undefined): Promise<void> {
    const slots = this.#deps.authSlots;
    const turn = slots.acquire();
    if (turn !== undefined) await turn;
    try {
      // Closed (or timed out) while waiting for a slot: nothing to do.
      if (this.#state !== 'authenticating') return;
      await this.#authenticateNow(token, ref);
    } finally {
      slots.release();
    }
  }

  async #authenticateNow(token: string, ref: Ref | undefined): Promise<void> {
    try {
      const identity = await this.#deps.verifier.verify(token);
      if (this.#state !== 'authenticating') return;
      this.#user = { id: identity.userId, username: identity.username };
      this.#issuedAt = identity.issuedAt;
      await this.#deps.chat.sessionOpened(this);
      if (this.#state !== 'authenticating') {
        await this.#deps.chat.sessionClosed(this);
        return;
      }
      this.#state = 'open';
      clearTimeout(this.#helloTimer);
      this.#helloTimer = undefined;
      reply(this, ref, {
        type: 'welcome',
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
      replyError(this, ref, error);
      // A refused token is final; a server that could not check it (database down) is not.
      const refused =
        error.code === 'auth_failed' || error.code === 'token_expired' || error.code === 'forbidden';
      this.#closeWith(refused ? CloseCode.AuthFailed : CloseCode.Unavailable, error.code);
    }
  }

  async #refresh(token: string, ref: Ref | undefined): Promise<void> {
    let identity: Awaited<ReturnType<TokenVerifier['verify']>>;
    try {
      identity = await this.#deps.verifier.verify(token);
    } catch (err) {
      replyError(this, ref, err);
      return;
    }
    if (identity.userId !== this.user.id) {
      replyError(this, ref, new ParleyError('auth_failed', 'refresh token is for another user'));
      return;
    }
    this.#issuedAt = identity.issuedAt;
    reply(this, ref, { type: 'refreshed', expires_at: identity.expiresAt });
    this.#armExpiry(identity.expiresAt);
  }

  #armExpiry(expiresAt: number): void {
    clearTimeout(this.#expiryTimer);
    this.#expiresAt = expiresAt;
    const warnIn = expiresAt - this.#deps.limits.tokenExpiryWarningMs - Date.now();
    if (warnIn <= 0) {
      this.sendFrame({ type: 'token_expiring', expires_at: expiresAt });
      this.#armExpire();
      return;
    }
    this.#expiryTimer = setTimeout(ParleyV1Session.#warnDue, Math.min(warnIn, MAX_TIMER_MS), this);
  }

  // After the warning: the timer that closes the connection when the token expires.
  #armExpire(): void {
    this.#expiryTimer = setTimeout(
      ParleyV1Session.#expiryDue,
      Math.max(0, Math.min(this.#expiresAt - Date.now(), MAX_TIMER_MS)),
      this,
    );
  }

  // The timers' callbacks are shared, with the session as their argument: no closure and
  // context per connection. The warning re-arms itself while the warning time is still ahead
  // (a token beyond setTimeout's longest delay).
  static readonly #warnDue = (session: ParleyV1Session): void => {
    session.#armExpiry(session.#expiresAt);
  };

  static readonly #expiryDue = (session: ParleyV1Session): void => {
    if (Date.now() >= session.#expiresAt) {
      replyError(
        session,
        undefined,
        new ParleyError('token_expired', 'token expired; reconnect with a fresh one'),
      );
      session.#closeWith(CloseCode.TokenExpired, 'token expired');
    } else {
      session.#armExpire();
    }
  };

  #closeWith(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#markClosed();
    this.#socket.close(code, reason);
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
}
