import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { ParleyError } from '../../protocol/error-catalogue.js';
import { type Bus, type BusEvent, type BusHandler, CONTROL_TOPIC, type ResyncHandler } from './bus.js';
import { LocalTopics } from './local-topics.js';

/** Options of a RedisBus; every one has a default. */
export interface RedisBusOptions {
  /** Prefix of every Redis channel name, so several deployments can share one Redis. */
  readonly prefix?: string;
  /** How often the node publishes a probe to itself to detect a silent subscriber link. */
  readonly probeIntervalMs?: number;
  /** A probe not back within this time means the link is dead: reconnect. */
  readonly probeTimeoutMs?: number;
  /** How long to wait for Redis at start. */
  readonly connectTimeoutMs?: number;
  /**
   * The longest wait between two reconnection attempts (they start at 50 ms and grow by 50 ms):
   * how late, at most, a node notices that Redis is back.
   */
  readonly reconnectMaxDelayMs?: number;
  readonly onError?: (err: unknown, what: string) => void;
}

interface Envelope {
  /** The publishing node: a node skips its own envelopes (it delivered them locally). */
  readonly n: string;
  readonly e: BusEvent;
}

/**
 * The Bus over Redis pub/sub, for several processes or machines. One subscriber connection
 * per node, subscribed to a channel's topic only while the node has local subscribers; one
 * publisher connection with auto-pipelining. A node delivers its own events locally at once (so
 * local delivery goes on while Redis is down) and skips their echo. After any outage of the
 * subscriber link the node resyncs itself, once its subscriptions are in effect again (it is
 * not `connected` before); when the node's own publications were dropped, every node is told to
 * resync.
 */
export class RedisBus implements Bus {
  readonly nodeId = randomUUID();
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #prefix: string;
  readonly #local = new LocalTopics();
  readonly #onError: (err: unknown, what: string) => void;
  readonly #probeTimer: NodeJS.Timeout;
  readonly #probeTimeoutMs: number;
  #probeSentAt: number | undefined;
  #publishesDropped = false;
  #everReady = false;
  // The subscriber link is up and every subscription of this node is in effect on it.
  #subscribed = false;
  #closed = false;

