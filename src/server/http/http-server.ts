import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { clientIp } from '../client-ip.js';
import type { Limits } from '../config.js';

const NONE: ReadonlySet<string> = new Set();

/** The limits the HTTP server enforces before a request reaches a handler. */
export type HttpServerLimits = Pick<
  Limits,
  | 'httpHeadersTimeoutMs'
  | 'httpRequestTimeoutMs'
  | 'httpKeepAliveTimeoutMs'
  | 'httpMaxHeaderBytes'
  | 'httpConnectionsPerIp'
>;

/** Options of {@link createHttpServer}. */
export interface HttpServerOptions {
  readonly limits: HttpServerLimits;
  /**
   * Reverse proxies (`PARLEY_TRUSTED_PROXIES`): their connections carry many clients, so the
   * per-IP connection cap does not apply to them.
   */
  readonly trustedProxies?: ReadonlySet<string>;
}

/**
 * The node's `node:http` server, with every way a peer could hold memory by sending slowly
 * bounded: request heads (a WebSocket handshake too) must arrive within
 * `httpHeadersTimeoutMs` and whole requests within `httpRequestTimeoutMs` (then Node answers
 * 408 and closes the socket), heads are at most `httpMaxHeaderBytes` (431), idle keep-alive
 * connections close after `httpKeepAliveTimeoutMs`, and one client IP address may hold at most
 * `httpConnectionsPerIp` HTTP connections at once (a WebSocket stops counting once upgraded; a
 * connection over the cap is closed at once, unanswered). Bodies are capped where they are read.
 */
export function createHttpServer(options: HttpServerOptions, listener: RequestListener): Server {
  const { limits } = options;
  const server = createServer(
    {
      headersTimeout: limits.httpHeadersTimeoutMs,
      requestTimeout: limits.httpRequestTimeoutMs,
      keepAliveTimeout: limits.httpKeepAliveTimeoutMs,
      maxHeaderSize: limits.httpMaxHeaderBytes,
      // Node checks both deadlines every `connectionsCheckingInterval` (30 s by default, which
      // would let a 10-s deadline run to 40 s): every second, or a quarter of the shorter
      // deadline when that is less.
      connectionsCheckingInterval: Math.max(
        10,
        Math.min(1000, Math.floor(Math.min(limits.httpHeadersTimeoutMs, limits.httpRequestTimeoutMs) / 4)),
      ),
    },
    listener,
  );
  const perIp = new ConnectionsPerIp(limits.httpConnectionsPerIp, options.trustedProxies ?? NONE);
  server.on('connection', perIp.admit);
  // Registered before the gateway's own `upgrade` listener, so it runs first.
  server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => perIp.release(socket as Socket));
  return server;
}

/**
 * Counts the HTTP connections of each client address and closes those over the cap. The
 * address is the TCP peer's: a proxy's clients are only known from headers not read yet, which
 * is why trusted proxies are not counted (the proxy limits its clients; docs/operations.md).
 */
class ConnectionsPerIp {
  readonly #max: number;
  readonly #trusted: ReadonlySet<string>;
  readonly #open = new Map<string, number>();
  // The address each counted socket was counted under; a socket not in it is not counted.
  readonly #counted = new WeakMap<Socket, string>();
  // One `close` listener shared by every socket (the emitter calls it with `this` = the
  // socket), not a closure each; removed again when the socket becomes a WebSocket.
  readonly #closed: (this: Socket) => void;

  constructor(max: number, trusted: ReadonlySet<string>) {
    this.#max = max;
    this.#trusted = trusted;
    const counter = this;
    this.#closed = function (this: Socket): void {
      counter.release(this);
    };
  }

  readonly admit = (socket: Socket): void => {
    if (socket.remoteAddress === undefined) return; // already gone
    const ip = clientIp(socket.remoteAddress, undefined, NONE);
    if (this.#trusted.has(ip)) return;
    const open = this.#open.get(ip) ?? 0;
    if (open >= this.#max) {
      socket.destroy();
      return;
    }
    this.#open.set(ip, open + 1);
    this.#counted.set(socket, ip);
    socket.on('close', this.#closed);
  };

  /** Stops counting `socket` (closed, or upgraded to a WebSocket). */
  release(socket: Socket): void {
    const ip = this.#counted.get(socket);
    if (ip === undefined) return;
    this.#counted.delete(socket);
    socket.off('close', this.#closed);
    const open = (this.#open.get(ip) ?? 1) - 1;
    if (open <= 0) this.#open.delete(ip);
    else this.#open.set(ip, open);
  }
}
