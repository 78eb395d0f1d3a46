import { createHash } from 'node:crypto';
import { CloseCode } from '../../protocol/close-codes.js';
import { ParleyError } from '../../protocol/error-catalogue.js';
import type {
  AckFrame,
  ChannelCreateFrame,
  ChannelDetail,
  ChannelFrame,
  ChannelInfo,
  ChannelUpdatedFrame,
  HistoryFrame,
  HistoryPageFrame,
  MemberFrame,
  Message,
  MessageDeletedFrame,
  MessageEditedFrame,
  PresenceListFrame,
  PublishFrame,
  ReactionFrame,
  ReadPositionFrame,
  Role,
  SearchHit,
  ServerFrame,
  SubscribedFrame,
  SubscribeFrame,
  UserInfo,
} from '../../protocol/frames.js';
import { type Bus, type BusEvent, CONTROL_TOPIC, channelTopic } from '../bus/bus.js';
import type { HistoryCache } from '../cache/history-cache.js';
import type { Limits } from '../config.js';
import type { Hub, Subscription } from '../hub.js';
import { countOf, itemsOf, type OneOrSet, withItem, withoutItem } from '../one-or-set.js';
import type { Presence } from '../presence/presence.js';
import { highlightRanges, searchTerms } from '../store/search-terms.js';
import type { AppendResult, ChannelPatch, Store, StoredChannel, StoredMember } from '../store/store.js';
import type { Actor } from './actor.js';
import {
  canDeleteMessage,
  canEditMessage,
  canManageMember,
  canPost,
  canRead,
  canUpdateChannel,
  joinsOnUse,
} from './permissions.js';
import type { Session } from './session.js';
import { TokenBucket } from './token-bucket.js';

/** What ChatService reports to logs, metrics and webhooks. Every hook but `error` is optional. */
export interface ChatObserver {
  error(err: unknown, what: string): void;
  /** A message was committed (not called for a retried duplicate). */
  messageCreated?(message: Message): void;
  /** A membership changed: `role` null = removed, `previous` undefined = added. */
  memberChanged?(channel: string, userId: string, role: Role | null, previous: Role | undefined): void;
  /** The user's first connection on this node opened (not after a reconnect within the grace period). */
  userOnline?(user: UserInfo): void;
  /** The user's last connection on this node closed `offlineGraceMs` ago and none came back. */
  userOffline?(user: UserInfo): void;
}

/** A message to post: over HTTP, through the server API, or (via `publish`) over WebSocket. */
export interface PostInput {
  readonly channel: string;
  readonly text: string;
  readonly clientMsgId: string | null;
  readonly replyTo?: string | undefined;
}

/** A text a message had before an edit replaced it, as the API shows it. */
export interface MessageVersionView {
  /** 1 for the text the message was sent with, then 2, 3, … in the order of the edits. */
  readonly version: number;
  readonly text: string;
  /** When this text was replaced (ms since the epoch). */
  readonly edited_at: number;
}

type ChannelMeta = Pick<StoredChannel, 'id' | 'kind' | 'title' | 'epoch' | 'archived'>;

const ROLE_TTL_MS = 60_000;
const CACHE_MAX = 100_000;

// Indistinguishable on purpose: a caller must not learn whether a private channel exists.
function noAccess(channel: string): ParleyError {
  return new ParleyError('forbidden', `no channel "${channel}", or you may not use it`);
}

/**
 * Rooms, messages, presence, typing and membership: every chat action, each checked against
 * the caller's current role. Knows no sockets (it talks to Sessions) and no SQL (the Store).
 */
export class ChatService {
  readonly #store: Store;
  readonly #bus: Bus;
  readonly #hub: Hub;
  readonly #presence: Presence;
  readonly #limits: Limits;
  readonly #observer: ChatObserver;
  readonly #cache: HistoryCache | undefined;
  // User id → their sessions on this node (most users have one, and keep no Set of one).
  readonly #sessions = new Map<string, OneOrSet<Session>>();
  readonly #channels = new Map<string, ChannelMeta>();
  readonly #roles = new Map<string, { readonly role: Role | undefined; readonly at: number }>();
  // User id → the username this node last stored for it.
  readonly #knownUsers = new Map<string, string>();
  // Per user, shared by all their connections on this node.
  readonly #publishBuckets = new Map<string, TokenBucket>();
  // Users whose last session closed, waiting out the offline grace period.
  readonly #goingOffline = new Map<string, NodeJS.Timeout>();

  constructor(deps: {
    readonly store: Store;
    readonly bus: Bus;
    readonly hub: Hub;
    readonly presence: Presence;
    readonly limits: Limits;
    readonly observer: ChatObserver;
    /** Recent messages, so joins and short resumes skip SQL; the Store fills anything it lacks. */
    readonly cache?: HistoryCache;
  }) {
    this.#store = deps.store;
    this.#bus = deps.bus;
    this.#hub = deps.hub;
    this.#presence = deps.presence;
    this.#limits = deps.limits;
    this.#observer = deps.observer;
    this.#cache = deps.cache;
  }

