import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { Limits } from '../../config.js';
import type { PusherApp } from '../../config-pusher.js';
import type { ChatObserver } from '../../core/chat-observer.js';
import type { ChatService } from '../../core/chat-service.js';
import type { GatewayConnection, WireEndpoint } from '../../transport/ws/ws-gateway.js';
import type { WsSocket } from '../../transport/ws/ws-socket.js';
import { PusherChannelNames } from './pusher-channel-names.js';
import { PusherEncoder } from './pusher-encoder.js';
import { PusherHttpApi } from './pusher-http-api.js';
import { PusherCode, PusherSession } from './pusher-session.js';
import { type PusherWebhookSink, PusherWebhooks } from './pusher-webhooks.js';

const PATH = /^\/app\/([^/]+)$/;
/** Protocol versions served (pusher-js 8 speaks 7). */
const PROTOCOLS = new Set(['5', '6', '7']);

/** What the Pusher wire needs from the node. */
export interface PusherWireDeps {
  readonly apps: readonly PusherApp[];
  readonly limits: Limits;
  readonly logger: Logger;
  /** Where the apps' webhooks go (the outbox); none = no Pusher webhooks. */
  readonly webhooks?: PusherWebhookSink;
}

/**
 * The Pusher Channels protocol as a second wire over the core: WebSockets at `/app/{key}`
 * (protocol 7), the HTTP API at `/apps/{id}/…`, Pusher-format webhooks. Pusher channels are
 * Parley channels, so every triggered event is stored, ordered and resumable.
 */
export class PusherWire implements WireEndpoint {
  readonly names = new PusherChannelNames();
  readonly encoder: PusherEncoder;
  readonly webhooks: PusherWebhooks;
  readonly #deps: PusherWireDeps;
  readonly #byKey: ReadonlyMap<string, PusherApp>;
  #chat: ChatService | undefined;
  #http: PusherHttpApi | undefined;

  constructor(deps: PusherWireDeps) {
    this.#deps = deps;
    this.#byKey = new Map(deps.apps.map((a) => [a.key, a]));
    this.encoder = new PusherEncoder(this.names);
    this.webhooks = new PusherWebhooks(deps.apps, deps.webhooks);
  }

  /**
   * The core's hooks this wire turns into webhooks; give them to the ChatService, then call
   * `attach` with it.
   */
  observer(): Required<Pick<ChatObserver, 'presenceChanged' | 'occupancyChanged'>> {
    return {
      presenceChanged: (channelId, event, user) => {
        const found = this.names.channelOf(channelId);
        if (found === undefined || !this.webhooks.has(found.app) || !found.name.startsWith('presence-'))
          return;
        this.webhooks.member(found.app, found.name, event, user, async () => {
          const online = (await this.#chat?.subscriptions.online(channelId)) ?? [];
          return !online.some((u) => u.id === user.id);
        });
      },
      occupancyChanged: (channelId, occupied) => {
        const found = this.names.channelOf(channelId);
        if (found === undefined || !this.webhooks.has(found.app)) return;
        this.webhooks.occupancy(found.app, found.name, occupied, async () => {
          return ((await this.#chat?.subscriptions.occupancy(channelId))?.subscriptions ?? 0) === 0;
        });
      },
    };
  }

  /** Connects the wire to the node's core. */
  attach(chat: ChatService): void {
    this.#chat = chat;
    this.#http = new PusherHttpApi({
      chat,
      apps: this.#deps.apps,
      names: this.names,
      // A full batch of the largest events, with room for JSON around them.
      bodyMaxBytes: Math.max(
        this.#deps.limits.httpBodyMaxBytes,
        ...this.#deps.apps.map((a) => a.maxEventBytes * a.maxBatchEvents * 2 + 64 * 1024),
      ),
      onError: (err) => this.#deps.logger.error({ err }, 'pusher api request failed'),
    });
  }

  /** The HTTP API, once attached. */
  get http(): PusherHttpApi {
    if (this.#http === undefined) throw new Error('PusherWire.attach was not called');
    return this.#http;
  }

  /** Whether the gateway should give this wire a WebSocket on `path`. */
  static serves(path: string): boolean {
    return PATH.test(path);
  }

  open(socket: WsSocket, req: IncomingMessage, closed: (conn: GatewayConnection) => void): GatewayConnection {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const key = PATH.exec(url.pathname)?.[1];
    const app = key === undefined ? undefined : this.#byKey.get(decodeURIComponent(key));
    const protocol = url.searchParams.get('protocol');
    const refusal =
      app === undefined
        ? { code: PusherCode.AppNotFound, message: `no app with the key "${(key ?? '').slice(0, 64)}"` }
        : protocol === null
          ? { code: PusherCode.NoProtocol, message: 'no protocol version given' }
          : !PROTOCOLS.has(protocol)
            ? {
                code: PusherCode.UnsupportedProtocol,
                message: `protocol ${protocol.slice(0, 8)} is not supported (7 is)`,
              }
            : undefined;
    const chat = this.#chat;
    if (refusal !== undefined || app === undefined || chat === undefined) {
      return refuse(socket, refusal ?? { code: PusherCode.ReconnectNow, message: 'not ready' }, closed);
    }
    const limits = this.#deps.limits;
    return new PusherSession(
      app,
      socket,
      {
        chat,
        names: this.names,
        encoder: this.encoder,
        logger: this.#deps.logger,
        framesPerSecond: limits.framesPerSecond,
        framesBurst: limits.framesBurst,
        historyPageMax: limits.historyPageMax,
        onClientEvent: (a, channel, event, data, socketId, userId) =>
          this.webhooks.clientEvent(a, channel, event, data, socketId, userId),
        onCacheMiss: (a, channel) => this.webhooks.cacheMiss(a, channel),
      },
      closed,
    );
  }

  close(): void {
    this.webhooks.close();
  }
}

// A connection refused at once: the error as Pusher sends it, then the close with its code.
function refuse(
  socket: WsSocket,
  refusal: { readonly code: number; readonly message: string },
  closed: (conn: GatewayConnection) => void,
): GatewayConnection {
  const conn: GatewayConnection = {
    heartbeat: () => {},
    stopReading: () => {},
    shutdown: () => socket.close(PusherCode.ReconnectNow, 'server shutting down'),
    onClosed: (fn) => socket.onClosed(fn),
  };
  socket.listen({ message: () => {}, overflow: () => {}, closed: () => closed(conn) });
  socket.sendText(
    JSON.stringify({ event: 'pusher:error', data: { code: refusal.code, message: refusal.message } }),
  );
  socket.close(refusal.code, refusal.message);
  return conn;
}
