import type { Message } from '../../protocol/frames.js';
import { type Bus, type BusEvent, CONTROL_TOPIC, channelTopic } from '../bus/bus.js';
import { EncodeOnce, type Recipient } from './delivery.js';
import type { ChannelEvent, MessagePosted } from './events.js';

/** Where the hub reads messages it missed on the bus (the Store, or a cache in front of it). */
export interface MessageSource {
  after(channelId: string, after: number, limit: number): Promise<readonly Message[]>;
}

/** Options of a Hub. */
export interface HubOptions {
  /** How long an out-of-order message waits for the missing ones before the hub reads them. */
  readonly holdMs?: number;
  /** Largest read when filling a gap. */
  readonly fillPageMax?: number;
  /**
   * Channel events (messages and all others) held for one subscription while its history is
   * read; beyond it the subscriber is closed as a slow consumer.
   */
  readonly pendingMax?: number;
  /** Events that are not for a channel's subscribers (membership changes, kicks). */
  readonly onControl?: (event: BusEvent) => void;
  /**
   * Runs when the bus may have lost events, before the hub re-reads its channels: the re-check
   * of what lost events would have changed (memberships, bans). Meanwhile the hub holds every
   * channel event, up to `pendingMax` (beyond it, messages are re-read from the source after,
   * and other events are lost as on a lossy bus), so none reaches a subscription the re-check
   * ends. A rejection is reported (`onError`) and delivery goes on.
   */
  readonly beforeResync?: () => Promise<void>;
  /** Called at once on every resync signal, even one that waits for a running re-check. */
  readonly onResyncSignal?: () => void;
  readonly onError?: (err: unknown, what: string) => void;
  /** Called once per message delivered in order on this node, with its local recipients (metrics). */
  readonly onDeliver?: (recipients: number) => void;
}

interface Encoded {
  /** The message's seq; undefined for the other channel events. */
  readonly seq: number | undefined;
  readonly kind: ChannelEvent['kind'];
  /** What the subscription's encoder made of the event. */
  readonly data: unknown;
}

/** One connection's subscription to one channel, owned by the hub. */
export class Subscription {
  readonly channel: string;
  readonly client: Recipient;
  /** The highest seq this client has been sent. */
  lastSeq = 0;
  /** False while the client's history is being read; live events are buffered meanwhile. */
  active = false;
  closed = false;
  /** Counted in the channel's subscriptions across nodes (`SubscribeOptions.counted`). */
  counted = false;
  /**
   * The wire proved the session may read the channel (`SubscribeOptions.authorized`): the
   * membership re-checks after a resync leave it alone.
   */
  authorized = false;
  /** Live events held while the history is read, in arrival order; none kept once active or closed. */
  buffer: Encoded[] | undefined;

  constructor(channel: string, client: Recipient) {
    this.channel = channel;
    this.client = client;
  }
}

interface ChannelState {
  readonly id: string;
  readonly subs: Set<Subscription>;
  readonly ready: Promise<void>;
  /** The highest seq delivered in order on this node; undefined until the first subscriber's read. */
  delivered: number | undefined;
  /** Messages that arrived ahead of a missing seq (or before `delivered` was known). */
  readonly held: Map<number, Message>;
  fillTimer: NodeJS.Timeout | undefined;
  filling: boolean;
}

// What the hub holds while a resync's re-check runs: everything for a channel's subscribers.
const CHANNEL_EVENTS: ReadonlySet<BusEvent['kind']> = new Set<ChannelEvent['kind']>([
  'message',
  'edited',
  'deleted',
  'reaction',
  'presence',
  'typing',
  'channel_updated',
  'signal',
  'moderated',
]);

/**
 * Local delivery on one node. Receives bus events, puts each channel's messages in seq order
 * (dropping repeats, holding early ones and reading missed ones from the Store), encodes each
 * event at most once per wire (`EncodeOnce`) and writes the same bytes to every local
 * subscriber of that wire.
 */
