import { ParleyError } from '../../protocol/error-catalogue.js';
import type { ChannelKind, Message, Role } from '../../protocol/frames.js';
import { type Bus, channelTopic } from '../bus/bus.js';
import type { HistoryCache } from '../cache/history-cache.js';
import type { Limits } from '../config.js';
import type { Presence, PresenceUser } from '../presence/presence.js';
import type { Store } from '../store/store.js';
import { type Access, bannedError, noAccess } from './access.js';
import type { ChatObserver } from './chat-observer.js';
import type { DebugTap } from './debug-tap.js';
import type { Hub, Subscription } from './hub.js';
import { canPost, canRead } from './permissions.js';
import type { Session } from './session.js';
import { notify } from './sessions.js';

/** A subscription request. */
export interface SubscribeInput {
  readonly channel: string;
  /** How many of the latest messages to send (default and cap: the history limits). */
  readonly history?: number | undefined;
  /** Resume: send every message after this seq instead of the latest. */
  readonly since?: number | undefined;
  /** The channel epoch `since` was read in; another epoch means the seqs restarted. */
  readonly epoch?: string | undefined;
}

/** How a wire subscribes a session when it has its own proof of access. */
export interface SubscribeOptions {
  /**
   * The wire has proved the session may read the channel (Pusher's signed channel auth): no
   * role is checked and no membership written. The channel must exist.
   */
  readonly authorized?: boolean;
  /**
   * Who the session is online as in this channel: its user by default, another identity
   * (Pusher's `channel_data`), or null for no presence at all (Pusher's public and private
   * channels).
   */
  readonly presenceAs?: PresenceUser | null;
  /**
   * Count this subscription in the channel's subscriptions across nodes (`occupancy`), and
   * report the channel occupied and vacated (Pusher's `subscription_count` and webhooks).
   */
  readonly counted?: boolean;
}

/** How many subscribe to a channel across nodes. */
export interface Occupancy {
  /** Counted subscriptions (connections). */
  readonly subscriptions: number;
  /** Users online. */
  readonly users: number;
}

// The presence key counted subscriptions are kept under: a space is in no channel id.
const countKey = (channel: string) => `#subs ${channel}`;

/** What a new subscription starts from, announced to the subscriber before any live event. */
export interface Subscribed {
  readonly channel: string;
  readonly kind: ChannelKind;
  readonly title: string;
  readonly role: Role | null;
  readonly epoch: string;
  readonly last_seq: number;
  /** True when `messages` are everything after `since` (or no `since` was given). */
  readonly recovered: boolean;
  readonly messages: readonly Message[];
  /** Who is online (only the subscriber when more than the presence limit are). */
  readonly presence: readonly PresenceUser[];
  readonly presence_count: number;
}

interface SubscriptionsDeps {
  readonly store: Store;
  readonly bus: Bus;
  readonly hub: Hub;
  readonly presence: Presence;
  readonly limits: Limits;
  readonly observer: ChatObserver;
  readonly access: Access;
  readonly cache: HistoryCache | undefined;
  /** The admin console's tap (#17). */
  readonly tap?: DebugTap | undefined;
}

/**
 * Subscriptions with resume: history (or everything after a seq) and then live events with no
 * gap and no repeat between the two; presence and typing of the channels subscribed to.
 */
export class Subscriptions {
  readonly #d: SubscriptionsDeps;

  constructor(deps: SubscriptionsDeps) {
    this.#d = deps;
  }

