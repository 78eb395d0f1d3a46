import { ParleyError } from '../../protocol/error-catalogue.js';
import type { UserInfo } from '../../protocol/frames.js';
import type { Limits } from '../config.js';
import { countOf, itemsOf, type OneOrSet, withItem, withoutItem } from '../one-or-set.js';
import type { Store } from '../store/store.js';
import { TokenBucket } from '../token-bucket.js';
import type { ChatObserver } from './chat-observer.js';
import { deliverTo } from './delivery.js';
import type { UserEvent } from './events.js';
import type { Session } from './session.js';

const CACHE_MAX = 100_000;

/**
 * The node's authenticated sessions by user: who is online here (with the offline grace
 * period), each user's publish rate limit shared by their connections, and delivery of per-user
 * events and kicks to every connection of a user.
 */
export class Sessions {
  readonly #store: Store;
  readonly #limits: Limits;
  readonly #observer: ChatObserver;
  // User id → their sessions on this node (most users have one, and keep no Set of one).
  readonly #byUser = new Map<string, OneOrSet<Session>>();
  // User id → the username this node last stored for it.
  readonly #knownUsers = new Map<string, string>();
  // Per user, shared by all their connections on this node.
  readonly #publishBuckets = new Map<string, TokenBucket>();
  // Users whose last session closed, waiting out the offline grace period.
  readonly #goingOffline = new Map<string, NodeJS.Timeout>();

  constructor(deps: { readonly store: Store; readonly limits: Limits; readonly observer: ChatObserver }) {
    this.#store = deps.store;
    this.#limits = deps.limits;
    this.#observer = deps.observer;
  }

  /** Number of sessions on this node. */
  get count(): number {
    let n = 0;
    for (const s of this.#byUser.values()) n += countOf(s);
    return n;
  }

  /** Records a newly authenticated session and makes sure its user exists in the Store. */
  async opened(session: Session): Promise<void> {
    // A durable write per connection would make reconnect waves wait on commits: write only
    // users (or usernames) this node has not stored yet.
    if (this.#knownUsers.get(session.user.id) !== session.user.username) {
      await this.#store.upsertUser({ id: session.user.id, username: session.user.username });
      if (this.#knownUsers.size >= CACHE_MAX) this.#knownUsers.clear();
      this.#knownUsers.set(session.user.id, session.user.username);
    }
    const had = this.#byUser.get(session.user.id);
    this.#byUser.set(session.user.id, withItem(had, session));
    if (had === undefined) {
      const pending = this.#goingOffline.get(session.user.id);
      if (pending !== undefined) {
        clearTimeout(pending);
        this.#goingOffline.delete(session.user.id);
      } else {
        notify(this.#observer, () => this.#observer.userOnline?.(session.user));
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

  /** Forgets a closed session; its user goes offline after the grace period if it was the last. */
  closed(session: Session): void {
    const had = this.#byUser.get(session.user.id);
    const left = withoutItem(had, session);
    if (left !== undefined) this.#byUser.set(session.user.id, left);
    else if (had !== undefined) {
      this.#byUser.delete(session.user.id);
      this.#goOffline(session.user);
      if (this.#publishBuckets.get(session.user.id)?.isFull()) this.#publishBuckets.delete(session.user.id);
    }
  }

  /** Every user with a session on this node. */
  users(): Iterable<string> {
    return this.#byUser.keys();
  }

  /** The user's sessions on this node. */
  of(userId: string): Iterable<Session> {
    return itemsOf(this.#byUser.get(userId));
  }

  /** Writes a per-user event to every connection of the user on this node. */
  deliver(userId: string, event: UserEvent): void {
    for (const session of this.of(userId)) deliverTo(session, event);
  }

  /** Closes every connection of the user on this node. */
  kick(userId: string, reason: string): void {
    for (const session of this.of(userId)) session.close('kicked', reason);
  }

  /** Takes one of the user's publish tokens, or throws `rate_limited` with the wait. */
  takePublishToken(userId: string): void {
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

  /** Makes sure a user seen through a token (HTTP) exists, as `opened` does for sockets. */
  async seen(user: UserInfo): Promise<void> {
    await this.#store.upsertUser({ id: user.id, username: user.username });
  }

  /** Stops the offline timers (webhooks for users still in their grace period are not sent). */
  close(): void {
    for (const timer of this.#goingOffline.values()) clearTimeout(timer);
    this.#goingOffline.clear();
  }

  // Buckets of users with no session left are kept until full; sweep them now and then.
  #pruneIdleBuckets(): void {
    if (this.#publishBuckets.size < 2 * this.#byUser.size + 1000) return;
    const now = Date.now();
    for (const [user, bucket] of this.#publishBuckets) {
      if (!this.#byUser.has(user) && bucket.isFull(now)) this.#publishBuckets.delete(user);
    }
  }

  // A user's last session closed: offline after the grace period unless one opens meanwhile. (Its
  // own method: the timer must not keep the closed session alive through a shared context.)
  #goOffline(user: UserInfo): void {
    const timer = setTimeout(() => {
      this.#goingOffline.delete(user.id);
      if (!this.#byUser.has(user.id)) notify(this.#observer, () => this.#observer.userOffline?.(user));
    }, this.#limits.offlineGraceMs);
    timer.unref();
    this.#goingOffline.set(user.id, timer);
  }
}

/** Runs an observer hook; a hook that throws is logged, never fails the action. */
export function notify(observer: ChatObserver, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    observer.error(err, 'chat observer');
  }
}