export class Hub {
  readonly #bus: Bus;
  readonly #source: MessageSource;
  readonly #channels = new Map<string, ChannelState>();
  readonly #holdMs: number;
  readonly #fillPageMax: number;
  readonly #pendingMax: number;
  readonly #onControl: (event: BusEvent) => void;
  readonly #beforeResync: (() => Promise<void>) | undefined;
  readonly #onResyncSignal: (() => void) | undefined;
  readonly #onError: (err: unknown, what: string) => void;
  readonly #onDeliver: ((recipients: number) => void) | undefined;
  // Channel events that arrived during `beforeResync`; undefined while none is running.
  #held: BusEvent[] | undefined;
  #resyncRunning = false;
  // A resync signal came while one ran: its re-check may have read too early, run another.
  #resyncAgain = false;
  #closed = false;

  constructor(bus: Bus, source: MessageSource, options: HubOptions = {}) {
    this.#bus = bus;
    this.#source = source;
    this.#holdMs = options.holdMs ?? 100;
    this.#fillPageMax = options.fillPageMax ?? 500;
    this.#pendingMax = options.pendingMax ?? 10_000;
    this.#onControl = options.onControl ?? (() => {});
    this.#beforeResync = options.beforeResync;
    this.#onResyncSignal = options.onResyncSignal;
    this.#onError = options.onError ?? (() => {});
    this.#onDeliver = options.onDeliver;
    bus.setHandler(
      (_topic, event) => this.#handle(event),
      () => this.resync(),
    );
  }

  /** Starts receiving control events (membership changes, kicks). */
  async start(): Promise<void> {
    await this.#bus.subscribe(CONTROL_TOPIC);
  }

  /** Number of channels with local subscribers. */
  get channelCount(): number {
    return this.#channels.size;
  }

  /**
   * Registers a pending subscription. Resolves once the bus delivers the channel's events to
   * this node, so a history read made after it misses nothing: live events (messages and every
   * other channel event) are buffered until `activate`, up to `pendingMax`.
   */
  async subscribe(channel: string, client: Recipient): Promise<Subscription> {
    let ch = this.#channels.get(channel);
    if (ch === undefined) {
      ch = {
        id: channel,
        subs: new Set(),
        ready: this.#bus.subscribe(channelTopic(channel)),
        delivered: undefined,
        held: new Map(),
        fillTimer: undefined,
        filling: false,
      };
      this.#channels.set(channel, ch);
    }
    const sub = new Subscription(channel, client);
    ch.subs.add(sub);
    try {
      await ch.ready;
    } catch (err) {
      this.unsubscribe(sub);
      throw err;
    }
    return sub;
  }

  /**
   * Makes a pending subscription live. `lastSeq` is the highest seq the client already has (from
   * the history or resume it was just sent); the hub sends every message after it, in order,
   * once, and the other events buffered meanwhile in the order they came.
   */
  async activate(sub: Subscription, lastSeq: number): Promise<void> {
    const ch = this.#channels.get(sub.channel);
    if (ch === undefined || sub.closed) return;
    sub.lastSeq = lastSeq;
    if (ch.delivered === undefined) {
      ch.delivered = lastSeq;
      this.#drainHeld(ch);
    }
    // Messages delivered on this node before this subscription registered, but after the
    // client's read, are neither in its history nor in its buffer: read them.
    const first = sub.buffer?.find((e) => e.seq !== undefined)?.seq;
    const upTo = first !== undefined ? first - 1 : ch.delivered;
    if (upTo > sub.lastSeq) {
      try {
        const missed = await this.#source.after(sub.channel, sub.lastSeq, upTo - sub.lastSeq);
        const encoder = sub.client.encoder;
        for (const m of missed) {
          const data = encoder.encode({ kind: 'message', message: m });
          if (data !== undefined) this.#write(sub, m.seq, data);
        }
      } catch (err) {
        this.#onError(err, 'activate');
      }
    }
    if (sub.closed) return;
    for (const e of sub.buffer ?? []) {
      if (e.seq !== undefined) this.#write(sub, e.seq, e.data);
      else if (!sub.closed) sub.client.write(e.data);
    }
    // An empty array per idle subscription is memory for nothing.
    sub.buffer = undefined;
    sub.active = true;
  }

