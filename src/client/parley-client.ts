import type {
  Attachment,
  ChannelInfo,
  MessageDeletedFrame,
  MessageEditedFrame,
  ModerateFrame,
  ModerationFrame,
  ReactionFrame,
  ReadPositionFrame,
  Role,
  UserInfo,
} from '../protocol/frames.js';
import { backoffDelay } from './backoff-delay.js';
import { ChannelSubscriptions, type SubscriptionHost } from './channel-subscriptions.js';
import { ConnectionLostError, ParleyClientError } from './parley-client-error.js';
import type {
  Ack,
  ConnectionState,
  HistoryPage,
  MemberEvent,
  ParleyClientEvents,
  SubscribeResult,
  Welcome,
} from './parley-client-events.js';
import {
  type CreateChannelOptions,
  type HistoryOptions,
  type ParleyClientOptions,
  type PublishOptions,
  resolveOptions,
  type SubscribeOptions,
} from './parley-client-options.js';
import { ParleyConnection } from './parley-connection.js';
import { Publisher, type PublishLink } from './publisher.js';
import { type RequestLink, RequestTracker } from './request-tracker.js';
import { stripFrame } from './strip-frame.js';
import { TimerSet } from './timer-set.js';
import { toMessage } from './to-message.js';
import { TypedEmitter } from './typed-emitter.js';
import { httpBaseOf, type UploadFile, uploadAttachment } from './upload-attachment.js';
import type { WebSocketConstructor } from './web-socket-like.js';

// The types of the client's API live beside it; they are exported from here as they always were.
export type {
  Ack,
  ClosedEvent,
  ConnectionState,
  DisconnectedEvent,
  HistoryPage,
  MemberEvent,
  ParleyClientEvents,
  PresenceEvent,
  ResetEvent,
  SubscribeResult,
  TypingEvent,
  UnsubscribedEvent,
  UpdateEvent,
  Welcome,
} from './parley-client-events.js';
export type {
  CreateChannelOptions,
  HistoryOptions,
  ParleyClientOptions,
  PublishOptions,
  SubscribeOptions,
} from './parley-client-options.js';

/**
 * The Parley client SDK for browsers and Node: one authenticated WebSocket session that
 * reconnects with backoff and jitter, resumes every subscription from its last seq, delivers
 * each channel's messages in order and once, and retries publishes idempotently.
 *
 * Nothing happens until `connect()`; after `close()` (or a terminal close code) no timer or
 * socket is left and every pending call has been rejected.
 */
export class ParleyClient extends TypedEmitter<ParleyClientEvents> {
  readonly #requestTimeoutMs: number;
  readonly #connection: ParleyConnection;
  readonly #requests: RequestTracker;
  readonly #publisher: Publisher;
  readonly #subs: ChannelSubscriptions;
  readonly #options: ParleyClientOptions;

