import type { WebSocketConstructor } from './web-socket-like.js';

/** Options of a {@link ParleyClient}. Durations are milliseconds. */
export interface ParleyClientOptions {
  /** The socket URL, `ws://HOST:PORT/ws` or `wss://…`. */
  readonly url: string;
  /** The HTTP API's base, for uploads; default: the WebSocket URL's origin (`wss://h/ws` → `https://h`). */
  readonly httpUrl?: string;
  /** A JWT, or a function returning a fresh one; it is called on every (re)connect and on `token_expiring`. */
  readonly token: string | (() => Promise<string>);
  /** The WebSocket constructor. Default `globalThis.WebSocket`; on Node 20 pass `WebSocket` from `ws`. */
  readonly WebSocket?: WebSocketConstructor;
  /** Ceiling of the first reconnect delay (full jitter below it). Default 500. */
  readonly minDelayMs?: number;
  /** Ceiling of any reconnect delay. Default 30 000. */
  readonly maxDelayMs?: number;
  /** Time from opening a socket to `welcome` before the attempt is abandoned. Default 10 000. */
  readonly connectTimeoutMs?: number;
  /** Time a request waits for its reply, including time spent reconnecting. Default 10 000. */
  readonly requestTimeoutMs?: number;
  /** Time one publish attempt waits for its ack before it is sent again. Default 5 000. */
  readonly ackTimeoutMs?: number;
  /** Overall deadline of a publish, retries included, unless the call gives one. Default 30 000. */
  readonly publishTimeoutMs?: number;
  /** Interval of the client's `ping` liveness check; 0 turns it off. Default 25 000. */
  readonly pingIntervalMs?: number;
  /** Time a `ping` waits for `pong` before the socket is abandoned and replaced. Default 10 000. */
  readonly pongTimeoutMs?: number;
  /** Messages asked for per page when filling a gap (capped by the server's page maximum). Default 100. */
  readonly historyPageSize?: number;
  /** Time `close()` waits for the closing handshake before dropping the socket. Default 1 000. */
  readonly closeTimeoutMs?: number;
  /** The random source of the backoff jitter, in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

/** Options of {@link ParleyClient.subscribe}. */
export interface SubscribeOptions {
  /** How many recent messages to receive first (the server's default when absent). */
  readonly history?: number;
  /** Resume after this seq instead of starting with recent history. */
  readonly since?: number;
  /** The epoch `since` belongs to. */
  readonly epoch?: string;
  /**
   * What to do when a resume within the same epoch is not recovered (the gap was larger than
   * the server replays): `reset` (default) emits `reset` and continues from the server's
   * latest messages; `history` pages through history after the last seq so every missed
   * message is delivered. A changed epoch always resets.
   */
  readonly recover?: 'reset' | 'history';
}

/** Options of {@link ParleyClient.publish}. */
export interface PublishOptions {
  /** The idempotency key; a random UUID when absent. Retries always reuse it. */
  readonly clientMsgId?: string;
  /** Overall deadline, retries included. Default: the client's `publishTimeoutMs`. */
  readonly timeoutMs?: number;
  /** Publish as a reply to this message (an id of the same channel). */
  readonly replyTo?: string;
  /** Ids of uploads (see {@link ParleyClient.upload}) the message carries. */
  readonly attachments?: readonly string[];
}

/** Options of {@link ParleyClient.history}: give `before` or `after`, not both. */
export interface HistoryOptions {
  /** The page ends just before this seq (paging back). */
  readonly before?: number;
  /** The page starts just after this seq (paging forward). */
  readonly after?: number;
  readonly limit?: number;
  readonly timeoutMs?: number;
}

/** Options of {@link ParleyClient.createChannel}. */
export interface CreateChannelOptions {
  readonly private?: boolean;
  readonly title?: string;
  readonly timeoutMs?: number;
}

const DEFAULTS = {
  minDelayMs: 500,
  maxDelayMs: 30_000,
  connectTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
  ackTimeoutMs: 5_000,
  publishTimeoutMs: 30_000,
  pingIntervalMs: 25_000,
  pongTimeoutMs: 10_000,
  historyPageSize: 100,
  closeTimeoutMs: 1_000,
} as const;

/** The durations and sizes of a {@link ParleyClientOptions}, each given or its default. */
export type ResolvedOptions = Readonly<Record<keyof typeof DEFAULTS, number>>;

/** The durations and sizes of `options`, with the documented default for each one absent. */
export function resolveOptions(options: ParleyClientOptions): ResolvedOptions {
  return {
    minDelayMs: options.minDelayMs ?? DEFAULTS.minDelayMs,
    maxDelayMs: options.maxDelayMs ?? DEFAULTS.maxDelayMs,
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
    ackTimeoutMs: options.ackTimeoutMs ?? DEFAULTS.ackTimeoutMs,
    publishTimeoutMs: options.publishTimeoutMs ?? DEFAULTS.publishTimeoutMs,
    pingIntervalMs: options.pingIntervalMs ?? DEFAULTS.pingIntervalMs,
    pongTimeoutMs: options.pongTimeoutMs ?? DEFAULTS.pongTimeoutMs,
    historyPageSize: options.historyPageSize ?? DEFAULTS.historyPageSize,
    closeTimeoutMs: options.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs,
  };
}