  /** Number of sessions on this node. */
  get sessionCount(): number {
    let n = 0;
    for (const s of this.#sessions.values()) n += countOf(s);
    return n;
  }

  /** Records a newly authenticated session and makes sure its user exists in the Store. */
  async sessionOpened(session: Session): Promise<void> {
    // A durable write per connection would make reconnect waves wait on commits: write only
    // users (or usernames) this node has not stored yet.
    if (this.#knownUsers.get(session.user.id) !== session.user.username) {
      await this.#store.upsertUser({ id: session.user.id, username: session.user.username });
      if (this.#knownUsers.size >= CACHE_MAX) this.#knownUsers.clear();
      this.#knownUsers.set(session.user.id, session.user.username);
    }
    const had = this.#sessions.get(session.user.id);
    this.#sessions.set(session.user.id, withItem(had, session));
    if (had === undefined) {
      const pending = this.#goingOffline.get(session.user.id);
      if (pending !== undefined) {
        clearTimeout(pending);
        this.#goingOffline.delete(session.user.id);
      } else {
        this.#notify(() => this.#observer.userOnline?.(session.user));
      }
      // A bucket outlives the user's connections until it refills: reconnecting does not reset it.
      if (!this.#publishBuckets.has(session.user.id)) {
        this.#pruneIdleBuckets();
        this.#publishBuckets.set(
          session.user.id,
          new TokenBucket(this.#limits.publishPerSecond, this.#limits.publishBurst),
        );
      }
    }
  }

  // Buckets of users with no session left are kept until full; sweep them now and then.
  #pruneIdleBuckets(): void {
    if (this.#publishBuckets.size < 2 * this.#sessions.size + 1000) return;
    const now = Date.now();
    for (const [user, bucket] of this.#publishBuckets) {
      if (!this.#sessions.has(user) && bucket.isFull(now)) this.#publishBuckets.delete(user);
    }
  }

  /** Ends every subscription of a closed session and announces who left. */
  async sessionClosed(session: Session): Promise<void> {
    const had = this.#sessions.get(session.user.id);
    const left = withoutItem(had, session);
    if (left !== undefined) this.#sessions.set(session.user.id, left);
    else if (had !== undefined) {
      this.#sessions.delete(session.user.id);
      this.#goOffline(session.user);
      if (this.#publishBuckets.get(session.user.id)?.isFull()) this.#publishBuckets.delete(session.user.id);
    }
    await Promise.all([...session.subscriptions.values()].map((sub) => this.#endSubscription(session, sub)));
  }

  // A user's last session closed: offline after the grace period unless one opens meanwhile. (Its
  // own method: the timer must not keep the closed session alive through a shared context.)
  #goOffline(user: UserInfo): void {
    const timer = setTimeout(() => {
      this.#goingOffline.delete(user.id);
      if (!this.#sessions.has(user.id)) this.#notify(() => this.#observer.userOffline?.(user));
    }, this.#limits.offlineGraceMs);
    timer.unref();
    this.#goingOffline.set(user.id, timer);
  }

  // The user's sessions on this node, as an iterable.
  #sessionsOf(userId: string): Iterable<Session> {
    return itemsOf(this.#sessions.get(userId));
  }

  /** Creates the public channels named in the configuration when they are missing. */
  async ensureChannels(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      if ((await this.#store.getChannel(id)) !== undefined) continue;
      try {
        await this.#store.createChannel({ id, kind: 'public', title: id, owner: null });
      } catch (err) {
        // Another node created it first.
        if (!(err instanceof ParleyError && err.code === 'conflict')) throw err;
      }
    }
  }

  /**
   * Subscribes the session: the latest history (or, with `since`, everything after it) and
   * then live messages with no gap and no repeat between the two.
   */
  async subscribe(session: Session, frame: SubscribeFrame): Promise<SubscribedFrame> {
    if (session.subscriptions.has(frame.channel)) {
      throw new ParleyError('conflict', `already subscribed to "${frame.channel}"`, {
        details: { channel: frame.channel },
      });
    }
    if (session.subscriptions.size >= this.#limits.maxSubscriptions) {
      throw new ParleyError(
        'rate_limited',
        `at most ${this.#limits.maxSubscriptions} subscriptions per connection`,
      );
    }
    const channel = await this.#channel(frame.channel);
    let role = await this.#role(frame.channel, session.user.id);
    if (channel === undefined || !canRead(channel.kind, role)) throw noAccess(frame.channel);
    role = await this.#joinIfPublic(channel, session.user.id, role);

    const sub = await this.#hub.subscribe(channel.id, session);
    session.subscriptions.set(channel.id, sub);
    try {
      const state = await this.#store.getChannel(channel.id);
      if (state === undefined) throw noAccess(frame.channel);
      let messages: readonly Message[];
      let recovered = false;
      const since = frame.since;
      // Without an epoch the client vouches for `since` (e.g. `parley listen --since N`).
      const sameEpoch = frame.epoch === undefined || frame.epoch === state.epoch;
      if (since !== undefined && sameEpoch && since <= state.lastSeq) {
        const gap = state.lastSeq - since;
        if (gap <= this.#limits.resumeMaxGap) {
          messages =
            gap === 0
              ? []
              : ((await this.#cache?.range(channel.id, since, state.lastSeq)) ??
                (await this.#store.after(channel.id, since, gap)));
          recovered = true;
        } else {
          messages = await this.#latest(channel.id, state.lastSeq, this.#historySize(frame.history));
        }
      } else {
        messages = await this.#latest(channel.id, state.lastSeq, this.#historySize(frame.history));
      }
      const lastSeq = Math.max(state.lastSeq, messages.at(-1)?.seq ?? 0);
      if (since === undefined) recovered = true;

      const online = await this.#presenceJoin(channel.id, session);
      // The session closed (or unsubscribed) while its history was read: undo the join.
      if (sub.closed) throw new ParleyError('conflict', `subscription to "${channel.id}" ended`);
      const reply: SubscribedFrame = {
        type: 'subscribed',
        channel: channel.id,
        kind: channel.kind,
        title: await this.#title(channel, session.user.id),
        role: role ?? null,
        epoch: state.epoch,
        last_seq: lastSeq,
        recovered,
        messages,
        presence: online.users,
        presence_count: online.count,
      };
      // The reply must leave before any live message of this subscription.
      session.send(frame.ref === undefined ? reply : { ...reply, ref: frame.ref });
      await this.#hub.activate(sub, lastSeq);
      return reply;
    } catch (err) {
      await this.#endSubscription(session, sub);
      throw err;
    }
  }

  /** Ends the session's subscription to a channel (membership is kept). */
  async unsubscribe(session: Session, channelId: string): Promise<void> {
    const sub = session.subscriptions.get(channelId);
    if (sub === undefined) throw new ParleyError('not_found', `not subscribed to "${channelId}"`);
    await this.#endSubscription(session, sub);
  }

  /**
   * Checks and queues a message for commit. Resolves once queued (so a connection's publishes
   * keep their order). Once durable, the sender gets its `ack` and then the message goes on the
   * bus; `committed` resolves then, or rejects when the commit failed.
   */
  async publish(session: Session, frame: PublishFrame): Promise<{ readonly committed: Promise<void> }> {
    const { appended } = await this.#queueMessage(session, {
      channel: frame.channel,
      text: frame.text,
      clientMsgId: frame.client_msg_id,
      replyTo: frame.reply_to,
    });
    return {
      committed: appended.then((result) => {
        this.#acked(session, frame, result);
        this.#published(result);
      }),
    };
  }

  /**
   * Posts a message (HTTP API, server API) and resolves once it is committed and on its way to
   * subscribers. The same checks as `publish`; a system actor skips permissions and rate limits.
   */
  async post(actor: Actor, input: PostInput): Promise<AppendResult> {
    const { appended } = await this.#queueMessage(actor, input);
    const result = await appended;
    this.#published(result);
    return result;
  }

  async #queueMessage(actor: Actor, input: PostInput): Promise<{ readonly appended: Promise<AppendResult> }> {
    if (input.text.length > this.#limits.maxMessageChars) {
      throw new ParleyError(
        'message_too_long',
        `message is ${input.text.length} characters; the limit is ${this.#limits.maxMessageChars}`,
      );
    }
    if (actor.system !== true) this.#takePublishToken(actor.user.id);
    const channel = await this.#channel(input.channel);
    if (actor.system !== true) {
      let role = await this.#role(input.channel, actor.user.id);
      if (channel === undefined || !canRead(channel.kind, role)) throw noAccess(input.channel);
      role = await this.#joinIfPublic(channel, actor.user.id, role);
      if (!canPost(channel.kind, role)) {
        throw new ParleyError('forbidden', `you may not post in "${input.channel}"`);
      }
    } else if (channel === undefined) {
      throw new ParleyError('not_found', `no channel "${input.channel}"`);
    }
    if (channel.archived) throw new ParleyError('forbidden', `"${input.channel}" is archived`);
    if (
      input.replyTo !== undefined &&
      (await this.#store.getMessage(channel.id, input.replyTo)) === undefined
    ) {
      throw new ParleyError('not_found', 'the message replied to is not in this channel');
    }
    const appended = this.#store.append({
      channelId: channel.id,
      userId: actor.user.id,
      username: actor.user.username,
      text: input.text,
      clientMsgId: input.clientMsgId,
      replyTo: input.replyTo ?? null,
    });
    return { appended };
  }

  #takePublishToken(userId: string): void {
    let bucket = this.#publishBuckets.get(userId);
    if (bucket === undefined) {
      this.#pruneIdleBuckets();
      bucket = new TokenBucket(this.#limits.publishPerSecond, this.#limits.publishBurst);
      this.#publishBuckets.set(userId, bucket);
    }
    if (!bucket.take()) {
      const retry = bucket.retryAfterMs();
      throw new ParleyError('rate_limited', 'publishing too fast', { details: { retry_after_ms: retry } });
    }
  }

  #published({ message, duplicate }: AppendResult): void {
    this.#cache?.add(message).catch((err) => this.#observer.error(err, 'history cache add'));
    // Published again for a duplicate too: if the first attempt's fan-out was lost (a crash
    // between commit and publish), this delivers it; hubs drop the repeat otherwise.
    this.#bus
      .publish(channelTopic(message.channel), { kind: 'message', message })
      .catch((err) => this.#observer.error(err, 'bus publish'));
    if (!duplicate) this.#notify(() => this.#observer.messageCreated?.(message));
  }

  #notify(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#observer.error(err, 'chat observer');
    }
  }

  // The newest `n` messages up to `lastSeq`, from the cache when it holds them all.
  async #latest(channelId: string, lastSeq: number, n: number): Promise<readonly Message[]> {
    const cached = await this.#cache?.range(channelId, Math.max(0, lastSeq - n), lastSeq);
    return cached ?? this.#store.latest(channelId, n);
  }

  #acked(session: Session, frame: PublishFrame, { message, duplicate }: AppendResult): void {
    const ack: AckFrame = {
      type: 'ack',
      channel: message.channel,
      id: message.id,
      seq: message.seq,
      ts: message.ts,
      client_msg_id: frame.client_msg_id,
      duplicate,
    };
    session.send(frame.ref === undefined ? ack : { ...ack, ref: frame.ref });
  }

  /** A page of history, before or after a seq (the latest page when neither is given). */
  async history(actor: Actor, frame: HistoryFrame): Promise<HistoryPageFrame> {
    await this.#access(actor, frame.channel);
    const limit = Math.min(
      Math.max(frame.limit ?? this.#limits.historyDefault, 1),
      this.#limits.historyPageMax,
    );
    let messages: readonly Message[];
    let hasMore: boolean;
    if (frame.after !== undefined) {
      const page = await this.#store.after(frame.channel, frame.after, limit + 1);
      messages = page.slice(0, limit);
      hasMore = page.length > limit;
    } else {
      const page =
        frame.before !== undefined
          ? await this.#store.before(frame.channel, frame.before, limit + 1)
          : await this.#store.latest(frame.channel, limit + 1);
      messages = page.length > limit ? page.slice(page.length - limit) : page;
      hasMore = page.length > limit;
    }
    return { type: 'history', channel: frame.channel, messages, has_more: hasMore };
  }

  /** Relays "typing" to the channel's other subscribers, at most once per interval. */
  async typing(session: Session, channelId: string): Promise<void> {
    if (!session.subscriptions.has(channelId)) {
      throw new ParleyError('bad_request', `subscribe to "${channelId}" before sending typing`);
    }
    const now = Date.now();
    const last = session.typingAt.get(channelId);
    // Extra typing events are dropped silently: they carry no information.
    if (last !== undefined && now - last < this.#limits.typingIntervalMs) return;
    session.typingAt.set(channelId, now);
    const channel = await this.#channel(channelId);
    const role = await this.#role(channelId, session.user.id);
    if (channel === undefined || !canPost(channel.kind, role)) {
      throw new ParleyError('forbidden', `you may not post in "${channelId}"`);
    }
    await this.#bus.publish(channelTopic(channelId), {
      kind: 'typing',
      channel: channelId,
      user: session.user,
    });
  }

  /** Who is online in a channel. */
  async presence(session: Session, channelId: string): Promise<PresenceListFrame> {
    await this.#requireRead(session, channelId);
    return { type: 'presence_list', channel: channelId, users: await this.#presence.list(channelId) };
  }

  /** Creates a channel owned by the caller. */
  async createChannel(
    actor: Actor,
    frame: Pick<ChannelCreateFrame, 'channel' | 'private' | 'title'> & {
      readonly topic?: string | undefined;
      /** System actors only: the owner (default none). */
      readonly owner?: string | undefined;
    },
  ): Promise<ChannelFrame> {
    const kind = frame.private === true ? 'private' : 'public';
    const owner = actor.system === true ? (frame.owner ?? null) : actor.user.id;
    const created = await this.#store.createChannel({
      id: frame.channel,
      kind,
      title: frame.title ?? frame.channel,
      owner,
      ...(frame.topic === undefined ? {} : { topic: frame.topic }),
    });
    if (owner !== null) this.#setRole(created.id, owner, 'owner');
    const role = owner === actor.user.id ? 'owner' : null;
    return { type: 'channel', channel: { id: created.id, kind, title: created.title, role } };
  }

  /** Opens (creating when needed) the direct-message channel between the caller and a user. */
  async openDm(session: Actor, otherId: string): Promise<ChannelFrame> {
    const other = await this.#store.getUser(otherId);
    if (other === undefined) throw new ParleyError('not_found', 'no such user');
    const id = dmChannelId(session.user.id, other.id);
    if ((await this.#store.getChannel(id)) === undefined) {
      try {
        await this.#store.createChannel({ id, kind: 'dm', title: 'direct message', owner: null });
      } catch (err) {
        if (!(err instanceof ParleyError && err.code === 'conflict')) throw err;
      }
      await this.#store.setMember(id, session.user.id, 'member');
      if (other.id !== session.user.id) await this.#store.setMember(id, other.id, 'member');
      // Both users' pages (the opener's other tabs too) list the conversation now, not at their
      // next reload; webhooks see both members added.
      await this.#announceMember(id, session.user.id, 'member', undefined);
      if (other.id !== session.user.id) await this.#announceMember(id, other.id, 'member', undefined);
    }
    this.#setRole(id, session.user.id, 'member');
    const info: ChannelInfo = { id, kind: 'dm', title: other.username, role: 'member' };
    return { type: 'channel', channel: info };
  }

  /** Adds a user to a channel or changes their role. */
  async setMember(session: Actor, channelId: string, userId: string, role: Role): Promise<MemberFrame> {
    const targetRole = await this.#checkMemberChange(session, channelId, userId, role);
    if ((await this.#store.getUser(userId)) === undefined) throw new ParleyError('not_found', 'no such user');
    if (targetRole === 'owner' && role !== 'owner') await this.#keepAnOwner(channelId);
    await this.#store.setMember(channelId, userId, role);
    await this.#announceMember(channelId, userId, role, targetRole);
    return { type: 'member', channel: channelId, user_id: userId, role };
  }

  // The checks of every membership change: the caller may see the channel and may give `userId`
  // the role `next` (undefined = removal). The system actor skips them, DMs aside. Returns the
  // target's current role.
  async #checkMemberChange(
    actor: Actor,
    channelId: string,
    userId: string,
    next: Role | undefined,
  ): Promise<Role | undefined> {
    const channel = await this.#channel(channelId);
    const actorRole = await this.#role(channelId, actor.user.id, true);
    if (actor.system === true) {
      if (channel === undefined) throw new ParleyError('not_found', `no channel "${channelId}"`);
      if (channel.kind === 'dm')
        throw new ParleyError('forbidden', 'direct-message channels have fixed members');
    } else if (
      channel === undefined ||
      !canRead(channel.kind, actorRole) ||
      (channel.kind !== 'public' && !actorRole)
    ) {
      throw noAccess(channelId);
    }
    const targetRole = await this.#role(channelId, userId, true);
    if (
      actor.system !== true &&
      !canManageMember(
        channel.kind,
        { id: actor.user.id, role: actorRole },
        { id: userId, role: targetRole },
        next,
      )
    ) {
      throw new ParleyError(
        'forbidden',
        next === undefined
          ? `you may not remove members from "${channelId}"`
          : `you may not give that role in "${channelId}"`,
      );
    }
    return targetRole;
  }

  /** Removes a user from a channel (or the caller leaves it); their subscriptions end at once. */
  async removeMember(session: Actor, channelId: string, userId: string): Promise<MemberFrame> {
    const targetRole = await this.#checkMemberChange(session, channelId, userId, undefined);
    if (targetRole === 'owner') await this.#keepAnOwner(channelId);
    if (!(await this.#store.removeMember(channelId, userId))) {
      throw new ParleyError('not_found', `that user is not a member of "${channelId}"`);
    }
    await this.#announceMember(channelId, userId, null, targetRole);
    return { type: 'member', channel: channelId, user_id: userId, role: null };
  }

  /** One message, as history shows it. */
  async getMessage(actor: Actor, channelId: string, id: string): Promise<Message> {
    await this.#access(actor, channelId);
    const message = await this.#store.getMessage(channelId, id);
    if (message === undefined) throw new ParleyError('not_found', 'no such message');
    return message;
  }

  /**
   * Edits a message (its author, while they may post; a system actor: any) and pushes
   * `message_edited` to the channel's subscribers.
   */
  async editMessage(actor: Actor, channelId: string, id: string, text: string): Promise<MessageEditedFrame> {
    if (text.length > this.#limits.maxMessageChars) {
      throw new ParleyError(
        'message_too_long',
        `message is ${text.length} characters; the limit is ${this.#limits.maxMessageChars}`,
      );
    }
    const { channel, role } = await this.#access(actor, channelId);
    const message = await this.#store.getMessage(channelId, id);
    if (message === undefined) throw new ParleyError('not_found', 'no such message');
    if (actor.system !== true) {
      if (!canEditMessage(channel.kind, role, message.user_id === actor.user.id)) {
        throw new ParleyError('forbidden', 'you may not edit that message');
      }
      if (channel.archived) throw new ParleyError('forbidden', `"${channelId}" is archived`);
    }
    const edited = await this.#store.editMessage(channelId, id, text);
    // A cached copy would show the old text: drop the channel's cache; reads go to the Store until
    // new commits fill it again.
    await this.#cache?.invalidate(channelId);
    const frame: MessageEditedFrame = {
      type: 'message_edited',
      channel: channelId,
      id,
      seq: edited.seq,
      text: edited.text,
      edited_at: edited.edited_at ?? Date.now(),
      by: actor.user.id,
    };
    await this.#toSubscribers(channelId, frame);
    return frame;
  }

  /**
   * Deletes a message (its author, or a channel admin/owner; a system actor: any): its text is
   * gone from storage and search. Pushes `message_deleted` to the channel's subscribers.
   */
  async deleteMessage(actor: Actor, channelId: string, id: string): Promise<MessageDeletedFrame> {
    const { channel, role } = await this.#access(actor, channelId);
    const message = await this.#store.getMessage(channelId, id);
    if (message === undefined) throw new ParleyError('not_found', 'no such message');
    if (actor.system !== true && !canDeleteMessage(channel.kind, role, message.user_id === actor.user.id)) {
      throw new ParleyError('forbidden', 'you may not delete that message');
    }
    const deleted = await this.#store.deleteMessage(channelId, id);
    await this.#cache?.invalidate(channelId);
    const frame: MessageDeletedFrame = {
      type: 'message_deleted',
      channel: channelId,
      id,
      seq: deleted.seq,
      by: actor.user.id,
    };
    await this.#toSubscribers(channelId, frame);
    return frame;
  }

  /**
   * The texts edits replaced in a message, oldest first; [] when it was never edited or is
   * deleted. Whoever may read the channel may read them, as they may read `edited_at`: every
   * reader was sent the old text and then its `message_edited`.
   */
  async messageVersions(actor: Actor, channelId: string, id: string): Promise<readonly MessageVersionView[]> {
    await this.#access(actor, channelId);
    const versions = await this.#store.messageVersions(channelId, id);
    return versions.map((v) => ({ version: v.version, text: v.text, edited_at: v.editedAt }));
  }

  /** Toggles the actor's reaction (who may post may react) and pushes `reaction` to subscribers. */
  async react(actor: Actor, channelId: string, id: string, emoji: string): Promise<ReactionFrame> {
    const access = await this.#access(actor, channelId);
    const { channel } = access;
    if (actor.system !== true) {
      const role = await this.#joinIfPublic(channel, actor.user.id, access.role);
      if (!canPost(channel.kind, role))
        throw new ParleyError('forbidden', `you may not react in "${channelId}"`);
      if (channel.archived) throw new ParleyError('forbidden', `"${channelId}" is archived`);
    }
    const { added, message } = await this.#store.toggleReaction(channelId, id, actor.user.id, emoji);
    await this.#cache?.invalidate(channelId);
    const frame: ReactionFrame = {
      type: 'reaction',
      channel: channelId,
      id,
      seq: message.seq,
      emoji,
      user_id: actor.user.id,
      added,
      count: message.reactions?.find((r) => r.emoji === emoji)?.count ?? 0,
    };
    await this.#toSubscribers(channelId, frame);
    return frame;
  }

  /** A thread: the root message and a page of its replies after `after`, ascending. */
  async thread(
    actor: Actor,
    channelId: string,
    rootId: string,
    options: { readonly after?: number | undefined; readonly limit?: number | undefined },
  ): Promise<{ readonly root: Message; readonly replies: readonly Message[]; readonly has_more: boolean }> {
    await this.#access(actor, channelId);
    const root = await this.#store.getMessage(channelId, rootId);
    if (root === undefined) throw new ParleyError('not_found', 'no such message');
    const limit = this.#pageSize(options.limit);
    const page = await this.#store.thread(channelId, rootId, options.after ?? 0, limit + 1);
    return { root, replies: page.slice(0, limit), has_more: page.length > limit };
  }

  /**
   * Full-text search over the channels the actor may read (or one of them), newest first, with
   * highlight ranges. `next_offset` is null on the last page.
   */
  async search(
    actor: Actor,
    query: {
      readonly text: string;
      readonly channel?: string | undefined;
      readonly limit?: number | undefined;
      readonly offset?: number | undefined;
    },
  ): Promise<{ readonly results: readonly SearchHit[]; readonly next_offset: number | null }> {
    const terms = searchTerms(query.text);
    if (terms.length === 0) throw new ParleyError('bad_request', 'search for at least one word');
    const limit = Math.min(Math.max(query.limit ?? 20, 1), this.#limits.searchPageMax);
    const offset = query.offset ?? 0;
    if (offset > this.#limits.searchOffsetMax) {
      throw new ParleyError('bad_request', `offset must not exceed ${this.#limits.searchOffsetMax}`);
    }
    let channelIds: string[];
    if (query.channel !== undefined) {
      await this.#access(actor, query.channel);
      channelIds = [query.channel];
    } else {
      const visible = await this.#store.listChannelsFor(actor.user.id);
      channelIds = visible.filter((c) => canRead(c.kind, c.role ?? undefined)).map((c) => c.id);
    }
    const found = await this.#store.search({ channelIds, text: query.text, limit: limit + 1, offset });
    return {
      results: found.slice(0, limit).map((message) => ({
        message,
        highlights: highlightRanges(message.text, terms),
      })),
      next_offset: found.length > limit ? offset + limit : null,
    };
  }

  /**
   * Moves the actor's read position in a channel forward (to at most its last seq) and pushes
   * `read_position` to every connection of the user.
   */
  async markRead(actor: Actor, channelId: string, seq: number): Promise<ReadPositionFrame> {
    await this.#access(actor, channelId);
    const state = await this.#store.getChannel(channelId);
    if (state === undefined) throw noAccess(channelId);
    const stored = await this.#store.setReadPosition(channelId, actor.user.id, Math.min(seq, state.lastSeq));
    const frame: ReadPositionFrame = { type: 'read_position', channel: channelId, seq: stored };
    await this.#bus.publish(CONTROL_TOPIC, { kind: 'user', userId: actor.user.id, frame });
    return frame;
  }

  /** The actor's channels and the public ones to join, by id, with unread and mention counts. */
  async listChannels(actor: Actor): Promise<readonly ChannelDetail[]> {
    const rows = await this.#store.listChannelsFor(actor.user.id);
    const positions = await this.#store.readPositions(actor.user.id);
    const counts = await this.#store.unreadCounts(
      actor.user.id,
      actor.user.username,
      rows.filter((r) => r.role !== null).map((r) => ({ channelId: r.id, after: positions.get(r.id) ?? 0 })),
      this.#limits.unreadCountMax,
    );
    return Promise.all(
      rows.map(async (row) => {
        const title = row.kind === 'dm' ? await this.#title(row, actor.user.id) : row.title;
        return detail(row, title, row.role, positions.get(row.id) ?? 0, counts.get(row.id));
      }),
    );
  }

  /** One channel as the actor sees it (refused exactly like a missing one when not readable). */
  async getChannel(actor: Actor, channelId: string): Promise<ChannelDetail> {
    const { role } = await this.#access(actor, channelId);
    const row = await this.#store.getChannel(channelId);
    if (row === undefined) throw noAccess(channelId);
    const last = (await this.#store.readPositions(actor.user.id)).get(channelId) ?? 0;
    const counts =
      role === undefined
        ? undefined
        : (
            await this.#store.unreadCounts(
              actor.user.id,
              actor.user.username,
              [{ channelId, after: last }],
              this.#limits.unreadCountMax,
            )
          ).get(channelId);
    const title = await this.#title(row, actor.user.id);
    return detail(row, title, role ?? null, last, counts);
  }

  /**
   * Renames, describes, archives or unarchives a channel (see `canUpdateChannel`); every node
   * forgets its cached copy and subscribers get `channel_updated`.
   */
  async updateChannel(actor: Actor, channelId: string, patch: ChannelPatch): Promise<ChannelDetail> {
    const { channel, role } = await this.#access(actor, channelId);
    if (actor.system !== true && !canUpdateChannel(channel.kind, role, patch.archived !== undefined)) {
      throw new ParleyError('forbidden', `you may not change "${channelId}"`);
    }
    if (channel.kind === 'dm')
      throw new ParleyError('forbidden', 'direct-message channels cannot be changed');
    const updated = await this.#store.updateChannel(channelId, patch);
    this.#channels.delete(channelId);
    await this.#bus.publish(CONTROL_TOPIC, { kind: 'channel', channel: channelId });
    const frame: ChannelUpdatedFrame = {
      type: 'channel_updated',
      channel: channelId,
      title: updated.title,
      topic: updated.topic,
      archived: updated.archived,
    };
    await this.#toSubscribers(channelId, frame);
    return detail(updated, updated.title, role ?? null, 0, undefined);
  }

  /** The channel's members (anyone who may read the channel may list them). */
  async listMembers(actor: Actor, channelId: string): Promise<readonly StoredMember[]> {
    await this.#access(actor, channelId);
    return this.#store.listMembers(channelId);
  }

  /** Makes sure a user seen through a token (HTTP) exists, as `sessionOpened` does for sockets. */
  async userSeen(user: UserInfo): Promise<void> {
    await this.#store.upsertUser({ id: user.id, username: user.username });
  }

  /** Closes every connection of the user on every node (close code 4503). */
  async disconnectUser(userId: string, reason: string): Promise<void> {
    await this.#bus.publish(CONTROL_TOPIC, { kind: 'kick', userId, reason });
  }

  /** Stops the offline timers (webhooks for users still in their grace period are not sent). */
  close(): void {
    for (const timer of this.#goingOffline.values()) clearTimeout(timer);
    this.#goingOffline.clear();
  }

  async #toSubscribers(channelId: string, frame: ServerFrame): Promise<void> {
    await this.#bus.publish(channelTopic(channelId), { kind: 'frame', channel: channelId, frame });
  }

  /**
   * The channel and the actor's role, or the same refusal as for a missing channel when the
   * actor may not read it. System actors read every channel.
   */
  async #access(actor: Actor, channelId: string): Promise<{ channel: ChannelMeta; role: Role | undefined }> {
    const channel = await this.#channel(channelId);
    if (actor.system === true) {
      if (channel === undefined) throw new ParleyError('not_found', `no channel "${channelId}"`);
      return { channel, role: undefined };
    }
    const role = await this.#role(channelId, actor.user.id);
    if (channel === undefined || !canRead(channel.kind, role)) throw noAccess(channelId);
    return { channel, role };
  }

  #pageSize(requested: number | undefined): number {
    return Math.min(Math.max(requested ?? this.#limits.historyDefault, 1), this.#limits.historyPageMax);
  }

  /** Handles a control event from the bus (from this node or another). */
  onControl(event: BusEvent): void {
    if (event.kind === 'member') {
      this.#roles.delete(roleKey(event.channel, event.userId));
      for (const session of this.#sessionsOf(event.userId)) {
        session.send({ type: 'member', channel: event.channel, user_id: event.userId, role: event.role });
        if (event.role !== null) continue;
        const sub = session.subscriptions.get(event.channel);
        if (sub === undefined) continue;
        void this.#channel(event.channel).then((meta) => {
          // Public channels stay readable to non-members: only private ones and DMs close.
          if (meta !== undefined && meta.kind === 'public') return;
          session.send({ type: 'unsubscribed', channel: event.channel, reason: 'removed' });
          return this.#endSubscription(session, sub);
        });
      }
    } else if (event.kind === 'kick') {
      for (const session of this.#sessionsOf(event.userId)) session.close(CloseCode.Kicked, event.reason);
    } else if (event.kind === 'user') {
      for (const session of this.#sessionsOf(event.userId)) session.send(event.frame);
    } else if (event.kind === 'channel') {
      this.#channels.delete(event.channel);
    }
  }

  async #announceMember(
    channelId: string,
    userId: string,
    role: Role | null,
    previous: Role | undefined,
  ): Promise<void> {
    this.#roles.delete(roleKey(channelId, userId));
    await this.#bus.publish(CONTROL_TOPIC, { kind: 'member', channel: channelId, userId, role });
    if (role !== previous)
      this.#notify(() => this.#observer.memberChanged?.(channelId, userId, role, previous));
  }

  async #endSubscription(session: Session, sub: Subscription): Promise<void> {
    if (session.subscriptions.get(sub.channel) === sub) session.subscriptions.delete(sub.channel);
    session.typingAt.delete(sub.channel);
    this.#hub.unsubscribe(sub);
    try {
      const left = await this.#presence.leave(sub.channel, session.id);
      // Told while the channel, the user included, had at most presenceMax users online.
      if (left !== undefined && (await this.#presence.count(sub.channel)) < this.#limits.presenceMax) {
        await this.#bus.publish(channelTopic(sub.channel), {
          kind: 'presence',
          channel: sub.channel,
          event: 'leave',
          user: left,
        });
      }
    } catch (err) {
      this.#observer.error(err, 'presence leave');
    }
  }

  // Above presenceMax users online a channel's joins and leaves are not broadcast and the
  // joiner gets no list: otherwise n users joining cost n² frames and n lists of n users.
  async #presenceJoin(
    channelId: string,
    session: Session,
  ): Promise<{ readonly users: readonly UserInfo[]; readonly count: number }> {
    const first = await this.#presence.join(channelId, session.id, session.user);
    const count = await this.#presence.count(channelId);
    if (count > this.#limits.presenceMax) return { users: [session.user], count };
    if (first) {
      await this.#bus.publish(channelTopic(channelId), {
        kind: 'presence',
        channel: channelId,
        event: 'join',
        user: session.user,
      });
    }
    return { users: await this.#presence.list(channelId), count };
  }

  async #keepAnOwner(channelId: string): Promise<void> {
    const owners = (await this.#store.listMembers(channelId)).filter((m) => m.role === 'owner');
    if (owners.length <= 1) {
      throw new ParleyError('conflict', 'a channel keeps at least one owner; make someone else owner first');
    }
  }

  async #joinIfPublic(
    channel: ChannelMeta,
    userId: string,
    role: Role | undefined,
  ): Promise<Role | undefined> {
    if (!joinsOnUse(channel.kind, role)) return role;
    await this.#store.setMember(channel.id, userId, 'member');
    this.#setRole(channel.id, userId, 'member');
    return 'member';
  }

