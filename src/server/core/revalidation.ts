import type { Store, UserStatus } from '../store/store.js';
import type { Access } from './access.js';
import { deliverTo } from './delivery.js';
import type { Subscription } from './hub.js';
import { canRead } from './permissions.js';
import type { Session } from './session.js';
import type { Sessions } from './sessions.js';
import type { Subscriptions } from './subscriptions.js';

/**
 * Why a credential issued at `issuedAt` (ms; undefined = unknown) no longer admits its user:
 * `banned`, `revoked` (issued before the user's cut-off, `tokens_valid_after`), or undefined
 * when it still does. The one rule of the token check and of the re-checks of live sessions.
 */
export function revocationOf(
  status: UserStatus | undefined,
  issuedAt: number | undefined,
): 'banned' | 'revoked' | undefined {
  if (status === undefined) return undefined;
  if (status.banned) return 'banned';
  if (status.tokensValidAfter > 0 && (issuedAt === undefined || issuedAt < status.tokensValidAfter)) {
    return 'revoked';
  }
  return undefined;
}

/** What a Revalidation runs on. */
export interface RevalidationDeps {
  readonly store: Pick<Store, 'getUserStatus' | 'listMembers'>;
  readonly access: Access;
  readonly sessions: Pick<Sessions, 'users' | 'of'>;
  readonly subscriptions: Pick<Subscriptions, 'end'>;
  /** Store reads in flight at once (one per user, then one per channel or member). */
  readonly concurrency?: number;
}

/** What one run changed. */
export interface RevalidationResult {
  /** Users whose status was read. */
  readonly users: number;
  /** Sessions closed: their user is banned, or their credential predates the user's cut-off. */
  readonly sessionsClosed: number;
  /** Subscriptions ended: their user may no longer read the channel. */
  readonly subscriptionsEnded: number;
}

// From this many local subscribers of a channel on, its member list is read once instead of
// each one's role.
const MEMBER_LIST_FROM = 4;

interface Held {
  readonly session: Session;
  readonly sub: Subscription;
}

/**
 * The re-check of what this node holds on the strength of bus events it may have missed: for
 * every user with a session here, their ban and token cut-off (a banned or logged-out user's
 * sessions close, as a `kick` would have closed them); then, for every private channel or DM
 * with subscribers here, their membership, read from the Store (a removed member's
 * subscriptions end, as a `member` event would have ended them). Subscriptions a wire
 * authorized itself and public channels (readable by anyone) are left alone. One run at a
 * time: a run asked for while one is running starts after it, so it reads what the Store holds
 * after the request. Costs a Store read per local user and per channel (or per subscriber, in
 * channels with few of them here).
 */
export class Revalidation {
  readonly #d: RevalidationDeps;
  readonly #concurrency: number;
  // When each session opened here: the credential time of sessions that have no token `iat`.
  readonly #openedAt = new WeakMap<Session, number>();
  #running: Promise<RevalidationResult> | undefined;
  #next: Promise<RevalidationResult> | undefined;

  constructor(deps: RevalidationDeps) {
    this.#d = deps;
    this.#concurrency = Math.max(1, deps.concurrency ?? 8);
  }

  /** True while a run is in progress. */
  get running(): boolean {
    return this.#running !== undefined;
  }

  /** Records when a session opened on this node (call as it opens). */
  opened(session: Session): void {
    this.#openedAt.set(session, Date.now());
  }

