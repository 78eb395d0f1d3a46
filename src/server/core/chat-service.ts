import { randomUUID } from 'node:crypto';
import { type Bus, type BusEvent, CONTROL_TOPIC } from '../bus/bus.js';
import type { HistoryCache } from '../cache/history-cache.js';
import type { Limits } from '../config.js';
import type { AttachmentConfig } from '../config-attachments.js';
import type { FileStore } from '../files/file-store.js';
import type { Presence } from '../presence/presence.js';
import type { Store } from '../store/store.js';
import { Access } from './access.js';
import { AdminDirectory } from './admin-directory.js';
import { NODE_USERS_MAX } from './admin-events.js';
import { AdminFeed } from './admin-feed.js';
import { AttachmentSweeper } from './attachment-sweeper.js';
import { Attachments } from './attachments.js';
import type { BeforePublish } from './before-publish.js';
import { Channels } from './channels.js';
import type { ChatObserver } from './chat-observer.js';
import { DebugTap } from './debug-tap.js';
import { deliverTo } from './delivery.js';
import { Directory } from './directory.js';
import { Hub, type HubOptions } from './hub.js';
import { Messages } from './messages.js';
import { Moderation } from './moderation.js';
import { Revalidation } from './revalidation.js';
import type { Session } from './session.js';
import { Sessions } from './sessions.js';
import { Subscriptions } from './subscriptions.js';
import { UserSearch } from './user-search.js';

/** What the core runs on. */
export interface ChatServiceDeps {
  readonly store: Store;
  readonly bus: Bus;
  readonly presence: Presence;
  readonly limits: Limits;
  readonly observer: ChatObserver;
  /** Recent messages, so joins and short resumes skip SQL; the Store fills anything it lacks. */
  readonly cache?: HistoryCache | undefined;
  /** Attachments (issue 16): where files go, their settings, and the key tickets are signed with. */
  readonly attachments?:
    | { readonly files: FileStore; readonly config: AttachmentConfig; readonly ticketKey: Uint8Array }
    | undefined;
  /** The hub's tuning and its delivery metric. */
  readonly hub?: Omit<HubOptions, 'onControl' | 'onError' | 'beforeResync' | 'onResyncSignal'>;
  /** The app's before-publish hook (issue 17), when one is configured. */
  readonly beforePublish?: BeforePublish | undefined;
  /** The admin console's tap (#17), shared with what records outside the core; default: one of its own. */
  readonly tap?: DebugTap;
  /** Open connections of every wire on this node, for the admin console's figures. */
  readonly connections?: () => number;
}

/**
 * The chat core, the same for every wire and for HTTP: sessions, subscriptions, messages and
 * channels, each checked against the caller's current role, over the node's hub, bus and
 * store. Knows no wire: it takes domain inputs, returns domain results, and delivers domain
 * events to `Recipient`s through each one's encoder.
 */
export class ChatService {
  readonly hub: Hub;
  readonly access: Access;
  readonly sessions: Sessions;
  readonly subscriptions: Subscriptions;
  readonly messages: Messages;
  readonly channels: Channels;
  /** Uploads and downloads of attachments; undefined when the node takes none. */
  readonly attachments: Attachments | undefined;
  readonly #sweeper: AttachmentSweeper | undefined;
  /** Bans, mutes, slow mode, word filters and reports. */
  readonly moderation: Moderation;
  /** Users' and channels' stored records, for the app's backend. */
  readonly directory: Directory;
  /** Finding users by name, for signed-in users. */
  readonly users: UserSearch;
  /** The admin console's live feed: figures and debug events of every node (#17). */
  readonly admin: AdminFeed;
  /** The admin console's searches and the server-admin flag (#17). */
  readonly adminDirectory: AdminDirectory;
  readonly #observer: ChatObserver;
  readonly #bus: Bus;
  readonly #limits: Limits;
  readonly #revalidation: Revalidation;
  readonly #tap: DebugTap;
  #recheckTimer: NodeJS.Timeout | undefined;
  #lastRecheck = Date.now();
  // A re-check after a resync failed (the Store did not answer): retried on the next tick.
  #recheckOwed = false;