  async #requireRead(session: Session, channelId: string): Promise<ChannelMeta> {
    const channel = await this.#channel(channelId);
    const role = await this.#role(channelId, session.user.id);
    if (channel === undefined || !canRead(channel.kind, role)) throw noAccess(channelId);
    return channel;
  }

  #historySize(requested: number | undefined): number {
    return Math.min(requested ?? this.#limits.historyDefault, this.#limits.historyPageMax);
  }

  async #title(channel: ChannelMeta, viewer: string): Promise<string> {
    if (channel.kind !== 'dm') return channel.title;
    const members = await this.#store.listMembers(channel.id);
    const other = members.find((m) => m.userId !== viewer) ?? members[0];
    return other?.username ?? channel.title;
  }

  async #channel(id: string): Promise<ChannelMeta | undefined> {
    const cached = this.#channels.get(id);
    if (cached !== undefined) return cached;
    const found = await this.#store.getChannel(id);
    if (found === undefined) return undefined;
    if (this.#channels.size >= CACHE_MAX) this.#channels.clear();
    const meta: ChannelMeta = {
      id: found.id,
      kind: found.kind,
      title: found.title,
      epoch: found.epoch,
      archived: found.archived,
    };
    this.#channels.set(id, meta);
    return meta;
  }

  // Roles are cached per node and invalidated by `member` events on the bus; the TTL bounds
  // the damage of a lost bus event. Membership changes read through (`fresh`).
  async #role(channelId: string, userId: string, fresh = false): Promise<Role | undefined> {
    const key = roleKey(channelId, userId);
    const cached = this.#roles.get(key);
    if (!fresh && cached !== undefined && Date.now() - cached.at < ROLE_TTL_MS) return cached.role;
    const role = await this.#store.getRole(channelId, userId);
    this.#setRole(channelId, userId, role);
    return role;
  }

  #setRole(channelId: string, userId: string, role: Role | undefined): void {
    if (this.#roles.size >= CACHE_MAX) this.#roles.clear();
    this.#roles.set(roleKey(channelId, userId), { role, at: Date.now() });
  }
}

function detail(
  row: StoredChannel,
  title: string,
  role: Role | null,
  lastRead: number,
  counts: { readonly unread: number; readonly mentions: number } | undefined,
): ChannelDetail {
  return {
    id: row.id,
    kind: row.kind,
    title,
    topic: row.topic,
    archived: row.archived,
    role,
    last_seq: row.lastSeq,
    last_read_seq: lastRead,
    unread: counts?.unread ?? 0,
    mentions: counts?.mentions ?? 0,
  };
}

function roleKey(channelId: string, userId: string): string {
  return `${channelId}\u0000${userId}`;
}

/** The stable id of the direct-message channel between two users (the same from either side). */
export function dmChannelId(a: string, b: string): string {
  const [x, y] = a < b ? [a, b] : [b, a];
  return `dm:${createHash('sha256').update(`${x}\u0000${y}`).digest('base64url').slice(0, 32)}`;
}
