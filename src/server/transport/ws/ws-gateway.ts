import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import * as wsPackage from 'ws';
import { WebSocketServer } from 'ws';
import { clientIp } from '../../client-ip.js';
import type { Limits } from '../../config.js';
import { TokenBucket } from '../../token-bucket.js';
import { WsSocket } from './ws-socket.js';

const NONE: ReadonlySet<string> = new Set();

// ws's header parser and extension, exported at run time but absent from @types/ws (ws is
// pinned with ~ for them).
const { extension, PerMessageDeflate } = wsPackage as unknown as {
  extension: { parse(header: string): Record<string, Record<string, unknown[]>[]> };
  PerMessageDeflate: new (options: object) => { accept(offers: unknown[]): unknown };
};

/** A connection of some wire, as the gateway keeps it: for the heartbeat and the drain. */
export interface GatewayConnection {
  /** Called every heartbeat interval: the wire pings, or closes a peer that went silent. */
  heartbeat(): void;
  /** Refuses further frames (the first step of a drain). */
  stopReading(): void;
  /** Closes with the wire's "server shutting down, reconnect elsewhere". */
  shutdown(): void;
  /** Calls `fn` once the socket is fully closed. */
  onClosed(fn: () => void): void;
}

/** A wire protocol served on some WebSocket path. */
export interface WireEndpoint {
  /**
   * Takes an upgraded socket; the request is the handshake's (path, headers). The connection
   * calls `closed` with itself once its socket has closed.
   */
  open(socket: WsSocket, req: IncomingMessage, closed: (conn: GatewayConnection) => void): GatewayConnection;
}

/** Options of the WebSocket gateway. */
export interface WsGatewayOptions {
  /** The wire served on a path, or undefined (404). */
  readonly wireFor: (pathname: string) => WireEndpoint | undefined;
  readonly limits: Limits;
  readonly heartbeatMs: number;
  /**
   * Smallest payload sent compressed to a socket that negotiated permessage-deflate (with
   * `server_no_context_takeover` and a full window); undefined = compression is off.
   */
  readonly compressMinBytes?: number | undefined;
  /** Allowed `Origin` values; empty = same host only. Requests without Origin (non-browsers) pass. */
  readonly allowedOrigins: readonly string[];
  /** Accept any Origin (development). */
  readonly anyOrigin: boolean;
  /** Proxies whose `X-Forwarded-For` names the client (for the per-IP connect limit). */
  readonly trustedProxies?: ReadonlySet<string>;
}

/**
 * The WebSocket handshake: path (which picks the wire), Origin allowlist, per-IP connect rate
 * and payload caps; then one WsSocket per connection, handed to its wire. Owns the heartbeat
 * and the drain of all its connections.
 */
export class WsGateway {
  readonly #wss: WebSocketServer;
  readonly #options: WsGatewayOptions;
  readonly #deflate: object | undefined;
  readonly #connections = new Set<GatewayConnection>();
  // The permessage-deflate parameters ws accepted, per handshake, from its public 'headers' event.
  readonly #negotiated = new WeakMap<IncomingMessage, string>();
  readonly #heartbeat: NodeJS.Timeout;
  // Per remote address. Refilled buckets are forgotten each heartbeat so the map stays bounded;
  // forgetting a full bucket changes nothing.
  readonly #connectBuckets = new Map<string, TokenBucket>();
  #accepting = true;
  readonly #forget = (conn: GatewayConnection): void => {
    this.#connections.delete(conn);
  };

  constructor(options: WsGatewayOptions) {
    this.#options = options;
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
    if (this.#deflate !== undefined) {
      this.#wss.on('headers', (headers: string[], req: IncomingMessage) => {
        const line = headers.find((h) => h.toLowerCase().startsWith('sec-websocket-extensions:'));
        if (line !== undefined) this.#negotiated.set(req, line.slice(line.indexOf(':') + 1).trim());
      });
    }
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
    const wire = this.#accepting ? this.#options.wireFor(url.pathname) : undefined;
    if (!this.#accepting) {
      reject(socket, 503, 'Service Unavailable');
    } else if (wire === undefined) {
      reject(socket, 404, 'Not Found');
    } else if (!this.#originAllowed(req)) {
      reject(socket, 403, 'Forbidden');
    } else if (!this.#connectAllowed(req)) {
      reject(socket, 429, 'Too Many Requests');
    } else {
      this.#accept(req, socket, head, wire);
    }
  }

  #accept(req: IncomingMessage, socket: Duplex, head: Buffer, wire: WireEndpoint): void {
    // ws answers an extension offer it cannot parse or accept with 400. A server should decline
    // the extension instead (RFC 7692 §5): such a client connects without compression.
    const offered = req.headers['sec-websocket-extensions'];
    if (this.#deflate !== undefined && offered !== undefined && !this.#acceptable(offered)) {
      delete req.headers['sec-websocket-extensions'];
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const negotiated = this.#negotiated.get(req);
      this.#negotiated.delete(req);
      const wsSocket = new WsSocket(ws, socket as Socket, {
        sendQueueMaxBytes: this.#options.limits.sendQueueMaxBytes,
        compressMinBytes: compressMinFor(negotiated, this.#options.compressMinBytes),
      });
      // One shared callback forgets a closed connection: a `once('close')` per socket would
      // keep a closure, its context and once's wrapper for every idle connection.
      this.#connections.add(wire.open(wsSocket, req, this.#forget));
    });
  }

  /** Stops accepting sockets, and frames on open ones (the first step of a drain). */
  pause(): void {
    this.#accepting = false;
    for (const c of this.#connections) c.stopReading();
  }

  /** Stops accepting, and closes every connection with its wire's "reconnect elsewhere". */
  async close(): Promise<void> {
    this.#accepting = false;
    clearInterval(this.#heartbeat);
    const closed = [...this.#connections].map((c) => new Promise<void>((resolve) => c.onClosed(resolve)));
    for (const c of this.#connections) c.shutdown();
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

// The smallest payload to compress for this socket, or undefined to send it plain frames: from
// the Sec-WebSocket-Extensions answer ws sent. A shared compressed frame is made with zlib's
// full 32-KiB window: a socket that asked for a smaller server window gets plain frames.
function compressMinFor(answer: string | undefined, minBytes: number | undefined): number | undefined {
  if (minBytes === undefined || answer === undefined) return undefined;
  let params: Record<string, unknown[]> | undefined;
  try {
    params = extension.parse(answer)['permessage-deflate']?.[0];
  } catch {
    return undefined;
  }
  if (params === undefined) return undefined;
  const bits = params.server_max_window_bits?.[0];
  return bits === undefined || String(bits) === '15' ? minBytes : undefined;
}

function reject(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
