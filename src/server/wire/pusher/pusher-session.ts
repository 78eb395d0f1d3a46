// One Pusher connection's state machine, in one file of ~500 lines on purpose: see the class's
// comment for why it is not split, and where it would split.
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { RawData } from 'ws';
import { ParleyError } from '../../../protocol/error-catalogue.js';
import type { UserInfo } from '../../../protocol/frames.js';
import type { PusherApp } from '../../config-pusher.js';
import type { ChatService } from '../../core/chat-service.js';
import type { CloseReason } from '../../core/delivery.js';
import type { Subscription } from '../../core/hub.js';
import type { Session } from '../../core/session.js';
import type { Subscribed } from '../../core/subscriptions.js';
import type { PresenceUser } from '../../presence/presence.js';
import { TokenBucket } from '../../token-bucket.js';
import type { OutFrame } from '../../transport/ws/text-frame.js';
import type { GatewayConnection } from '../../transport/ws/ws-gateway.js';
import type { SocketListener, WsSocket } from '../../transport/ws/ws-socket.js';
import {
  channelKind,
  invalidChannelName,
  needsAuth,
  type PusherChannelNames,
  userChannel,
} from './pusher-channel-names.js';
import { messageFrame, pusherFrame } from './pusher-encoder.js';
import { channelAuthValid, userAuthValid } from './pusher-signatures.js';

/** Pusher's close and error codes (by range: 4000–4099 do not reconnect, 4100–4199 back off, 4200–4299 reconnect now). */
export const PusherCode = {
  /** No app has the key in the path. */
  AppNotFound: 4001,
  /** No `protocol` query parameter. */
  NoProtocol: 4008,
  /** A protocol version this server does not speak. */
  UnsupportedProtocol: 4007,
  /** The connection's user was disconnected (`terminate_connections`, a ban). */
  Unauthorized: 4009,
  /** Over capacity: the send queue or the frame rate; back off, then reconnect. */
  OverCapacity: 4100,
  /** The server is going away: reconnect at once (to another node). */
  ReconnectNow: 4200,
  /** The client stayed silent past the activity timeout and a ping. */
  PongNotReceived: 4201,
  /** A client event over the rate limit (an error, the connection stays). */
  ClientEventRateLimited: 4301,
} as const;

const CLOSE_CODES: Readonly<Record<CloseReason, number>> = {
  kicked: PusherCode.Unauthorized,
  slow_consumer: PusherCode.OverCapacity,
};

/** What a Pusher session needs from the node. */
export interface PusherSessionDeps {
  readonly chat: ChatService;
  readonly names: PusherChannelNames;
  readonly encoder: Session['encoder'];
  readonly logger: Logger;
  /** Frames per second per connection, and the burst (the node's v1 limits). */
  readonly framesPerSecond: number;
  readonly framesBurst: number;
  /** Largest replay asked for with `parley_history`, and resume gap (the node's history limits). */
  readonly historyPageMax: number;
  /** A client event was relayed (webhooks). */
  readonly onClientEvent?: (
    app: PusherApp,
    channel: string,
    event: string,
    data: string,
    socketId: string,
    userId?: string,
  ) => void;
  /** A `cache-` channel had no event for a new subscriber (webhooks). */
  readonly onCacheMiss?: (app: PusherApp, channel: string) => void;
}

interface Subscribe {
  readonly channel?: unknown;
  readonly auth?: unknown;
  readonly channel_data?: unknown;
  /** Parley's extension (the resume plugin): everything after this seq, then live. */
  readonly parley_since?: unknown;
  /** The epoch `parley_since` was read in. */
  readonly parley_epoch?: unknown;
  /** Parley's extension: the latest N events first. */
  readonly parley_history?: unknown;
}

// Pusher socket ids are two integers; pusher-php-server and the Node SDK refuse any other form.
function socketId(): string {
  return `${randomInt(1, 2 ** 31)}.${randomInt(1, 2 ** 31)}`;
}

const ANONYMOUS: UserInfo = { id: '', username: '' };

/**
 * One Pusher protocol 7 connection: `connection_established`, pings both ways and the
 * activity timeout, subscriptions checked by the app's signature, user sign-in, client events,
 * and Parley's extensions for resume and history. To the core it is a Session whose id is its
 * socket id. One file of ~500 lines on purpose: it is one state machine (its frames share the
 * connection's state); the natural cut, member parsing and the presence hash into a
 * `pusher-members.ts`, is noted as a follow-up.
 */