  /** Re-checks every local session and subscription; rejects with the first Store error. */
  run(): Promise<RevalidationResult> {
    if (this.#running === undefined) {
      const running = this.#runOnce().finally(() => {
        if (this.#running === running) this.#running = undefined;
      });
      this.#running = running;
      return running;
    }
    this.#next ??= this.#running
      .catch(() => undefined)
      .then(() => {
        this.#next = undefined;
        return this.run();
      });
    return this.#next;
  }

  async #runOnce(): Promise<RevalidationResult> {
    const users = [...this.#d.sessions.users()];
    let sessionsClosed = 0;
    await this.#each(users, async (user) => {
      // Not `+= await`: that would add to the count read before the wait.
      const closed = await this.#checkUser(user);
      sessionsClosed += closed;
    });
    // Who subscribes to what, among the sessions still open, by channel.
    const byChannel = new Map<string, Held[]>();
    for (const user of users) {
      for (const session of this.#d.sessions.of(user)) {
        for (const sub of session.subscriptions.values()) {
          if (sub.authorized || sub.closed) continue;
          const held = byChannel.get(sub.channel);
          if (held === undefined) byChannel.set(sub.channel, [{ session, sub }]);
          else held.push({ session, sub });
        }
      }
    }
    let subscriptionsEnded = 0;
    await this.#each([...byChannel], async ([channel, held]) => {
      const ended = await this.#checkChannel(channel, held);
      subscriptionsEnded += ended;
    });
    return { users: users.length, sessionsClosed, subscriptionsEnded };
  }

  // Runs `task` on every item, `concurrency` at a time; stops taking new ones at the first
  // failure, and rejects with it once those running are done.
  async #each<T>(items: readonly T[], task: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    let failure: { readonly err: unknown } | undefined;
    const worker = async () => {
      while (failure === undefined && next < items.length) {
        const item = items[next++] as T;
        try {
          await task(item);
        } catch (err) {
          failure ??= { err };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, items.length) }, worker));
    if (failure !== undefined) throw failure.err;
  }

  // Closes the user's sessions their status no longer admits; returns how many.
  async #checkUser(userId: string): Promise<number> {
    const sessions = [...this.#d.sessions.of(userId)];
    if (sessions.length === 0) return 0;
    const status = await this.#d.store.getUserStatus(userId);
    let closed = 0;
    for (const session of sessions) {
      const why = revocationOf(status, session.issuedAt ?? this.#openedAt.get(session) ?? Date.now());
      if (why === undefined) continue;
      session.close('kicked', why === 'banned' ? 'banned' : 'logged out');
      closed++;
    }
    return closed;
  }

  // Ends the subscriptions to `channelId` of users who may no longer read it; returns how many.
  async #checkChannel(channelId: string, held: readonly Held[]): Promise<number> {
    const { access, store, subscriptions, sessions } = this.#d;
    const channel = await access.channel(channelId);
    const users = new Set(held.map((h) => h.session.user.id));
    // A ban closes any channel, public ones too: what the lost `moderation` event would have ended.
    let ended = 0;
    for (const user of users) {
      if (!(await access.banned(channelId, user))) continue;
      users.delete(user);
      for (const { session, sub } of held) {
        if (session.user.id !== user || sub.closed) continue;
        deliverTo(session, { kind: 'unsubscribed', channel: channelId, reason: 'banned' });
        await subscriptions.end(session, sub);
        ended++;
      }
    }
    if (channel?.kind === 'public') return ended;
    const readers = new Set<string>();
    if (channel !== undefined && users.size >= MEMBER_LIST_FROM) {
      for (const member of await store.listMembers(channelId)) readers.add(member.userId);
    } else if (channel !== undefined) {
      for (const user of users) {
        if (canRead(channel.kind, await access.role(channelId, user, true))) readers.add(user);
      }
    }
    for (const user of users) {
      if (readers.has(user)) continue;
      // What the lost `member` event would have told each of the user's connections.
      for (const session of sessions.of(user)) {
        deliverTo(session, { kind: 'member', channel: channelId, user_id: user, role: null });
      }
      for (const { session, sub } of held) {
        if (session.user.id !== user || sub.closed) continue;
        deliverTo(session, { kind: 'unsubscribed', channel: channelId, reason: 'removed' });
        await subscriptions.end(session, sub);
        ended++;
      }
    }
    return ended;
  }
}