  constructor(deps: ChatServiceDeps) {
    const { store, bus, presence, limits, observer } = deps;
    const cache = deps.cache;
    this.#observer = observer;
    this.#bus = bus;
    this.#limits = limits;
    this.hub = new Hub(bus, store, {
      ...deps.hub,
      onControl: (event) => this.#onControl(event),
      onError: (err, what) => observer.error(err, what),
      // The bus may have lost invalidations: forget every cached role and channel at once,
      // before anything reads them again.
      onResyncSignal: () => {
        this.access.clear();
        this.moderation.clear();
      },
      beforeResync: () => this.#recheckAfterResync(),
    });
    // While the bus is down, invalidations from other nodes are being lost: read through.
    this.access = new Access(store, { ttlMs: limits.accessCacheTtlMs, readThrough: () => !bus.connected });
    this.sessions = new Sessions({ store, limits, observer });
    const tap = deps.tap ?? new DebugTap(randomUUID(), { batchMax: limits.adminTraceBatchMax });
    this.#tap = tap;
    const sessions = this.sessions;
    const connections = deps.connections ?? (() => sessions.count);
    this.admin = new AdminFeed({
      bus,
      tap,
      watchMs: limits.adminWatchMs,
      consolesMax: limits.adminConsolesMax,
      // A bus that is down is no news to the console; nothing more is owed (at most once).
      onError: () => {},
      report: () => {
        const users = [...sessions.users()];
        return {
          connections: connections(),
          sessions: sessions.count,
          channels: this.hub.channelCount,
          busConnected: bus.connected,
          users: users.slice(0, NODE_USERS_MAX),
          userCount: users.length,
        };
      },
    });
    this.adminDirectory = new AdminDirectory(store);
    const access = this.access;
    this.subscriptions = new Subscriptions({
      store,
      bus,
      hub: this.hub,
      presence,
      limits,
      observer,
      access,
      cache,
      tap,
    });
    this.moderation = new Moderation({
      store,
      bus,
      limits,
      observer,
      access,
      sessions: this.sessions,
      subscriptions: this.subscriptions,
      beforePublish: deps.beforePublish,
    });
    const files = deps.attachments;
    this.attachments =
      files === undefined
        ? undefined
        : new Attachments({
            store,
            files: files.files,
            access,
            config: files.config,
            ticketKey: files.ticketKey,
          });
    this.#sweeper =
      files === undefined
        ? undefined
        : new AttachmentSweeper({
            store,
            files: files.files,
            observer,
            unattachedTtlMs: files.config.unattachedTtlMs,
            intervalMs: files.config.sweepIntervalMs,
          });
    this.messages = new Messages({
      store,
      bus,
      limits,
      observer,
      access,
      sessions: this.sessions,
      cache,
      moderation: this.moderation,
      attachments:
        this.attachments === undefined || this.#sweeper === undefined
          ? undefined
          : { uploads: this.attachments, sweeper: this.#sweeper },
    });
    this.channels = new Channels({ store, bus, limits, observer, access });
    this.directory = new Directory(store);
    this.users = new UserSearch(store, limits);
    this.#revalidation = new Revalidation({
      store,
      access,
      sessions: this.sessions,
      subscriptions: this.subscriptions,
    });
  }

  /**
   * Starts receiving control events (membership changes, kicks) from the bus, and the re-checks
   * of live sessions and subscriptions: every `recheckWhileDownMs` while the bus is down, every
   * `recheckIntervalMs` otherwise.
   */
  async start(): Promise<void> {
    await this.hub.start();
    this.#lastRecheck = Date.now();
    this.#recheckTimer = setInterval(() => this.#recheckTick(), this.#limits.recheckWhileDownMs);
    this.#recheckTimer.unref();
    this.#sweeper?.start();
  }

  /** Runs the attachment sweep now; resolves with how many attachments it removed. */
  sweepAttachments(): Promise<number> {
    return this.#sweeper?.sweep() ?? Promise.resolve(0);
  }

  /**
   * Re-checks every session and subscription on this node against the Store now (bans, token
   * cut-offs, memberships), as after a resync; resolves with what it closed and ended.
   */
  recheck(): ReturnType<Revalidation['run']> {
    this.#lastRecheck = Date.now();
    return this.#revalidation.run();
  }

  /** Number of sessions on this node. */
  get sessionCount(): number {
    return this.sessions.count;
  }

  /** Records a newly authenticated session (its user is stored if this node has not yet). */
  async sessionOpened(session: Session): Promise<void> {
    if (this.#tap.on)
      this.#tap.record('connect', `${session.encoder.wire} ${session.id}`, undefined, session.user.id);
    this.#revalidation.opened(session);
    await this.sessions.opened(session);
  }

  /** Ends every subscription of a closed session and announces who left. */
  async sessionClosed(session: Session): Promise<void> {
    if (this.#tap.on)
      this.#tap.record('disconnect', `${session.encoder.wire} ${session.id}`, undefined, session.user.id);
    this.sessions.closed(session);
    await this.subscriptions.endAll(session);
  }

  /** Closes every connection of the user on every node. */
  async disconnectUser(userId: string, reason: string): Promise<void> {
    await this.#bus.publish(CONTROL_TOPIC, { kind: 'kick', user_id: userId, reason });
  }

  /** Stops the hub, the re-checks and the offline timers. */
  close(): void {
    clearInterval(this.#recheckTimer);
    void this.#sweeper?.close();
    this.#recheckTimer = undefined;
    this.hub.close();
    this.sessions.close();
    this.admin.close();
  }

  // After a resync signal: re-check what lives on without a cache (sessions, subscriptions),
  // while the hub holds delivery.
  async #recheckAfterResync(): Promise<void> {
    try {
      await this.recheck();
      this.#recheckOwed = false;
    } catch (err) {
      this.#recheckOwed = true;
      throw err;
    }
  }

  #recheckTick(): void {
    if (this.#revalidation.running) return;
    const due = Date.now() - this.#lastRecheck >= this.#limits.recheckIntervalMs;
    if (!due && !this.#recheckOwed && this.#bus.connected) return;
    this.recheck().then(
      () => {
        this.#recheckOwed = false;
      },
      (err) => {
        // Once per streak of failures (the Store is down): not once a tick.
        if (!this.#recheckOwed) this.#observer.error(err, 'recheck');
        this.#recheckOwed = true;
      },
    );
  }

  // A control event from the bus (from this node or another).
  #onControl(event: BusEvent): void {
    switch (event.kind) {
      case 'member':
        this.access.forgetRole(event.channel, event.user_id);
        for (const session of this.sessions.of(event.user_id)) {
          deliverTo(session, event);
          if (event.role !== null) continue;
          const sub = session.subscriptions.get(event.channel);
          if (sub === undefined) continue;
          void this.access
            .channel(event.channel)
            .then((meta) => {
              // Public channels stay readable to non-members: only private ones and DMs close.
              if (meta !== undefined && meta.kind === 'public') return;
              deliverTo(session, { kind: 'unsubscribed', channel: event.channel, reason: 'removed' });
              return this.subscriptions.end(session, sub);
            })
            .catch((err) => this.#observer.error(err, 'member removal'));
        }
        return;
      case 'kick':
        this.sessions.kick(event.user_id, event.reason);
        return;
      case 'user':
        this.sessions.deliver(event.user_id, event.event);
        return;
      case 'channel':
        this.access.forgetChannel(event.channel);
        return;
      case 'moderation':
        this.moderation.changed(event.channel, event.banned);
        return;
      case 'admin_watch':
      case 'admin_node':
      case 'admin_trace':
        this.admin.onBus(event);
        return;
      default:
        return;
    }
  }
}