  private constructor(pub: Redis, sub: Redis, options: RedisBusOptions) {
    this.#pub = pub;
    this.#sub = sub;
    this.#prefix = options.prefix ?? 'parley:';
    this.#onError = options.onError ?? (() => {});
    this.#probeTimeoutMs = options.probeTimeoutMs ?? 3000;
    sub.on('message', (channel: string, raw: string) => this.#onMessage(channel, raw));
    sub.on('ready', () => this.#onSubscriberReady());
    sub.on('close', () => {
      this.#subscribed = false;
    });
    pub.on('ready', () => this.#announceResyncIfDropped());
    for (const [conn, name] of [
      [pub, 'redis publisher'],
      [sub, 'redis subscriber'],
    ] as const) {
      conn.on('error', (err: Error) => this.#onError(err, name));
    }
    this.#probeTimer = setInterval(() => this.#probe(), options.probeIntervalMs ?? 5000);
    this.#probeTimer.unref();
  }

  /**
   * Connects to Redis. Refuses to start (`unavailable`) when Redis cannot be reached within
   * `connectTimeoutMs`: a node that starts without its bus would silently miss other nodes.
   */
  static async connect(url: string, options: RedisBusOptions = {}): Promise<RedisBus> {
    const timeout = options.connectTimeoutMs ?? 5000;
    const maxDelay = options.reconnectMaxDelayMs ?? 500;
    const common = {
      lazyConnect: true,
      maxRetriesPerRequest: null,
      connectTimeout: timeout,
      retryStrategy: (attempt: number) => Math.min(attempt * 50, maxDelay),
    } as const;
    const pub = new Redis(url, { ...common, enableAutoPipelining: true, enableOfflineQueue: false });
    const sub = new Redis(url, { ...common });
    // Until the bus attaches its own handlers, a failed first connect is reported by the throw.
    const quiet = () => {};
    pub.on('error', quiet);
    sub.on('error', quiet);
    try {
      await Promise.all([pub.connect(), sub.connect()]);
    } catch (err) {
      pub.disconnect();
      sub.disconnect();
      throw new ParleyError(
        'unavailable',
        `cannot reach Redis at ${describe(url)}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    pub.off('error', quiet);
    sub.off('error', quiet);
    const bus = new RedisBus(pub, sub, options);
    bus.#everReady = true;
    await sub.subscribe(bus.#probeChannel());
    bus.#subscribed = true;
    return bus;
  }

  get connected(): boolean {
    return this.#pub.status === 'ready' && this.#sub.status === 'ready' && this.#subscribed;
  }

  setHandler(handler: BusHandler, onResync?: ResyncHandler): void {
    this.#local.setHandler(handler, onResync);
  }

  async subscribe(topic: string): Promise<void> {
    if (!this.#local.add(topic)) return;
    const subscribed = this.#sub.subscribe(this.#prefix + topic);
    // While Redis is down the command waits in ioredis's queue; local delivery works already,
    // and the resync after reconnecting covers what other nodes published meanwhile.
    if (this.#sub.status === 'ready') await subscribed;
    else subscribed.catch((err) => this.#onError(err, 'redis subscribe'));
  }

  async unsubscribe(topic: string): Promise<void> {
    if (!this.#local.delete(topic)) return;
    await this.#sub.unsubscribe(this.#prefix + topic).catch((err) => this.#onError(err, 'redis unsubscribe'));
  }

  async publish(topic: string, event: BusEvent): Promise<void> {
    if (this.#closed) return;
    this.#local.deliver(topic, event);
    const envelope: Envelope = { n: this.nodeId, e: event };
    try {
      await this.#pub.publish(this.#prefix + topic, JSON.stringify(envelope));
    } catch (err) {
      // Other nodes never see this event; once Redis is back they are told to resync.
      this.#publishesDropped = true;
      this.#onError(err, 'redis publish');
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#probeTimer);
    this.#local.clear();
    await Promise.allSettled([this.#pub.quit(), this.#sub.quit()]);
    this.#pub.disconnect();
    this.#sub.disconnect();
  }

  #onMessage(channel: string, raw: string): void {
    if (channel === this.#probeChannel()) {
      this.#probeSentAt = undefined;
      return;
    }
    if (!channel.startsWith(this.#prefix)) return;
    let envelope: Envelope;
    try {
      envelope = JSON.parse(raw) as Envelope;
    } catch (err) {
      this.#onError(err, 'redis bus: malformed envelope');
      return;
    }
    if (envelope.n === this.nodeId) return;
    if (envelope.e.kind === 'resync') {
      this.#local.resync();
      return;
    }
    this.#local.deliver(channel.slice(this.#prefix.length), envelope.e);
  }

  #onSubscriberReady(): void {
    if (!this.#everReady) {
      this.#everReady = true;
      return;
    }
    // ioredis re-sent this node's SUBSCRIBEs just before 'ready' (it emits on the next tick): a
    // PING queued behind them is answered once they are all in effect. Only then is the node
    // told to resync, so what it re-reads is not overtaken by an event it still cannot receive.
    this.#sub.ping().then(
      () => {
        if (this.#closed || this.#sub.status !== 'ready') return;
        this.#subscribed = true;
        this.#local.resync();
      },
      // The link dropped again: its next 'ready' tries again.
      (err: unknown) => this.#onError(err, 'redis resubscribe'),
    );
  }

  #probe(): void {
    if (this.#closed || this.#sub.status !== 'ready') return;
    const now = Date.now();
    if (this.#probeSentAt !== undefined && now - this.#probeSentAt > this.#probeTimeoutMs) {
      // Connected but silent: the subscriber link is dead in a way TCP has not noticed.
      this.#onError(new Error('redis subscriber missed its probe; reconnecting'), 'redis probe');
      this.#probeSentAt = undefined;
      this.#sub.disconnect(true);
      return;
    }
    if (this.#probeSentAt === undefined) {
      this.#probeSentAt = now;
      this.#pub.publish(this.#probeChannel(), '1').catch(() => {});
    }
  }

  #announceResyncIfDropped(): void {
    if (!this.#publishesDropped) return;
    this.#publishesDropped = false;
    const envelope: Envelope = { n: this.nodeId, e: { kind: 'resync', node: this.nodeId } };
    this.#pub.publish(this.#prefix + CONTROL_TOPIC, JSON.stringify(envelope)).catch((err) => {
      this.#publishesDropped = true;
      this.#onError(err, 'redis resync announce');
    });
  }

  #probeChannel(): string {
    return `${this.#prefix}probe:${this.nodeId}`;
  }
}

function describe(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 6379}`;
  } catch {
    return 'the configured URL';
  }
}
