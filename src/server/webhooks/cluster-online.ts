import type { Logger } from 'pino';
import type { UserInfo } from '../../protocol/frames.js';
import type { Store } from '../store/store.js';

/** Options of a ClusterOnline. */
export interface ClusterOnlineOptions {
  readonly store: Store;
  /** This node's id (unique per process). */
  readonly node: string;
  /** A node not heard from for this long is dead: its users are let go. Heartbeats every third. */
  readonly nodeTtlMs: number;
  /** The offline grace period: how soon after a clean stop this node's users are let go. */
  readonly graceMs: number;
  readonly logger: Logger;
  /** Called after a transition wrote its webhook (wakes the sender). */
  readonly onTransition: () => void;
}

/**
 * `user.online` / `user.offline` for the whole cluster, exactly once per transition: this node
 * tells the Store when it starts and stops holding a user's connections (after the grace
 * period), and the Store decides, in one transaction with the webhook, whether that was the
 * user's first or last node. A heartbeat keeps this node alive in the Store and lets go of
 * the users of nodes that stopped beating (died); a write that failed (the database was away)
 * is tried again at the next beat.
 */
export class ClusterOnline {
  readonly #o: ClusterOnlineOptions;
  // Users this node holds, and writes that failed and wait for the next beat.
  readonly #held = new Map<string, UserInfo>();
  readonly #retry = new Map<string, { readonly user: UserInfo; readonly online: boolean }>();
  // Per user, the last write: a user's writes run in order.
  readonly #chains = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: ClusterOnlineOptions) {
    this.#o = options;
  }

  /** The user's first connection on this node opened. */
  connected(user: UserInfo): void {
    this.#held.set(user.id, user);
    this.#write(user, true);
  }

  /** The user's last connection on this node closed, the grace period ago. */
  disconnected(user: UserInfo): void {
    this.#held.delete(user.id);
    this.#write(user, false);
  }

  /** Beats once now, then every third of the TTL. */
  async start(): Promise<void> {
    await this.#beat();
    this.#timer = setInterval(() => void this.#beat(), Math.max(100, Math.floor(this.#o.nodeTtlMs / 3)));
    this.#timer.unref();
  }

  /**
   * Stops beating, and dates the last beat so that this node's users are let go once the grace
   * period is over (by any node, or by this one restarted), unless they reconnect meanwhile.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await Promise.allSettled([...this.#chains.values()]);
    const at = Date.now() - this.#o.nodeTtlMs + this.#o.graceMs;
    await this.#o.store.nodeSeen(this.#o.node, at).catch(() => undefined);
  }

  #write(user: UserInfo, online: boolean): void {
    if (this.#closed) return;
    this.#retry.delete(user.id);
    const previous = this.#chains.get(user.id) ?? Promise.resolve();
    const next = previous.then(async () => {
      try {
        const now = Date.now();
        const changed = online
          ? await this.#o.store.markOnline(this.#o.node, user, now)
          : await this.#o.store.markOffline(this.#o.node, user.id, now);
        if (changed) this.#o.onTransition();
      } catch (err) {
        this.#o.logger.warn({ err, user: user.id, online }, 'online state not saved; trying again soon');
        this.#retry.set(user.id, { user, online });
      }
    });
    this.#chains.set(user.id, next);
    void next.finally(() => {
      if (this.#chains.get(user.id) === next) this.#chains.delete(user.id);
    });
  }

  async #beat(): Promise<void> {
    if (this.#closed) return;
    const now = Date.now();
    try {
      const known = await this.#o.store.nodeSeen(this.#o.node, now);
      if (!known && this.#held.size > 0) {
        // Swept as dead while only slow: hold this node's users again.
        this.#o.logger.warn(
          { users: this.#held.size },
          'this node was taken for dead; marking its users online again',
        );
        for (const user of this.#held.values()) this.#write(user, true);
      }
      for (const { user, online } of [...this.#retry.values()]) {
        if (online === this.#held.has(user.id)) this.#write(user, online);
        else this.#retry.delete(user.id);
      }
      const gone = await this.#o.store.sweepNodes(now - this.#o.nodeTtlMs, now);
      if (gone > 0) {
        this.#o.logger.info({ users: gone }, 'users of nodes that stopped went offline');
        this.#o.onTransition();
      }
    } catch (err) {
      this.#o.logger.warn({ err }, 'online heartbeat failed; will try again');
    }
  }
}