  constructor(options: ParleyClientOptions) {
    super();
    this.#options = options;
    const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (WebSocketImpl === undefined) {
      throw new ParleyClientError(
        'bad_request',
        'no WebSocket implementation: pass options.WebSocket (on Node 20, `WebSocket` from the "ws" package)',
      );
    }
    const o = resolveOptions(options);
    const random = options.random ?? Math.random;
    const timers = new TimerSet();
    this.#requestTimeoutMs = o.requestTimeoutMs;
    // The parts see only the connection state they need, through these closures.
    const link: RequestLink & PublishLink & SubscriptionHost = {
      socket: () => this.#connection.socket,
      isOpen: () => this.#connection.state === 'open',
      session: () => this.#connection.session,
      closedError: () => this.#connection.closedError,
      limits: () => this.#connection.welcome?.limits,
      pageSize: () => this.#connection.pageSize,
      requestTimeoutMs: o.requestTimeoutMs,
      notConnected: () => this.#connection.notConnected(),
      send: (ws, frame) => this.#connection.send(ws, frame),
      sendQuietly: (frame) => this.#connection.sendQuietly(frame),
      request: (frame, expect, timeoutMs) => this.#requests.request(frame, expect, timeoutMs),
      backoff: (attempt) => backoffDelay(attempt, o, random),
      emit: (event, payload) => this.emit(event, payload),
    };
    this.#requests = new RequestTracker(link, timers, o.requestTimeoutMs);
    this.#publisher = new Publisher(link, this.#requests, timers, o);
    this.#subs = new ChannelSubscriptions(link, timers);
    this.#connection = new ParleyConnection(
      { url: options.url, token: options.token, WebSocket: WebSocketImpl, options: o, random },
      {
        timers,
        requests: this.#requests,
        subscriptions: this.#subs,
        emit: (event, payload) => this.emit(event, payload),
      },
    );
  }

  /** The connection state. */
  get state(): ConnectionState {
    return this.#connection.state;
  }

  /** The authenticated user, once a `welcome` arrived. */
  get user(): UserInfo | undefined {
    return this.#connection.welcome?.user;
  }

  /** When the session's token expires (ms since the epoch), as of the last welcome or refresh. */
  get expiresAt(): number | undefined {
    return this.#connection.expiresAt;
  }

  /** The channels subscribed to (or being subscribed to). */
  get subscriptions(): readonly string[] {
    return this.#subs.channels;
  }

  /** The seq of the last message delivered in `channel`, or undefined when not subscribed. */
  lastSeq(channel: string): number | undefined {
    return this.#subs.lastSeq(channel);
  }

  /**
   * Starts connecting. Resolves with the first `welcome`, however many attempts it takes;
   * rejects when the server closes with a terminal code or `close()` is called first. Calling
   * it again returns the same promise.
   */
  connect(): Promise<Welcome> {
    return this.#connection.connect();
  }

  /**
   * Subscribes to `channel` and resolves with the server's confirmation. The subscription is
   * kept across reconnects (resumed with `since` = last seq and the epoch). Every message,
   * including the result's `messages`, is also emitted as a `message` event, in order.
   * Subscribing to a channel already subscribed returns the first call's result.
   */
  subscribe(channel: string, options: SubscribeOptions = {}): Promise<SubscribeResult> {
    const closedError = this.#connection.closedError;
    if (closedError !== undefined) return Promise.reject(closedError);
    return this.#subs.add(channel, options);
  }

  /** Stops receiving `channel` (membership is kept) and emits `unsubscribed`. */
  async unsubscribe(channel: string): Promise<void> {
    if (!this.#subs.remove(channel)) return;
    if (this.#connection.state === 'open') {
      try {
        await this.#requests.request(
          { type: 'unsubscribe', channel },
          'unsubscribed',
          this.#requestTimeoutMs,
        );
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
  publish(channel: string, text: string, options: PublishOptions = {}): Promise<Ack> {
    return this.#publisher.publish(channel, text, options);
  }

  /**
   * Uploads a file to `channel` over the HTTP API (with the client's token) and resolves with
   * its record; it is sent once a publish lists its id in `attachments` (see `attach`).
   */
  async upload(channel: string, file: UploadFile): Promise<Attachment> {
    const token = typeof this.#options.token === 'string' ? this.#options.token : await this.#options.token();
    const httpUrl = this.#options.httpUrl ?? httpBaseOf(this.#options.url);
    return uploadAttachment({ httpUrl, token, channel }, file);
  }

  /** Uploads `files` to `channel`, then publishes `text` with them; resolves with the ack. */
  async attach(
    channel: string,
    text: string,
    files: readonly UploadFile[],
    options: PublishOptions = {},
  ): Promise<Ack> {
    const uploaded: Attachment[] = [];
    for (const file of files) uploaded.push(await this.upload(channel, file));
    return this.publish(channel, text, { ...options, attachments: uploaded.map((a) => a.id) });
  }

  /** Reads a page of `channel`'s history, ascending by seq. */
  async history(channel: string, options: HistoryOptions = {}): Promise<HistoryPage> {
    const page = await this.#requests.call(
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
    return stripFrame(
      await this.#requests.call({ type: 'message_edit', channel, id, text }, 'message_edited', {
        idempotent: true,
      }),
    );
  }

  /** Deletes a message (its author, or a channel admin or owner). */
  async deleteMessage(channel: string, id: string): Promise<Omit<MessageDeletedFrame, 'type' | 'ref'>> {
    return stripFrame(
      await this.#requests.call({ type: 'message_delete', channel, id }, 'message_deleted', {
        idempotent: true,
      }),
    );
  }

  /**
   * Toggles this user's `emoji` reaction on a message. Not retried after a lost connection: a
   * second toggle would undo the first.
   */
  async react(channel: string, id: string, emoji: string): Promise<Omit<ReactionFrame, 'type' | 'ref'>> {
    return stripFrame(
      await this.#requests.call({ type: 'react', channel, id, emoji }, 'reaction', { idempotent: false }),
    );
  }

  /** Moves this user's read position in `channel` forward to `seq`; resolves with the position now. */
  async markRead(channel: string, seq: number): Promise<Omit<ReadPositionFrame, 'type' | 'ref'>> {
    return stripFrame(
      await this.#requests.call({ type: 'read', channel, seq }, 'read_position', { idempotent: true }),
    );
  }

  /** Who is online in `channel`. */
  async presence(channel: string): Promise<readonly UserInfo[]> {
    const reply = await this.#requests.call({ type: 'presence', channel }, 'presence_list', {
      idempotent: true,
    });
    return reply.users;
  }

  /** Tells `channel`'s other subscribers this user is typing. Dropped when not connected. */
  typing(channel: string): void {
    this.#connection.sendQuietly({ type: 'typing', channel });
  }

  /** Creates a channel owned by this user. Not retried after a lost connection (it could exist). */
  async createChannel(name: string, options: CreateChannelOptions = {}): Promise<ChannelInfo> {
    const reply = await this.#requests.call(
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
    const reply = await this.#requests.call(
      { type: 'member_add', channel, user_id: userId, ...(role === undefined ? {} : { role }) },
      'member',
      { idempotent: true },
    );
    return stripFrame(reply);
  }

  /** Removes `userId` from `channel` (themselves, or anyone as owner or admin). */
  async removeMember(channel: string, userId: string): Promise<MemberEvent> {
    const reply = await this.#requests.call({ type: 'member_remove', channel, user_id: userId }, 'member', {
      idempotent: false,
    });
    return stripFrame(reply);
  }

  /**
   * Bans, unbans, mutes or unmutes `userId` in `channel` (its owners, admins and moderators; a
   * mute needs `until`). Resolves with what was done, as the channel's `moderation` event says it.
   */
  async moderate(
    channel: string,
    userId: string,
    action: ModerateFrame['action'],
    options: { readonly until?: number; readonly reason?: string } = {},
  ): Promise<Omit<ModerationFrame, 'type' | 'ref'>> {
    const reply = await this.#requests.call(
      {
        type: 'moderate',
        channel,
        user_id: userId,
        action,
        ...(options.until === undefined ? {} : { until: options.until }),
        ...(options.reason === undefined ? {} : { reason: options.reason }),
      },
      'moderation',
      { idempotent: false },
    );
    return stripFrame(reply);
  }

  /** Opens (or gets) the direct-message channel with `userId`. */
  async openDm(userId: string): Promise<ChannelInfo> {
    const reply = await this.#requests.call({ type: 'dm_open', user_id: userId }, 'channel', {
      idempotent: true,
    });
    return reply.channel;
  }

  /**
   * Closes the client for good: rejects every pending call, stops every timer and closes the
   * socket (waiting up to `closeTimeoutMs` for the closing handshake). Emits `closed` once.
   */
  close(): Promise<void> {
    return this.#connection.close();
  }
}