  /**
   * Drops the events of `kind` a pending subscription holds, for when the state its subscriber
   * is about to be sent already reflects them (the presence list read after them).
   */
  forgetPending(sub: Subscription, kind: ChannelEvent['kind']): void {
    if (sub.buffer !== undefined) sub.buffer = sub.buffer.filter((e) => e.kind !== kind);
  }

  /** Ends a subscription; the node stops receiving the channel when its last one ends. */
  unsubscribe(sub: Subscription): void {
    sub.closed = true;
    sub.buffer = undefined;
    const ch = this.#channels.get(sub.channel);
    if (ch === undefined || !ch.subs.delete(sub) || ch.subs.size > 0) return;
    this.#channels.delete(sub.channel);
    if (ch.fillTimer !== undefined) clearTimeout(ch.fillTimer);
    this.#bus.unsubscribe(channelTopic(sub.channel)).catch((err) => this.#onError(err, 'bus unsubscribe'));
  }

  /**
   * Re-reads every local channel's messages after what this node delivered, for when the bus
   * may have lost events (it reconnected, or another node's publications were dropped); first
   * runs `beforeResync`, holding channel events meanwhile.
   */
  resync(): void {
    this.#onResyncSignal?.();
    if (this.#beforeResync === undefined) {
      this.#catchUpAll();
      return;
    }
    if (this.#resyncRunning) {
      this.#resyncAgain = true;
      return;
    }
    void this.#resyncNow(this.#beforeResync);
  }

  async #resyncNow(beforeResync: () => Promise<void>): Promise<void> {
    this.#resyncRunning = true;
    this.#held ??= [];
    try {
      await beforeResync();
    } catch (err) {
      this.#onError(err, 'resync re-check');
    }
    this.#resyncRunning = false;
    if (this.#closed) return;
    if (this.#resyncAgain) {
      // Each run is one signal's; a run per further signal, never more than signals came.
      this.#resyncAgain = false;
      void this.#resyncNow(beforeResync);
      return;
    }
    const held = this.#held;
    this.#held = undefined;
    for (const event of held) this.#handle(event);
    this.#catchUpAll();
  }

  #catchUpAll(): void {
    for (const ch of this.#channels.values()) void this.#catchUp(ch);
  }

  async #catchUp(ch: ChannelState): Promise<void> {
    if (ch.delivered === undefined || ch.filling) return;
    ch.filling = true;
    try {
      for (;;) {
        const from: number = ch.delivered;
        const found = await this.#source.after(ch.id, from, this.#fillPageMax);
        for (const m of found) this.#onMessage(m);
        if (found.length < this.#fillPageMax || this.#channels.get(ch.id) !== ch || ch.delivered === from)
          break;
      }
    } catch (err) {
      this.#onError(err, 'resync');
    } finally {
      ch.filling = false;
    }
    if (ch.held.size > 0) this.#scheduleFill(ch);
  }

  /** Stops all timers. */
  close(): void {
    this.#closed = true;
    this.#held = undefined;
    for (const ch of this.#channels.values()) {
      if (ch.fillTimer !== undefined) clearTimeout(ch.fillTimer);
      for (const sub of ch.subs) sub.closed = true;
    }
    this.#channels.clear();
  }

  #handle(event: BusEvent): void {
    if (this.#held !== undefined && CHANNEL_EVENTS.has(event.kind)) {
      if (this.#held.length < this.#pendingMax) this.#held.push(event);
      return;
    }
    switch (event.kind) {
      case 'message':
        this.#onMessage(event.message, event.except);
        return;
      case 'typing':
        this.#broadcast(event, event.user.id, undefined);
        return;
      case 'signal':
        this.#broadcast(event, undefined, event.from);
        return;
      case 'presence':
      case 'edited':
      case 'deleted':
      case 'reaction':
      case 'channel_updated':
      case 'moderated':
        this.#broadcast(event, undefined, undefined);
        return;
      case 'member':
      case 'kick':
      case 'user':
      case 'channel':
      case 'moderation':
      case 'admin_watch':
      case 'admin_node':
      case 'admin_trace':
        this.#onControl(event);
        return;
      case 'resync':
        this.resync();
        return;
      default: {
        const never: never = event;
        this.#onError(new Error(`unknown bus event ${JSON.stringify(never)}`), 'bus');
      }
    }
  }

