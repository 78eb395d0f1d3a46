import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { ParleyError } from '../../protocol/error-catalogue.js';
import type { ChannelKind, Message } from '../../protocol/frames.js';
import type { PushConfig } from '../config-push.js';
import type { Actor } from '../core/actor.js';
import type { PushLevel } from '../store/push-store.js';
import type { Store } from '../store/store.js';
import { PushScheduler } from './push-scheduler.js';
import { type PushOutcome, PushSender } from './push-sender.js';
import type { PushTransport } from './push-transport.js';

/** A subscription as the browser's `PushSubscription.toJSON()` gives it. */
export interface PushSubscriptionInput {
  readonly endpoint: string;
  readonly keys: { readonly p256dh: string; readonly auth: string };
}

/** A VAPID key pair (base64url). */
export interface VapidKeys {
  readonly publicKey: string;
  readonly privateKey: string;
}

/** What a `PushService` runs on. */
export interface PushServiceDeps {
  readonly config: PushConfig;
  readonly store: Store;
  /** The transport that signs with the cluster's VAPID pair. */
  readonly transportFor: (vapid: VapidKeys & { readonly subject: string }) => PushTransport;
  /** A new VAPID pair, for a cluster that has none configured nor stored. */
  readonly generateKeys: () => VapidKeys;
  /** Whether the actor may read the channel (throws the core's refusal) and its kind. */
  readonly checkChannel: (actor: Actor, channelId: string) => Promise<{ readonly kind: ChannelKind }>;
  /** The kind of a channel, from the core's cache. */
  readonly channelKind: (channelId: string) => Promise<ChannelKind | undefined>;
  /** This node's name in claims. */
  readonly node: string;
  readonly logger: Logger;
  readonly onError: (err: unknown, what: string) => void;
}

// A P-256 public key is 65 bytes (87 base64url characters), an auth secret 16 (22).
const P256DH = /^[A-Za-z0-9_-]{80,100}={0,2}$/;
const AUTH = /^[A-Za-z0-9_-]{16,32}={0,2}$/;

/**
 * Web Push to users who are away (issue 16): the user API's part (the VAPID public key,
 * subscriptions of the signed-in user's browsers, their per-channel level) and the scheduling
 * and sending of pushes (`PushScheduler`, `PushSender`). Outcomes are counted in `outcomes`.
 */
export class PushService {
  readonly #d: PushServiceDeps;
  readonly #scheduler: PushScheduler;
  #sender: PushSender | undefined;
  #publicKey: string | undefined;
  /** How many due pushes ended in each way on this node. */
  readonly outcomes: Record<PushOutcome, number> = {
    sent: 0,
    held: 0,
    read: 0,
    rate_limited: 0,
    dropped: 0,
    failed: 0,
  };

  constructor(deps: PushServiceDeps) {
    this.#d = deps;
    const limits = deps.config.limits;
    this.#scheduler = new PushScheduler({
      store: deps.store.push,
      channelKind: deps.channelKind,
      graceMs: limits.pushGraceMs,
      queueMax: limits.pushQueueMax,
      onQueued: (dueAt) => this.#sender?.wake(dueAt),
      onError: deps.onError,
    });
  }

  /** The VAPID public key the page subscribes with (base64url). */
  get vapidPublicKey(): string {
    if (this.#publicKey === undefined) throw new ParleyError('unavailable', 'push is starting');
    return this.#publicKey;
  }

  /** The ChatObserver hook: a message was committed on this node. */
  messageCreated(message: Message): void {
    this.#scheduler.messageCreated(message);
  }

  /** Stores the subscription of the actor's browser; `bad_request` for one that cannot be used. */
  async subscribe(actor: Actor, input: PushSubscriptionInput): Promise<void> {
    this.#checkEndpoint(input.endpoint);
    if (!P256DH.test(input.keys.p256dh))
      throw new ParleyError('bad_request', '"keys.p256dh" is not a P-256 public key');
    if (!AUTH.test(input.keys.auth))
      throw new ParleyError('bad_request', '"keys.auth" is not an auth secret');
    await this.#d.store.push.savePushSubscription(
      { userId: actor.user.id, endpoint: input.endpoint, p256dh: input.keys.p256dh, auth: input.keys.auth },
      this.#d.config.limits.pushSubscriptionsMax,
      Date.now(),
    );
  }

  /** Removes the actor's subscription of that endpoint; `not_found` when they have none. */
  async unsubscribe(actor: Actor, endpoint: string): Promise<void> {
    if (!(await this.#d.store.push.deletePushSubscription(actor.user.id, endpoint)))
      throw new ParleyError('not_found', 'no such push subscription of yours');
  }

  /** The actor's level in a channel they may read, and whether it is the default. */
  async level(actor: Actor, channelId: string): Promise<{ level: PushLevel; default: boolean }> {
    const { kind } = await this.#d.checkChannel(actor, channelId);
    const stored = await this.#d.store.push.pushLevel(actor.user.id, channelId);
    return stored === null
      ? { level: kind === 'dm' ? 'all' : 'mentions', default: true }
      : { level: stored, default: false };
  }

  /** Sets the actor's level in a channel they may read (null: back to the default). */
  async setLevel(
    actor: Actor,
    channelId: string,
    level: PushLevel | null,
  ): Promise<{ level: PushLevel; default: boolean }> {
    await this.#d.checkChannel(actor, channelId);
    await this.#d.store.push.setPushLevel(actor.user.id, channelId, level);
    return this.level(actor, channelId);
  }

  /**
   * Reads the cluster's VAPID pair (the configured one, or the one kept in the Store, made by
   * the first node that needed it) and starts sending due pushes. After the Store's migration.
   */
  async start(): Promise<void> {
    const { config, store } = this.#d;
    const keys =
      config.vapidPublicKey !== undefined && config.vapidPrivateKey !== undefined
        ? { publicKey: config.vapidPublicKey, privateKey: config.vapidPrivateKey }
        : await store.push.vapidKeys(this.#d.generateKeys, Date.now());
    this.#publicKey = keys.publicKey;
    this.#sender = new PushSender({
      store,
      transport: this.#d.transportFor({ ...keys, subject: config.subject }),
      node: this.#d.node,
      limits: config.limits,
      logger: this.#d.logger,
      onOutcome: (outcome) => {
        this.outcomes[outcome]++;
      },
    });
    this.#sender.start();
  }

  /** Resolves once the messages committed so far were looked at (tests). */
  scheduled(): Promise<void> {
    return this.#scheduler.idle();
  }

  /** Stops scheduling and sending (pushes not yet sent stay in the Store). */
  async close(): Promise<void> {
    this.#scheduler.close();
    await this.#sender?.close();
  }

  #checkEndpoint(endpoint: string): void {
    const max = this.#d.config.limits.pushEndpointMaxChars;
    if (endpoint.length > max)
      throw new ParleyError('bad_request', `"endpoint" is longer than ${max} characters`);
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new ParleyError('bad_request', '"endpoint" is not a URL');
    }
    const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
    const loopback = host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
    if (url.protocol === 'http:' && loopback && this.#d.config.insecureLoopback) return;
    if (url.protocol !== 'https:') throw new ParleyError('bad_request', '"endpoint" must be an https URL');
    if (url.username !== '' || url.password !== '')
      throw new ParleyError('bad_request', '"endpoint" must not hold credentials');
    const hosts = this.#d.config.endpointHosts;
    const allowed = hosts.some((h) => h === '*' || (h.startsWith('.') ? host.endsWith(h) : host === h));
    if (!allowed)
      throw new ParleyError('bad_request', '"endpoint" is not on a push service this server sends to');
  }
}
