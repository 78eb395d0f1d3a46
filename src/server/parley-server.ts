import { createHmac } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { ParleyError } from '../protocol/error-catalogue.js';
import { Accounts } from './auth/accounts.js';
import { Argon2PasswordHasher } from './auth/argon2-password-hasher.js';
import { JoseTokenIssuer } from './auth/jose-token-issuer.js';
import { RevocationCheckingVerifier } from './auth/revocation-checking-verifier.js';
import { Slots } from './auth/slots.js';
import type { TokenVerifier } from './auth/token-verifier.js';
import type { Bus } from './bus/bus.js';
import type { HistoryCache } from './cache/history-cache.js';
import { trustedProxySet } from './client-ip.js';
import type { Config } from './config.js';
import { attachmentExport } from './core/attachment-export.js';
import { ChatService } from './core/chat-service.js';
import { DebugTap } from './core/debug-tap.js';
import { Erasure } from './core/erasure.js';
import { Exports } from './core/exports.js';
import type { FileStore } from './files/file-store.js';
import { openFileStore } from './files/open-file-store.js';
import { HttpApi } from './http/http-api.js';
import { createHttpServer } from './http/http-server.js';
import { WebPage } from './http/web-page.js';
import { ParleyMetrics } from './metrics/parley-metrics.js';
import type { Presence } from './presence/presence.js';
import { PushService } from './push/push-service.js';
import { WebPushTransport } from './push/web-push-transport.js';
import { RetentionPruner } from './retention/retention-pruner.js';
import type { Store } from './store/store.js';
import { WsGateway } from './transport/ws/ws-gateway.js';
import { chatWebhooks, enqueue } from './webhooks/chat-webhooks.js';
import { ClusterOnline } from './webhooks/cluster-online.js';
import { HttpBeforePublish } from './webhooks/http-before-publish.js';
import { WebhookSender, webhookNodeName } from './webhooks/webhook-sender.js';
import { ParleyV1Wire } from './wire/parley-v1/parley-v1-wire.js';
import { PusherHttpApi } from './wire/pusher/pusher-http-api.js';
import { PusherWire } from './wire/pusher/pusher-wire.js';

/** The pluggable parts a node runs on; chosen by main.ts (or a test). */
export interface ServerParts {
  readonly store: Store;
  readonly bus: Bus;
  readonly presence: Presence;
  readonly verifier: TokenVerifier;
  readonly logger: Logger;
  /** The node's metrics; give the same object to `openStore`'s `onBatch`. Default: a new one. */
  readonly metrics?: ParleyMetrics;
  /** Recent messages per channel; none = every history read goes to the Store. */
  readonly cache?: HistoryCache;
  /** Where attachment files go. Default: the one `config.attachments.storage` names. */
  readonly files?: FileStore;
}

/**
 * One Parley node: HTTP API and WebSocket gateway on one port, wired to the chat services,
 * the hub, and the given Store, Bus and Presence. `close()` drains it.
 */
export class ParleyServer {
  readonly #parts: ServerParts;
  readonly #http: Server;
  readonly #gateway: WsGateway;
  readonly chat: ChatService;
  readonly metrics: ParleyMetrics;
  /** Sends the webhook outbox; undefined when no webhook URL is configured (nor a Pusher app's). */
  readonly webhooks: WebhookSender | undefined;
  /** The Pusher-compatible endpoint; undefined when no Pusher app is configured. */
  readonly pusher: PusherWire | undefined;
  /** The retention job (issue 17): prunes old messages when this node holds the lease. */
  readonly retention: RetentionPruner;
  #migrated = false;
  readonly #online: ClusterOnline | undefined;
  readonly #files: FileStore;
  /** Web Push to users who are away; undefined unless `PARLEY_PUSH=on`. */
  readonly push: PushService | undefined;

