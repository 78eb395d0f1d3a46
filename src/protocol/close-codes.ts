/**
 * WebSocket close codes Parley sends. By range: 4000–4499 mean "reconnect with backoff and
 * jitter"; 4500–4999 are terminal (do not reconnect without new credentials or a fix).
 */
export const CloseCode = {
  /** The server is shutting down or draining; reconnect (to another node). */
  ServerShutdown: 4000,
  /** The connection's send queue passed `sendQueueMaxBytes`; reconnect and resume by seq. */
  SlowConsumer: 4001,
  /** The session's token expired without a `refresh`; reconnect with a fresh token. */
  TokenExpired: 4002,
  /** No `auth` frame arrived within `helloTimeoutMs`. */
  AuthTimeout: 4003,
  /** The peer sent frames far faster than the rate limit; back off, then reconnect. */
  RateLimited: 4004,
  /** No pong to the server's pings within the heartbeat interval. */
  HeartbeatTimeout: 4005,
  /** The server could not serve the connection now (e.g. its database is down); retry later. */
  Unavailable: 4006,
  /** The token was refused (bad signature, wrong algorithm, issuer, audience, expired at connect). */
  AuthFailed: 4501,
  /** The user was disconnected everywhere (banned or logged out). */
  Kicked: 4503,
} as const;

/** One of Parley's close codes. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** True when a connection closed with `code` may reconnect (by itself, with backoff). */
export function isReconnectable(code: number): boolean {
  if (code >= 4500 && code <= 4999) return false;
  // 1008 (policy violation): ws sends it for a message in too many fragments; a retry would
  // send the same message again.
  if (code === 1008) return false;
  return true;
}
