import { createHash } from 'node:crypto';
import { CloseCode } from '../../protocol/close-codes.js';
import { ParleyError } from '../../protocol/error-catalogue.js';
import type {
  AckFrame,
  ChannelCreateFrame,
  ChannelFrame,
  ChannelInfo,
  HistoryFrame,
  HistoryPageFrame,
  MemberFrame,
  Message,
  PresenceListFrame,
  PublishFrame,
  Role,
  SubscribedFrame,
  SubscribeFrame,
  UserInfo,
} from '../../protocol/frames.js';
import { type Bus, type BusEvent, CONTROL_TOPIC, channelTopic } from '../bus/bus.js';
import type { Limits } from '../config.js';
import type { Hub, Subscription } from '../hub.js';
import type { Presence } from '../presence/presence.js';
import type { AppendResult, Store, StoredChannel } from '../store/store.js';
import { canManageMember, canPost, canRead, joinsOnUse } from './permissions.js';
import type { Session } from './session.js';
import { TokenBucket } from './token-bucket.js';

/** What ChatService reports to logs and metrics. */
export interface ChatObserver {
  error(err: unknown, what: string): void;
}

type ChannelMeta = Pick<StoredChannel, 'id' | 'kind' | 'title' | 'epoch'>;

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
  readonly #sessions = new Map<string, Set<Session>>();
  readonly #channels = new Map<string, ChannelMeta>();
  readonly #roles = new Map<string, { readonly role: Role | undefined; readonly at: number }>();
  // Per user, shared by all their connections on this node.
  readonly #publishBuckets = new Map<string, TokenBucket>();

  constructor(deps: {
    readonly store: Store;
    readonly bus: Bus;
    readonly hub: Hub;
    readonly presence: Presence;
    readonly limits: Limits;
    readonly observer: ChatObserver;
  }) {
    this.#store = deps.store;
    this.#bus = deps.bus;
    this.#hub = deps.hub;
    this.#presence = deps.presence;
    this.#limits = deps.limits;
    this.#observer = deps.observer;
  }

  /** Number of sessions on this node. */
  get sessionCount(): number {
    let n = 0;
    for (const set of this.#sessions.values()) n += set.size;
    return n;
  }

  /** Records a newly authenticated session and makes sure its user exists in the Store. */
  async sessionOpened(session: Session): Promise<void> {
    await this.#store.upsertUser({ id: session.user.id, username: session.user.username });
    let set = this.#sessions.get(session.user.id);
    if (set === undefined) {
      set = new Set();
      this.#sessions.set(session.user.id, set);
      // A bucket outlives the user's connections until it refills: reconnecting does not reset it.
      if (!this.#publishBuckets.has(session.user.id)) {
        this.#pruneIdleBuckets();
        this.#publishBuckets.set(
          session.user.id,
          new TokenBucket(this.#limits.publishPerSecond, this.#limits.publishBurst),
        );
      }
    }
    set.add(session);
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
    const set = this.#sessions.get(session.user.id);
    if (set !== undefined) {
      set.delete(session);
      if (set.size === 0) {
        this.#sessions.delete(session.user.id);
        if (this.#publishBuckets.get(session.user.id)?.isFull()) this.#publishBuckets.delete(session.user.id);
      }
    }
    await Promise.all([...session.subscriptions.values()].map((sub) => this.#endSubscription(session, sub)));
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
          messages = gap === 0 ? [] : await this.#store.after(channel.id, since, gap);
          recovered = true;
        } else {
          messages = await this.#store.latest(channel.id, this.#historySize(frame.history));
        }
      } else {
        messages = await this.#store.latest(channel.id, this.#historySize(frame.history));
      }
      const lastSeq = Math.max(state.lastSeq, messages.at(-1)?.seq ?? 0);
      if (since === undefined) recovered = true;

      const presence = await this.#presenceJoin(channel.id, session);
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
        presence,
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
    if (frame.text.length > this.#limits.maxMessageChars) {
      throw new ParleyError(
        'message_too_long',
        `message is ${frame.text.length} characters; the limit is ${this.#limits.maxMessageChars}`,
      );
    }
    const bucket = this.#publishBuckets.get(session.user.id);
    if (bucket !== undefined && !bucket.take()) {
      const retry = bucket.retryAfterMs();
      throw new ParleyError('rate_limited', 'publishing too fast', { details: { retry_after_ms: retry } });
    }
    const channel = await this.#channel(frame.channel);
    let role = await this.#role(frame.channel, session.user.id);
    if (channel === undefined || !canRead(channel.kind, role)) throw noAccess(frame.channel);
    role = await this.#joinIfPublic(channel, session.user.id, role);
    if (!canPost(channel.kind, role)) {
      throw new ParleyError('forbidden', `you may not post in "${frame.channel}"`);
    }
    const appended = this.#store.append({
      channelId: channel.id,
      userId: session.user.id,
      username: session.user.username,
      text: frame.text,
      clientMsgId: frame.client_msg_id,
    });
    return { committed: appended.then((result) => this.#acked(session, frame, result)) };
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
    // Published again for a duplicate too: if the first attempt's fan-out was lost (a crash
    // between commit and publish), this delivers it; hubs drop the repeat otherwise.
    this.#bus
      .publish(channelTopic(message.channel), { kind: 'message', message })
      .catch((err) => this.#observer.error(err, 'bus publish'));
  }

  /** A page of history, before or after a seq (the latest page when neither is given). */
  async history(session: Session, frame: HistoryFrame): Promise<HistoryPageFrame> {
    await this.#requireRead(session, frame.channel);
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
  async createChannel(session: Session, frame: ChannelCreateFrame): Promise<ChannelFrame> {
    const kind = frame.private === true ? 'private' : 'public';
    const created = await this.#store.createChannel({
      id: frame.channel,
      kind,
      title: frame.title ?? frame.channel,
      owner: session.user.id,
    });
    this.#setRole(created.id, session.user.id, 'owner');
    return { type: 'channel', channel: { id: created.id, kind, title: created.title, role: 'owner' } };
  }

  /** Opens (creating when needed) the direct-message channel between the caller and a user. */
  async openDm(session: Session, otherId: string): Promise<ChannelFrame> {
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
    }
    this.#setRole(id, session.user.id, 'member');
    const info: ChannelInfo = { id, kind: 'dm', title: other.username, role: 'member' };
    return { type: 'channel', channel: info };
  }

  /** Adds a user to a channel or changes their role. */
  async setMember(session: Session, channelId: string, userId: string, role: Role): Promise<MemberFrame> {
    const channel = await this.#channel(channelId);
    const actorRole = await this.#role(channelId, session.user.id, true);
    if (
      channel === undefined ||
      !canRead(channel.kind, actorRole) ||
      (channel.kind !== 'public' && !actorRole)
    ) {
      throw noAccess(channelId);
    }
    const targetRole = await this.#role(channelId, userId, true);
    if (
      !canManageMember(
        channel.kind,
        { id: session.user.id, role: actorRole },
        { id: userId, role: targetRole },
        role,
      )
    ) {
      throw new ParleyError('forbidden', `you may not give that role in "${channelId}"`);
    }
    if ((await this.#store.getUser(userId)) === undefined) throw new ParleyError('not_found', 'no such user');
    if (targetRole === 'owner' && role !== 'owner') await this.#keepAnOwner(channelId);
    await this.#store.setMember(channelId, userId, role);
    await this.#announceMember(channelId, userId, role);
    return { type: 'member', channel: channelId, user_id: userId, role };
  }

  /** Removes a user from a channel (or the caller leaves it); their subscriptions end at once. */
  async removeMember(session: Session, channelId: string, userId: string): Promise<MemberFrame> {
    const channel = await this.#channel(channelId);
    const actorRole = await this.#role(channelId, session.user.id, true);
    if (
      channel === undefined ||
      !canRead(channel.kind, actorRole) ||
      (channel.kind !== 'public' && !actorRole)
    ) {
      throw noAccess(channelId);
    }
    const targetRole = await this.#role(channelId, userId, true);
    if (
      !canManageMember(
        channel.kind,
        { id: session.user.id, role: actorRole },
        { id: userId, role: targetRole },
        undefined,
      )
    ) {
      throw new ParleyError('forbidden', `you may not remove members from "${channelId}"`);
    }
    if (targetRole === 'owner') await this.#keepAnOwner(channelId);
    if (!(await this.#store.removeMember(channelId, userId))) {
      throw new ParleyError('not_found', `that user is not a member of "${channelId}"`);
    }
    await this.#announceMember(channelId, userId, null);
    return { type: 'member', channel: channelId, user_id: userId, role: null };
  }

  /** Handles a control event from the bus (from this node or another). */
  onControl(event: BusEvent): void {
    if (event.kind === 'member') {
      this.#roles.delete(roleKey(event.channel, event.userId));
      const sessions = this.#sessions.get(event.userId);
      if (sessions === undefined) return;
      for (const session of sessions) {
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
      for (const session of this.#sessions.get(event.userId) ?? [])
        session.close(CloseCode.Kicked, event.reason);
    }
  }

  async #announceMember(channelId: string, userId: string, role: Role | null): Promise<void> {
    this.#roles.delete(roleKey(channelId, userId));
    await this.#bus.publish(CONTROL_TOPIC, { kind: 'member', channel: channelId, userId, role });
  }

  async #endSubscription(session: Session, sub: Subscription): Promise<void> {
    if (session.subscriptions.get(sub.channel) === sub) session.subscriptions.delete(sub.channel);
    session.typingAt.delete(sub.channel);
    this.#hub.unsubscribe(sub);
    try {
      const left = await this.#presence.leave(sub.channel, session.id);
      if (left !== undefined) {
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

  async #presenceJoin(channelId: string, session: Session): Promise<readonly UserInfo[]> {
    const first = await this.#presence.join(channelId, session.id, session.user);
    if (first) {
      await this.#bus.publish(channelTopic(channelId), {
        kind: 'presence',
        channel: channelId,
        event: 'join',
        user: session.user,
      });
    }
    return this.#presence.list(channelId);
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
    const meta: ChannelMeta = { id: found.id, kind: found.kind, title: found.title, epoch: found.epoch };
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

function roleKey(channelId: string, userId: string): string {
  return `${channelId}\u0000${userId}`;
}

/** The stable id of the direct-message channel between two users (the same from either side). */
export function dmChannelId(a: string, b: string): string {
  const [x, y] = a < b ? [a, b] : [b, a];
  return `dm:${createHash('sha256').update(`${x}\u0000${y}`).digest('base64url').slice(0, 32)}`;
}