  /**
   * Subscribes the session. `announce` gets the starting state and must write it to the
   * subscriber at once: it is called before the first live event of the subscription is.
   * No channel event is lost between the request and the reply: the subscription is registered
   * before anything is read, and every event from then on is either reflected in the state
   * (the presence list drops the presence events that came before it was read) or delivered
   * after the reply, in the order it came (messages by seq, once). At most the hub's
   * `pendingMax` are held; beyond it the session is closed as a slow consumer.
   */
  async subscribe(
    session: Session,
    input: SubscribeInput,
    announce: (state: Subscribed) => void,
    options: SubscribeOptions = {},
  ): Promise<void> {
    const { access, limits, hub, store } = this.#d;
    if (session.subscriptions.has(input.channel)) {
      throw new ParleyError('conflict', `already subscribed to "${input.channel}"`, {
        details: { channel: input.channel },
      });
    }
    if (session.subscriptions.size >= limits.maxSubscriptions) {
      throw new ParleyError(
        'rate_limited',
        `at most ${limits.maxSubscriptions} subscriptions per connection`,
      );
    }
    // Before the access checks: an event that comes while they run (a channel update, a typing
    // user) is held too. Nothing held reaches the session unless they pass.
    const sub = await hub.subscribe(input.channel, session);
    sub.authorized = options.authorized === true;
    if (session.subscriptions.has(input.channel)) {
      // Another subscribe to this channel, sent before this one's reply, registered first.
      hub.unsubscribe(sub);
      throw new ParleyError('conflict', `already subscribed to "${input.channel}"`, {
        details: { channel: input.channel },
      });
    }
    session.subscriptions.set(input.channel, sub);
    let joined = false;
    try {
      const channel = await access.channel(input.channel);
      let role: Role | undefined;
      if (options.authorized !== true) {
        role = await access.role(input.channel, session.user.id);
        if (channel === undefined || !canRead(channel.kind, role)) throw noAccess(input.channel);
        if (await access.banned(channel.id, session.user.id)) throw bannedError(channel.id);
        role = await access.joinIfPublic(channel, session.user.id, role);
      } else if (channel === undefined) {
        throw noAccess(input.channel);
      } else {
        // A wire's own proof (Pusher's signature) does not lift a ban of its user.
        for (const user of [session.user.id, options.presenceAs?.id]) {
          if (user !== undefined && (await access.banned(channel.id, user))) throw bannedError(channel.id);
        }
      }

      const state = await store.getChannel(channel.id);
      if (state === undefined) throw noAccess(input.channel);
      let messages: readonly Message[];
      let recovered = false;
      const since = input.since;
      // Without an epoch the client vouches for `since` (e.g. `parley listen --since N`).
      const sameEpoch = input.epoch === undefined || input.epoch === state.epoch;
      // A resume from before what retention kept cannot be served whole (issue 17).
      if (since !== undefined && sameEpoch && since <= state.lastSeq && since >= state.prunedSeq) {
        const gap = state.lastSeq - since;
        if (gap <= limits.resumeMaxGap) {
          messages =
            gap === 0
              ? []
              : ((await this.#d.cache?.range(channel.id, since, state.lastSeq)) ??
                (await store.after(channel.id, since, gap)));
          recovered = true;
        } else {
          messages = await this.#latest(channel.id, state.lastSeq, this.#historySize(input.history));
        }
      } else {
        messages = await this.#latest(channel.id, state.lastSeq, this.#historySize(input.history));
      }
      // A cache may still hold messages retention pruned since it got them.
      if (state.prunedSeq > 0 && (messages[0]?.seq ?? Number.POSITIVE_INFINITY) <= state.prunedSeq) {
        messages = messages.filter((m) => m.seq > state.prunedSeq);
      }
      const lastSeq = Math.max(state.lastSeq, messages.at(-1)?.seq ?? 0);
      if (since === undefined) recovered = true;

      joined = true;
      if (options.counted === true) await this.#count(session, sub);
      const as = options.presenceAs === undefined ? session.user : options.presenceAs;
      const online = as === null ? { users: [], count: 0 } : await this.#presenceJoin(sub, session, as);
      // The session closed (or unsubscribed) while its history was read: undo the join.
      if (sub.closed) throw new ParleyError('conflict', `subscription to "${channel.id}" ended`);
      announce({
        channel: channel.id,
        kind: channel.kind,
        title: await access.title(channel, session.user.id),
        role: role ?? null,
        epoch: state.epoch,
        last_seq: lastSeq,
        recovered,
        messages,
        presence: online.users,
        presence_count: online.count,
      });
      await hub.activate(sub, lastSeq);
      const tap = this.#d.tap;
      if (tap?.on === true)
        tap.record('subscribe', `${session.encoder.wire} ${session.id}`, channel.id, session.user.id);
    } catch (err) {
      // Before the presence join there is nothing to undo but the registration.
      if (joined) await this.end(session, sub);
      else this.#detach(session, sub);
      throw err;
    }
  }

  /** Ends the session's subscription to a channel (membership is kept). */
  async unsubscribe(session: Session, channelId: string): Promise<void> {
    const sub = session.subscriptions.get(channelId);
    if (sub === undefined) throw new ParleyError('not_found', `not subscribed to "${channelId}"`);
    await this.end(session, sub);
  }

  /** Ends every subscription of a closed session and announces who left. */
  async endAll(session: Session): Promise<void> {
    await Promise.all([...session.subscriptions.values()].map((sub) => this.end(session, sub)));
  }

  /** Ends one subscription, and announces a leave when it was the user's last here. */
  async end(session: Session, sub: Subscription): Promise<void> {
    const { presence, limits, bus, tap } = this.#d;
    if (tap?.on === true)
      tap.record('unsubscribe', `${session.encoder.wire} ${session.id}`, sub.channel, session.user.id);
    this.#detach(session, sub);
    try {
      const left = await presence.leave(sub.channel, session.id);
      // Told while the channel, the user included, had at most presenceMax users online.
      if (left !== undefined && (await presence.count(sub.channel)) < limits.presenceMax) {
        await bus.publish(channelTopic(sub.channel), {
          kind: 'presence',
          channel: sub.channel,
          event: 'leave',
          user: left,
        });
        notify(this.#d.observer, () => this.#d.observer.presenceChanged?.(sub.channel, 'leave', left));
      }
      if (sub.counted) {
        sub.counted = false;
        await presence.leave(countKey(sub.channel), session.id);
        if ((await presence.count(countKey(sub.channel))) === 0) {
          notify(this.#d.observer, () => this.#d.observer.occupancyChanged?.(sub.channel, false));
        }
      }
    } catch (err) {
      this.#d.observer.error(err, 'presence leave');
    }
  }

  /** Relays "typing" to the channel's other subscribers, at most once per interval. */
  async typing(session: Session, channelId: string): Promise<void> {
    const { access, limits, bus } = this.#d;
    if (!session.subscriptions.has(channelId)) {
      throw new ParleyError('bad_request', `subscribe to "${channelId}" before sending typing`);
    }
    const now = Date.now();
    const last = session.typingAt.get(channelId);
    // Extra typing events are dropped silently: they carry no information.
    if (last !== undefined && now - last < limits.typingIntervalMs) return;
    session.typingAt.set(channelId, now);
    const channel = await access.channel(channelId);
    const role = await access.role(channelId, session.user.id);
    if (channel === undefined || !canPost(channel.kind, role)) {
      throw new ParleyError('forbidden', `you may not post in "${channelId}"`);
    }
    await bus.publish(channelTopic(channelId), { kind: 'typing', channel: channelId, user: session.user });
  }

  /** Who is online in a channel. */
  async presence(session: Session, channelId: string): Promise<readonly PresenceUser[]> {
    await this.#d.access.check(session, channelId);
    return this.#d.presence.list(channelId);
  }

  /**
   * Relays an ephemeral signal from a subscriber to the channel's other subscribers (Pusher's
   * client events; the wire checks who may send them).
   */
  async signal(
    session: Session,
    channelId: string,
    name: string,
    data: string,
    userId?: string,
  ): Promise<void> {
    if (!session.subscriptions.has(channelId)) {
      throw new ParleyError('bad_request', `subscribe to "${channelId}" before sending to it`);
    }
    await this.#d.bus.publish(channelTopic(channelId), {
      kind: 'signal',
      channel: channelId,
      name,
      data,
      user_id: userId,
      from: session.id,
    });
  }

  /** How many subscribe to a channel across nodes (counted subscriptions) and how many users are online in it. */
  async occupancy(channelId: string): Promise<Occupancy> {
    const { presence } = this.#d;
    const [subscriptions, users] = await Promise.all([
      presence.count(countKey(channelId)),
      presence.count(channelId),
    ]);
    return { subscriptions, users };
  }

  /** The users online in a channel, without an access check (for the app's own server). */
  async online(channelId: string): Promise<readonly PresenceUser[]> {
    return this.#d.presence.list(channelId);
  }

  // Takes the subscription off the session and the hub.
  #detach(session: Session, sub: Subscription): void {
    if (session.subscriptions.get(sub.channel) === sub) session.subscriptions.delete(sub.channel);
    session.typingAt.delete(sub.channel);
    this.#d.hub.unsubscribe(sub);
  }