  private constructor(config: Config, parts: ServerParts, web: WebPage | undefined) {
    this.#parts = parts;
    const { logger } = parts;
    const metrics = parts.metrics ?? new ParleyMetrics();
    this.metrics = metrics;
    // The admin console's tap (#17): what the core records, and webhooks and errors from here.
    const tap = new DebugTap(webhookNodeName(), { batchMax: config.limits.adminTraceBatchMax });
    const onError = (err: unknown, what: string) => {
      logger.error({ err }, what);
      if (tap.on) tap.record('error', `${what}: ${errorName(err)}`);
    };
    const { webhookUrls, webhookSecret } = config.api;
    const routing =
      webhookUrls.length === 0 || webhookSecret === undefined
        ? undefined
        : { urls: webhookUrls, retryWindowMs: config.limits.webhookRetryWindowMs };
    // The Store writes message and member events to the outbox in their own transactions.
    parts.store.routeWebhooks(routing);
    const pusherHooks = config.pusher.apps.some((app) => app.webhookUrls.length > 0);
    const sender =
      routing === undefined && !pusherHooks
        ? undefined
        : new WebhookSender({
            store: parts.store,
            node: webhookNodeName(),
            secret: webhookSecret,
            retryWindowMs: config.limits.webhookRetryWindowMs,
            retryBaseMs: config.limits.webhookRetryBaseMs,
            retryMaxMs: config.limits.webhookRetryMaxMs,
            timeoutMs: config.limits.webhookTimeoutMs,
            concurrency: config.limits.webhookConcurrency,
            pollMs: config.limits.webhookPollMs,
            logger,
            onOutcome: (outcome, delivery) => {
              metrics.webhookDeliveries.inc({ outcome });
              if (tap.on) {
                const detail = `${delivery.type} ${outcome} (attempt ${delivery.attempts + 1}) to ${safeUrl(delivery.url)}`;
                tap.record('webhook', detail);
              }
            },
          });
    this.webhooks = sender;
    // Web Push needs the cluster's online state too: "away" means connected to no node.
    const online =
      (sender === undefined || routing === undefined) && !config.push.enabled
        ? undefined
        : new ClusterOnline({
            store: parts.store,
            node: webhookNodeName(),
            nodeTtlMs: config.limits.nodeTtlMs,
            graceMs: config.limits.offlineGraceMs,
            logger,
            onTransition: () => sender?.wake(),
          });
    this.#online = online;
    this.retention = new RetentionPruner({
      store: parts.store,
      ...config.retention,
      logger,
      onPruned: (_channel, n) => metrics.retentionPruned.inc(n),
    });
    const verifier = new RevocationCheckingVerifier(parts.verifier, parts.store, (reason) =>
      metrics.authFailures.inc({ reason }),
    );
    const pusher =
      config.pusher.apps.length === 0
        ? undefined
        : new PusherWire({
            apps: config.pusher.apps,
            limits: config.limits,
            logger,
            ...(sender === undefined
              ? {}
              : {
                  webhooks: {
                    enqueue: (deliveries) => enqueue(parts.store, sender, deliveries, onError),
                    retryWindowMs: config.limits.webhookRetryWindowMs,
                  },
                }),
          });
    this.pusher = pusher;
    this.#files = parts.files ?? openFileStore(config.attachments.storage);
    const hook = config.api.beforePublish;
    let push: PushService | undefined;
    const chat = new ChatService({
      attachments: {
        files: this.#files,
        config: config.attachments,
        // Its own key: a download ticket can never pass for a token, nor the other way round.
        ticketKey: createHmac('sha256', config.jwt.secret).update('parley attachment tickets').digest(),
      },
      ...(hook === undefined || webhookSecret === undefined
        ? {}
        : {
            beforePublish: new HttpBeforePublish({
              url: hook.url,
              secret: webhookSecret,
              timeoutMs: config.limits.beforePublishTimeoutMs,
              failOpen: hook.failOpen,
              onFailure: (reason) => parts.logger.warn({ reason }, 'before-publish hook did not answer'),
            }),
          }),
      store: parts.store,
      bus: parts.bus,
      presence: parts.presence,
      limits: config.limits,
      cache: parts.cache,
      hub: { onDeliver: metrics.onDeliver },
      tap,
      connections: () => this.#gateway.connectionCount,
      observer: {
        error: onError,
        ...(sender === undefined || online === undefined ? {} : chatWebhooks(sender, online)),
        ...(online === undefined
          ? {}
          : {
              userOnline: (user) => online.connected(user),
              userOffline: (user) => online.disconnected(user),
            }),
        messageCreated: (message) => {
          metrics.messagesPublished.inc();
          sender?.wake();
          push?.messageCreated(message);
          if (tap.on)
            tap.record('publish', `${message.id} seq ${message.seq}`, message.channel, message.user_id);
        },
        ...pusher?.observer(),
      },
    });
    pusher?.attach(chat);
    this.chat = chat;
    push = config.push.enabled
      ? new PushService({
          config: config.push,
          store: parts.store,
          transportFor: (vapid) =>
            new WebPushTransport({ vapid, timeoutMs: config.push.limits.pushTimeoutMs }),
          generateKeys: WebPushTransport.generateKeys,
          checkChannel: async (actor, channelId) => (await chat.access.check(actor, channelId)).channel,
          channelKind: async (channelId) => (await chat.access.channel(channelId))?.kind,
          node: webhookNodeName(),
          logger,
          onError,
        })
      : undefined;
    this.push = push;
    const trustedProxies = trustedProxySet(config.trustedProxies);
    const parleyV1 = new ParleyV1Wire({
      chat,
      verifier,
      limits: config.limits,
      heartbeatMs: config.limits.heartbeatMs,
      logger,
      onSlowConsumer: () => metrics.sendQueueDrops.inc(),
      authSlots: new Slots(config.limits.authConcurrency),
    });
    this.#gateway = new WsGateway({
      wireFor: (path) =>
        path === '/ws' ? parleyV1 : pusher !== undefined && PusherWire.serves(path) ? pusher : undefined,
      allowedOrigins: config.allowedOrigins,
      anyOrigin: config.dev,
      trustedProxies,
      limits: config.limits,
      heartbeatMs: config.limits.heartbeatMs,
      compressMinBytes: config.compressMinBytes,
    });
    const accounts = new Accounts({
      store: parts.store,
      hasher: new Argon2PasswordHasher(),
      issuer: new JoseTokenIssuer(config.jwt, config.api.accessTokenTtlSeconds),
      chat,
      api: config.api,
      limits: config.limits,
      onFailure: (reason) => metrics.authFailures.inc({ reason }),
      logger,
    });
    const pageRows = config.retention.pageRows;
    const api = new HttpApi({
      ready: async () => {
        if (!this.#migrated || !(await parts.store.ping())) return 'unavailable';
        return parts.bus.connected ? 'ready' : 'degraded';
      },
      chat,
      ...(sender === undefined ? {} : { webhooks: sender }),
      push,
      accounts,
      retention: {
        exports: new Exports({
          store: parts.store,
          pageRows,
          userSections: [attachmentExport(parts.store, pageRows)],
        }),
        erasure: new Erasure({
          store: parts.store,
          pageRows,
          cache: parts.cache,
          revoke: (userId, reason) => accounts.revoke(userId, { reason }),
        }),
      },
      verifier,
      api: config.api,
      limits: config.limits,
      metrics,
      logger,
      web,
      corsOrigins: config.dev ? 'any' : config.allowedOrigins,
      trustedProxies,
    });
    const gateway = this.#gateway;
    const hub = chat.hub;
    metrics.setSources({
      connections: () => gateway.connectionCount,
      channels: () => hub.channelCount,
      webhookOutbox: () => sender?.counts ?? { pending: 0, dead: 0 },
    });
    this.#http = createHttpServer({ limits: config.limits, trustedProxies }, (req, res) => {
      const handled =
        pusher !== undefined && PusherHttpApi.claims(req.url)
          ? pusher.http.handle(req, res)
          : api.handle(req, res);
      handled.catch((err) => {
        logger.error({ err }, 'http request failed');
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    this.#http.on('upgrade', (req, socket, head) => this.#gateway.handleUpgrade(req, socket, head));
  }

  /** Migrates the store, creates the default channels, and listens. */
  static async start(config: Config, parts: ServerParts): Promise<ParleyServer> {
    const web = config.web.enabled ? await WebPage.load(config.web) : undefined;
    if (config.web.enabled && web === undefined) {
      parts.logger.warn('the chat page is not built (npm run build): / answers with a short text');
    }
    const server = new ParleyServer(config, parts, web);
    await parts.store.migrate();
    server.#migrated = true;
    await server.chat.channels.ensure(config.defaultChannels);
    await server.chat.start();
    await server.#online?.start();
    await server.webhooks?.start();
    server.retention.start();
    await server.push?.start();
    await new Promise<void>((resolve, reject) => {
      server.#http.once('error', reject);
      server.#http.listen(config.port, config.host, () => {
        server.#http.off('error', reject);
        resolve();
      });
    });
    return server;
  }

  /** The port listened on (useful with port 0). */
  get port(): number {
    return (this.#http.address() as AddressInfo).port;
  }

  /**
   * Drains the node: stops accepting sockets and frames, finishes pending commits (their acks
   * still reach the clients), closes every client with "reconnect elsewhere" (4000), then closes
   * the bus and presence.
   */
  async close(): Promise<void> {
    const httpClosed = new Promise<void>((resolve) => this.#http.close(() => resolve()));
    this.#gateway.pause();
    // Claims of attempts in flight lapse: those deliveries are sent again (here after a
    // restart, or by another node).
    await this.webhooks?.close();
    await this.retention.close();
    await this.push?.close();
    await this.#online?.close();
    await this.#parts.store.close();
    await this.#gateway.close();
    this.#http.closeAllConnections();
    await httpClosed;
    this.chat.close();
    this.pusher?.close();
    await this.#parts.bus.close();
    await this.#parts.presence.close();
    await this.#parts.cache?.close();
    await this.#files.close();
  }
}

/** A webhook URL as the debug console shows it: scheme, host and path, no credentials or query. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(a malformed URL)';
  }
}

/** What the debug console says of an error: its catalogue code, or its name and system code; never its text. */
function errorName(err: unknown): string {
  if (err instanceof ParleyError) return err.code;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${err.name} ${code}` : err.name;
  }
  return typeof err;
}