export class PusherSession implements Session, GatewayConnection, SocketListener {
  readonly id = socketId();
  readonly subscriptions = new Map<string, Subscription>();
  readonly typingAt = new Map<string, number>();
  readonly encoder: Session['encoder'];
  readonly #app: PusherApp;
  readonly #socket: WsSocket;
  readonly #deps: PusherSessionDeps;
  readonly #frames: TokenBucket;
  readonly #clientEvents: TokenBucket;
  readonly #onClosed: (conn: PusherSession) => void;
  // Pusher channel name → Parley channel id, for this connection's subscriptions.
  readonly #channels = new Map<string, string>();
  // Parley channel id → the user this connection is online as there (presence channels).
  readonly #presenceIds = new Map<string, string>();
  #user: UserInfo | undefined;
  #lastSeen = Date.now();
  #closed = false;
  #draining = false;
  #chain: Promise<void> = Promise.resolve();

  constructor(
    app: PusherApp,
    socket: WsSocket,
    deps: PusherSessionDeps,
    onClosed: (conn: PusherSession) => void,
  ) {
    this.#app = app;
    this.#socket = socket;
    this.#deps = deps;
    this.encoder = deps.encoder;
    this.#onClosed = onClosed;
    this.#frames = new TokenBucket(deps.framesPerSecond, deps.framesBurst);
    this.#clientEvents = new TokenBucket(app.clientEventsPerSecond, app.clientEventsPerSecond);
    socket.listen(this);
    this.#send(
      pusherFrame(
        'pusher:connection_established',
        undefined,
        JSON.stringify({ socket_id: this.id, activity_timeout: app.activityTimeoutSeconds }),
      ),
    );
  }

  /** The signed-in user (anonymous until `pusher:signin`). */
  get user(): UserInfo {
    return this.#user ?? ANONYMOUS;
  }

  get userId(): string {
    return this.#user?.id ?? '';
  }

  write(frame: OutFrame): void {
    if (!this.#closed) this.#socket.send(frame);
  }

  close(reason: CloseReason, message: string): void {
    this.#closeWith(CLOSE_CODES[reason], message);
  }

  shutdown(): void {
    this.#closeWith(PusherCode.ReconnectNow, 'server shutting down');
  }

  stopReading(): void {
    this.#draining = true;
  }

  onClosed(fn: () => void): void {
    this.#socket.onClosed(fn);
  }

  // Pusher clients ping after `activity_timeout` of silence; a server pings a silent client and
  // closes it when no answer comes.
  heartbeat(): void {
    const silentMs = Date.now() - this.#lastSeen;
    const timeoutMs = this.#app.activityTimeoutSeconds * 1000;
    if (silentMs > timeoutMs + 30_000) {
      this.#closeWith(PusherCode.PongNotReceived, 'pong reply not received');
    } else if (silentMs > timeoutMs) {
      this.#send(pusherFrame('pusher:ping', undefined, '{}'));
    }
  }

  overflow(): void {
    this.#closeWith(PusherCode.OverCapacity, 'over capacity: slow consumer');
  }

  closed(): void {
    this.#markClosed();
    this.#onClosed(this);
  }

  message(data: RawData, isBinary: boolean): void {
    if (this.#closed) return;
    this.#lastSeen = Date.now();
    if (!this.#frames.take()) {
      this.#closeWith(PusherCode.OverCapacity, 'too many messages');
      return;
    }
    let frame: unknown;
    try {
      frame = isBinary ? undefined : JSON.parse(data.toString());
    } catch {
      frame = undefined;
    }
    if (
      typeof frame !== 'object' ||
      frame === null ||
      typeof (frame as { event?: unknown }).event !== 'string'
    ) {
      this.#error(null, 'messages must be JSON objects with a string "event"');
      return;
    }
    const { event, data: payload, channel } = frame as { event: string; data?: unknown; channel?: unknown };
    if (this.#draining && event !== 'pusher:ping' && event !== 'pusher:pong') {
      this.#error(PusherCode.ReconnectNow, 'server is shutting down; reconnect');
      return;
    }
    // One connection's requests are handled in order (a subscribe, then its unsubscribe).
    this.#chain = this.#chain
      .then(() => this.#handle(event, payload, channel))
      .catch((err: unknown) => {
        this.#deps.logger.error({ err, socket: this.id }, 'pusher request failed');
        this.#error(null, 'internal error');
      });
  }

  async #handle(event: string, payload: unknown, channel: unknown): Promise<void> {
    if (this.#closed) return;
    const data = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {};
    switch (event) {
      case 'pusher:ping':
        this.#send(pusherFrame('pusher:pong', undefined, '{}'));
        return;
      case 'pusher:pong':
        return;
      case 'pusher:subscribe':
        await this.#subscribe(data as Subscribe);
        return;
      case 'pusher:unsubscribe':
        await this.#unsubscribe(data.channel);
        return;
      case 'pusher:signin':
        await this.#signin(data.auth, data.user_data);
        return;
      default:
        if (event.startsWith('client-')) {
          await this.#clientEvent(event, channel, payload);
          return;
        }
        this.#error(null, `unknown event "${event.slice(0, 60)}"`);
    }
  }

  async #subscribe(request: Subscribe): Promise<void> {
    const app = this.#app;
    const name = request.channel;
    const invalid = invalidChannelName(app, name);
    if (invalid !== undefined || typeof name !== 'string') {
      this.#error(null, `cannot subscribe: ${invalid ?? 'no channel'}`);
      return;
    }
    if (this.#channels.has(name)) return; // Pusher answers a repeated subscribe with nothing.
    const kind = channelKind(name);
    let presenceAs: PresenceUser | null = null;
    if (kind === 'user') {
      if (this.#user === undefined || name !== userChannel(this.#user.id)) {
        this.#subscriptionError(name, 'sign in as that user first', 403);
        return;
      }
    } else if (needsAuth(kind)) {
      const channelData = typeof request.channel_data === 'string' ? request.channel_data : undefined;
      if (!channelAuthValid(app, this.id, name, request.auth, channelData)) {
        this.#subscriptionError(name, 'invalid signature', 401);
        return;
      }
      if (kind === 'presence') {
        const member = this.#member(channelData);
        if (typeof member === 'string') {
          this.#subscriptionError(name, member, 400);
          return;
        }
        presenceAs = member;
      }
    }
    const id = this.#deps.names.idOf(app, name);
    const chat = this.#deps.chat;
    if (presenceAs !== null && (await chat.subscriptions.occupancy(id)).users >= app.maxPresenceMembers) {
      const online = await chat.subscriptions.online(id);
      if (!online.some((u) => u.id === presenceAs.id)) {
        this.#subscriptionError(name, `over capacity: at most ${app.maxPresenceMembers} members`, 403);
        return;
      }
    }
    const since = seqOf(request.parley_since);
    const wanted = seqOf(request.parley_history) ?? (kind === 'cache' ? 1 : 0);
    this.#channels.set(name, id);
    if (presenceAs !== null) this.#presenceIds.set(id, presenceAs.id);
    try {
      await chat.channels.ensureOne(id, kind === 'public' || kind === 'cache' ? 'public' : 'private', name);
      await chat.subscriptions.subscribe(
        this,
        {
          channel: id,
          history: Math.min(wanted, this.#deps.historyPageMax),
          since,
          epoch: typeof request.parley_epoch === 'string' ? request.parley_epoch : undefined,
        },
        (state) => this.#succeeded(name, kind, state, since !== undefined || wanted > 0),
        { authorized: true, presenceAs, counted: true },
      );
    } catch (err) {
      this.#channels.delete(name);
      this.#presenceIds.delete(id);
      this.#subscriptionError(
        name,
        err instanceof ParleyError ? err.message : 'could not subscribe now',
        err instanceof ParleyError
          ? err.code === 'rate_limited'
            ? 429
            : err.code === 'forbidden' || err.code === 'banned'
              ? 403
              : 400
          : 500,
      );
      if (!(err instanceof ParleyError))
        this.#deps.logger.error({ err, socket: this.id }, 'pusher subscribe failed');
    }
  }

  // The reply, then (before any live event) the replay the client asked for.
  #succeeded(name: string, kind: string, state: Subscribed, replay: boolean): void {
    let data = '{}';
    if (kind === 'presence') {
      const hash = state.presence.map((u) => `${JSON.stringify(u.id)}:${u.info ?? 'null'}`).join(',');
      const ids = JSON.stringify(state.presence.map((u) => u.id));
      data = `{"presence":{"ids":${ids},"hash":{${hash}},"count":${state.presence_count}}}`;
    }
    this.#send(pusherFrame('pusher_internal:subscription_succeeded', name, data));
    if (replay) {
      // The plugin learns where it resumed from, and whether the server had everything since.
      this.#send(
        pusherFrame(
          'parley:resumed',
          name,
          JSON.stringify({ epoch: state.epoch, last_seq: state.last_seq, recovered: state.recovered }),
        ),
      );
      for (const m of state.messages) this.#send(messageFrame(m, name));
    } else if (kind === 'cache') {
      const last = state.messages.at(-1);
      if (last === undefined) {
        this.#send(pusherFrame('pusher:cache_miss', name, '{}'));
        this.#deps.onCacheMiss?.(this.#app, name);
      } else this.#send(messageFrame(last, name));
    }
  }

  // The presence identity of `channel_data`: `{ user_id, user_info? }`, or why it is refused.
  #member(channelData: string | undefined): PresenceUser | string {
    if (channelData === undefined) {
      if (this.#user === undefined) return 'presence channels need channel_data, or a signed-in user';
      return { id: this.#user.id, username: this.#user.username };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(channelData);
    } catch {
      return 'channel_data is not JSON';
    }
    const { user_id: raw, user_info: info } = (parsed ?? {}) as { user_id?: unknown; user_info?: unknown };
    const id = typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : raw;
    if (typeof id !== 'string' || id === '' || id.length > 128)
      return 'channel_data needs a user_id of 1–128 characters';
    const infoText = info === undefined ? undefined : JSON.stringify(info);
    if (infoText !== undefined && Buffer.byteLength(infoText) > this.#app.maxMemberInfoBytes) {
      return `user_info is larger than ${this.#app.maxMemberInfoBytes} bytes`;
    }
    const name =
      typeof (info as { name?: unknown } | undefined)?.name === 'string'
        ? (info as { name: string }).name
        : id;
    return infoText === undefined
      ? { id, username: name.slice(0, 100) }
      : { id, username: name.slice(0, 100), info: infoText };
  }

  async #unsubscribe(name: unknown): Promise<void> {
    if (typeof name !== 'string') return;
    const id = this.#channels.get(name);
    if (id === undefined) return;
    this.#channels.delete(name);
    this.#presenceIds.delete(id);
    await this.#deps.chat.subscriptions.unsubscribe(this, id).catch(() => undefined);
  }

  async #signin(auth: unknown, userData: unknown): Promise<void> {
    if (typeof userData !== 'string' || !userAuthValid(this.#app, this.id, userData, auth)) {
      this.#error(4009, 'invalid signin: bad signature');
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(userData);
    } catch {
      parsed = undefined;
    }
    const { id, name } = (parsed ?? {}) as { id?: unknown; name?: unknown };
    if (typeof id !== 'string' || id === '' || id.length > 128) {
      this.#error(4009, 'invalid signin: user_data needs an "id" of 1–128 characters');
      return;
    }
    if (this.#user !== undefined) {
      this.#error(null, 'already signed in');
      return;
    }
    this.#user = { id, username: (typeof name === 'string' && name !== '' ? name : id).slice(0, 100) };
    // Registered with the core from now on: disconnecting the user closes this connection too.
    await this.#deps.chat.sessionOpened(this);
    if (this.#closed) {
      await this.#deps.chat.sessionClosed(this);
      return;
    }
    this.#send(
      JSON.stringify({ event: 'pusher:signin_success', data: JSON.stringify({ user_data: userData }) }),
    );
  }

  async #clientEvent(event: string, name: unknown, payload: unknown): Promise<void> {
    const app = this.#app;
    if (!app.clientEvents) {
      this.#error(null, 'client events are not enabled for this app');
      return;
    }
    if (typeof name !== 'string' || !this.#channels.has(name)) {
      this.#error(null, `client event on a channel this connection is not subscribed to`);
      return;
    }
    const kind = channelKind(name);
    if (kind !== 'private' && kind !== 'presence') {
      this.#error(null, 'client events go only to private- and presence- channels');
      return;
    }
    if (event.length > app.maxEventNameChars) {
      this.#error(null, `event names are at most ${app.maxEventNameChars} characters`);
      return;
    }
    const data = typeof payload === 'string' ? payload : JSON.stringify(payload ?? null);
    if (Buffer.byteLength(data) > app.maxEventBytes) {
      this.#error(null, `event data is larger than ${app.maxEventBytes} bytes`);
      return;
    }
    if (!this.#clientEvents.take()) {
      this.#error(PusherCode.ClientEventRateLimited, 'client event rejected due to rate limit');
      return;
    }
    const id = this.#channels.get(name) as string;
    const userId = kind === 'presence' ? await this.#presenceId(id) : undefined;
    await this.#deps.chat.subscriptions.signal(this, id, event, data, userId);
    this.#deps.onClientEvent?.(app, name, event, data, this.id, userId);
  }

  // Who this connection is online as in a presence channel (its channel_data's user).
  async #presenceId(channelId: string): Promise<string | undefined> {
    return this.#presenceIds.get(channelId) ?? this.#user?.id;
  }

  #subscriptionError(channel: string, message: string, status: number): void {
    this.#send(
      pusherFrame(
        'pusher:subscription_error',
        channel,
        JSON.stringify({ type: 'AuthError', error: message, status }),
      ),
    );
  }

  // Pusher sends `pusher:error` data as an object, not a string.
  #error(code: number | null, message: string): void {
    this.#send(JSON.stringify({ event: 'pusher:error', data: { code, message } }));
  }

  #send(json: string): void {
    if (!this.#closed) this.#socket.sendText(json);
  }

  #closeWith(code: number, reason: string): void {
    if (this.#closed) return;
    this.#error(code, reason);
    this.#markClosed();
    this.#socket.close(code, reason);
  }

  #markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    const chat = this.#deps.chat;
    const done = this.#user !== undefined ? chat.sessionClosed(this) : chat.subscriptions.endAll(this);
    done.catch((err) => this.#deps.logger.error({ err }, 'pusher session close failed'));
  }
}

// A non-negative integer parameter of Parley's extensions, or undefined.
function seqOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}