  // Counts the subscription (each connection once), and reports the channel occupied when it is
  // the first. Two nodes counting the first two at once may both see two: occupancy is exact
  // only up to such races (docs/pusher.md).
  async #count(session: Session, sub: Subscription): Promise<void> {
    const { presence } = this.#d;
    sub.counted = true;
    await presence.join(countKey(sub.channel), session.id, { id: session.id, username: '' });
    if ((await presence.count(countKey(sub.channel))) === 1)
      notify(this.#d.observer, () => this.#d.observer.occupancyChanged?.(sub.channel, true));
  }

  // Above presenceMax users online a channel's joins and leaves are not broadcast and the
  // joiner gets no list: otherwise n users joining cost n² frames and n lists of n users.
  async #presenceJoin(
    sub: Subscription,
    session: Session,
    as: PresenceUser,
  ): Promise<{ readonly users: readonly PresenceUser[]; readonly count: number }> {
    const { presence, limits, bus, hub } = this.#d;
    const channelId = sub.channel;
    const first = await presence.join(channelId, session.id, as);
    const count = await presence.count(channelId);
    if (count > limits.presenceMax) return { users: [as], count };
    if (first) {
      await bus.publish(channelTopic(channelId), {
        kind: 'presence',
        channel: channelId,
        event: 'join',
        user: as,
      });
      notify(this.#d.observer, () => this.#d.observer.presenceChanged?.(channelId, 'join', as));
    }
    // The list reflects every presence change whose event came before it is read (each is
    // published after the change), this subscription's own join among them.
    hub.forgetPending(sub, 'presence');
    return { users: await presence.list(channelId), count };
  }

  // The newest `n` messages up to `lastSeq`, from the cache when it holds them all.
  async #latest(channelId: string, lastSeq: number, n: number): Promise<readonly Message[]> {
    const cached = await this.#d.cache?.range(channelId, Math.max(0, lastSeq - n), lastSeq);
    return cached ?? this.#d.store.latest(channelId, n);
  }

  #historySize(requested: number | undefined): number {
    return Math.min(requested ?? this.#d.limits.historyDefault, this.#d.limits.historyPageMax);
  }
}