  // To the channel's subscribers (held for the pending ones) but those of user `exceptUser` and
  // the connection `exceptConnection`, encoded once per wire.
  #broadcast(
    event: Exclude<ChannelEvent, MessagePosted>,
    exceptUser: string | undefined,
    exceptConnection: string | undefined,
  ): void {
    const ch = this.#channels.get(event.channel);
    if (ch === undefined) return;
    let encoded: EncodeOnce | undefined;
    for (const sub of ch.subs) {
      if (sub.closed || sub.client.userId === exceptUser || sub.client.id === exceptConnection) continue;
      encoded ??= new EncodeOnce(event);
      const data = encoded.for(sub.client.encoder);
      if (data === undefined) continue;
      if (sub.active) sub.client.write(data);
      else this.#hold(sub, { seq: undefined, kind: event.kind, data });
    }
  }

  // `except`: a connection not to send it to (its sender's); a message held for a missing seq
  // or read from the source goes to every subscriber.
  #onMessage(m: Message, except?: string): void {
    const ch = this.#channels.get(m.channel);
    if (ch === undefined) return;
    if (ch.delivered === undefined || m.seq > ch.delivered + 1) {
      if (ch.delivered === undefined || m.seq > ch.delivered) ch.held.set(m.seq, m);
      if (ch.delivered !== undefined) this.#scheduleFill(ch);
      return;
    }
    if (m.seq <= ch.delivered) return;
    this.#deliver(ch, m, except);
    this.#drainHeld(ch);
  }

  #drainHeld(ch: ChannelState): void {
    if (ch.delivered === undefined) return;
    for (const seq of [...ch.held.keys()]) if (seq <= ch.delivered) ch.held.delete(seq);
    for (let next = ch.held.get(ch.delivered + 1); next !== undefined; next = ch.held.get(ch.delivered + 1)) {
      ch.held.delete(next.seq);
      this.#deliver(ch, next);
    }
    if (ch.held.size > 0) this.#scheduleFill(ch);
    else if (ch.fillTimer !== undefined) {
      clearTimeout(ch.fillTimer);
      ch.fillTimer = undefined;
    }
  }

  #scheduleFill(ch: ChannelState): void {
    if (ch.fillTimer !== undefined || ch.filling) return;
    ch.fillTimer = setTimeout(() => {
      ch.fillTimer = undefined;
      void this.#fill(ch);
    }, this.#holdMs);
  }

  async #fill(ch: ChannelState): Promise<void> {
    if (ch.delivered === undefined || ch.held.size === 0 || this.#channels.get(ch.id) !== ch) return;
    ch.filling = true;
    try {
      const missing = Math.min(...ch.held.keys()) - ch.delivered - 1;
      const found = await this.#source.after(ch.id, ch.delivered, Math.min(missing, this.#fillPageMax));
      for (const m of found) this.#onMessage(m);
    } catch (err) {
      this.#onError(err, 'gap fill');
    } finally {
      ch.filling = false;
    }
    if (ch.held.size > 0) this.#scheduleFill(ch);
  }

  #deliver(ch: ChannelState, m: Message, except?: string): void {
    ch.delivered = m.seq;
    this.#onDeliver?.(ch.subs.size);
    let encoded: EncodeOnce | undefined;
    for (const sub of ch.subs) {
      if (sub.client.id === except) continue;
      encoded ??= new EncodeOnce({ kind: 'message', message: m });
      const data = encoded.for(sub.client.encoder);
      if (data === undefined) continue;
      if (sub.active) this.#write(sub, m.seq, data);
      else this.#hold(sub, { seq: m.seq, kind: 'message', data });
    }
  }

  #hold(sub: Subscription, event: Encoded): void {
    sub.buffer ??= [];
    sub.buffer.push(event);
    if (sub.buffer.length > this.#pendingMax) sub.client.close('slow_consumer', 'slow consumer');
  }

  #write(sub: Subscription, seq: number, data: unknown): void {
    if (seq <= sub.lastSeq || sub.closed) return;
    sub.lastSeq = seq;
    sub.client.write(data);
  }
}
