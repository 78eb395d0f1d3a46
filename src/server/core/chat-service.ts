import { type Bus, type BusEvent, CONTROL_TOPIC } from '../bus/bus.js';
import type { HistoryCache } from '../cache/history-cache.js';
import type { Limits } from '../config.js';
import type { Presence } from '../presence/presence.js';
import type { Store } from '../store/store.js';
import { Access } from './access.js';
import { Channels } from './channels.js';
import type { ChatObserver } from './chat-observer.js';
import { deliverTo } from './delivery.js';
import { Directory } from './directory.js';
import { Hub, type HubOptions } from './hub.js';
import { Messages } from './messages.js';
import type { Session } from './session.js';
import { Sessions } from './sessions.js';
import { Subscriptions } from './subscriptions.js';

/** What the core runs on. */
export interface ChatServiceDeps {
  readonly store: Store;
  readonly bus: Bus;
  readonly presence: Presence;
  readonly limits: Limits;
  readonly observer: ChatObserver;
  /** Recent messages, so joins and short resumes skip SQL; the Store fills anything it lacks. */
  readonly cache?: HistoryCache | undefined;
  /** The hub's tuning and its delivery metric. */
  readonly hub?: Omit<HubOptions, 'onControl' | 'onError'>;
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
  /** Users' and channels' stored records, for the app's backend. */
  readonly directory: Directory;
  readonly #observer: ChatObserver;
  readonly #bus: Bus;

  constructor(deps: ChatServiceDeps) {
    const { store, bus, presence, limits, observer } = deps;
    const cache = deps.cache;
    this.#observer = observer;
    this.#bus = bus;
    this.hub = new Hub(bus, store, {
      ...deps.hub,
      onControl: (event) => this.#onControl(event),
      onError: (err, what) => observer.error(err, what),
    });
    this.access = new Access(store);
    this.sessions = new Sessions({ store, limits, observer });
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
    });
    this.messages = new Messages({ store, bus, limits, observer, access, sessions: this.sessions, cache });
    this.channels = new Channels({ store, bus, limits, observer, access });
    this.directory = new Directory(store);
  }

  /** Starts receiving control events (membership changes, kicks) from the bus. */
  async start(): Promise<void> {
    await this.hub.start();
  }

  /** Number of sessions on this node. */
  get sessionCount(): number {
    return this.sessions.count;
  }

  /** Records a newly authenticated session (its user is stored if this node has not yet). */
  async sessionOpened(session: Session): Promise<void> {
    await this.sessions.opened(session);
  }

  /** Ends every subscription of a closed session and announces who left. */
  async sessionClosed(session: Session): Promise<void> {
    this.sessions.closed(session);
    await this.subscriptions.endAll(session);
  }

  /** Closes every connection of the user on every node. */
  async disconnectUser(userId: string, reason: string): Promise<void> {
    await this.#bus.publish(CONTROL_TOPIC, { kind: 'kick', user_id: userId, reason });
  }

  /** Stops the hub and the offline timers. */
  close(): void {
    this.hub.close();
    this.sessions.close();
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
      default:
        return;
    }
  }
}
