import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import * as wsPackage from 'ws';
import { WebSocketServer } from 'ws';
import { CloseCode } from '../../protocol/close-codes.js';
import { TokenBucket } from '../chat/token-bucket.js';
import { clientIp } from '../client-ip.js';
import { Connection, type ConnectionDeps } from './connection.js';
import { Slots } from './slots.js';

/** Options of the WebSocket gateway. */
const NONE: ReadonlySet<string> = new Set();

// ws's header parser and extension, exported at run time but absent from @types/ws.
const { extension, PerMessageDeflate } = wsPackage as unknown as {
  extension: { parse(header: string): Record<string, unknown[]> };
  PerMessageDeflate: new (options: object) => { accept(offers: unknown[]): unknown };
};

export interface WsGatewayOptions extends ConnectionDeps {
  /** The path WebSockets upgrade on. */
  readonly path: string;
  /** Allowed `Origin` values; empty = same host only. Requests without Origin (non-browsers) pass. */
  readonly allowedOrigins: readonly string[];
  /** Accept any Origin (development). */
  readonly anyOrigin: boolean;
  /** Proxies whose `X-Forwarded-For` names the client (for the per-IP connect limit). */
  readonly trustedProxies?: ReadonlySet<string>;
}

/**
 * The WebSocket handshake: path, Origin allowlist and payload caps; then one Connection per
 * socket. Owns the heartbeat of all its connections.
 */
export class WsGateway {
  readonly #wss: WebSocketServer;
  readonly #options: WsGatewayOptions;
  readonly #deflate: object | undefined;
  readonly #connections = new Set<Connection>();
  readonly #heartbeat: NodeJS.Timeout;
  // Per remote address. Refilled buckets are forgotten each heartbeat so the map stays bounded;
  // forgetting a full bucket changes nothing.
  readonly #connectBuckets = new Map<string, TokenBucket>();
  #accepting = true;
  readonly #forget = (conn: Connection): void => {
    this.#connections.delete(conn);
  };

  constructor(options: WsGatewayOptions) {
    this.#options = { ...options, authSlots: options.authSlots ?? new Slots(options.limits.authConcurrency) };
    // Offered only when compression is on. Parley compresses every message on its own, with no
    // dictionary kept between messages, so each broadcast is compressed once for every socket
    // (OutFrame); server_no_context_takeover tells clients they need not keep a window for it.
    // client_no_context_takeover: a client's compressor keeps no context either, so a token sent
    // in `auth` or `refresh` is not in the window later messages are compressed against.
    // ws inflates what clients send, and its maxPayload caps the inflated size (close 1009).
    // Each client that compresses keeps an inflate stream here; a 4-KiB output chunk instead of
    // zlib's 16 KiB trims it.
    this.#deflate =
      options.compressMinBytes === undefined
        ? undefined
        : {
            serverNoContextTakeover: true,
            clientNoContextTakeover: true,
            zlibInflateOptions: { chunkSize: 4096 },
          };
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.limits.maxPayloadBytes,
      maxFragments: options.limits.maxFragments,
      perMessageDeflate: this.#deflate ?? false,
      clientTracking: false,
    } as ConstructorParameters<typeof WebSocketServer>[0]);
    this.#heartbeat = setInterval(() => {
      const now = Date.now();
      for (const [ip, bucket] of this.#connectBuckets)
        if (bucket.isFull(now)) this.#connectBuckets.delete(ip);
      for (const c of this.#connections) c.heartbeat();
    }, options.heartbeatMs);
    this.#heartbeat.unref();
  }

  /** Open connections (authenticated or not). */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Handles an HTTP upgrade request; refuses wrong paths and Origins with an HTTP error. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!this.#accepting) {
      reject(socket, 503, 'Service Unavailable');
    } else if (url.pathname !== this.#options.path) {
      reject(socket, 404, 'Not Found');
    } else if (!this.#originAllowed(req)) {
      reject(socket, 403, 'Forbidden');
    } else if (!this.#connectAllowed(req)) {
      reject(socket, 429, 'Too Many Requests');
    } else {
      this.#accept(req, socket, head);
    }
  }

  #accept(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // ws answers an extension offer it cannot parse or accept with 400. A server should decline
    // the extension instead (RFC 7692 §5): such a client connects without compression.
    const offered = req.headers['sec-websocket-extensions'];
    if (this.#deflate !== undefined && offered !== undefined && !this.#acceptable(offered)) {
      delete req.headers['sec-websocket-extensions'];
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      // One shared callback forgets a closed connection: a `once('close')` per socket would
      // keep a closure, its context and once's wrapper for every idle connection.
      this.#connections.add(new Connection(ws, this.#options, this.#forget));
    });
  }

  /** Stops accepting sockets, and frames on open ones (the first step of a drain). */
  pause(): void {
    this.#accepting = false;
    for (const c of this.#connections) c.stopReading();
  }

  /** Stops accepting, and closes every connection with `code` (reconnect elsewhere by default). */
  async close(code: number = CloseCode.ServerShutdown): Promise<void> {
    this.#accepting = false;
    clearInterval(this.#heartbeat);
    const closed = [...this.#connections].map((c) => new Promise<void>((resolve) => c.onClosed(resolve)));
    for (const c of this.#connections) c.close(code, 'server shutting down');
    await Promise.all(closed);
  }

  #connectAllowed(req: IncomingMessage): boolean {
    const ip = clientIp(
      req.socket.remoteAddress,
      req.headers['x-forwarded-for'],
      this.#options.trustedProxies ?? NONE,
    );
    let bucket = this.#connectBuckets.get(ip);
    if (bucket === undefined) {
      const { connectPerSecondPerIp, connectBurstPerIp } = this.#options.limits;
      bucket = new TokenBucket(connectPerSecondPerIp, connectBurstPerIp);
      this.#connectBuckets.set(ip, bucket);
    }
    return bucket.take();
  }

  // Whether ws would accept this Sec-WebSocket-Extensions header (the same check it makes).
  #acceptable(header: string): boolean {
    try {
      const offers = extension.parse(header)['permessage-deflate'];
      if (offers !== undefined) {
        new PerMessageDeflate({
          ...this.#deflate,
          isServer: true,
          maxPayload: this.#options.limits.maxPayloadBytes,
        }).accept(offers);
      }
      return true;
    } catch {
      return false;
    }
  }

  #originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined || this.#options.anyOrigin) return true;
    if (this.#options.allowedOrigins.includes(origin)) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }
}

function reject(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
