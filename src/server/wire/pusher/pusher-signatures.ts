import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { PusherApp } from '../../config-pusher.js';

/** HMAC-SHA256 of `text` with the app's secret, in lowercase hex (Pusher's signatures). */
export function sign(app: PusherApp, text: string): string {
  return createHmac('sha256', app.secret).update(text).digest('hex');
}

/** Constant-time comparison of two strings (false at once for different lengths). */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

// `key:signature`, with the app's key, signing `text`.
function authMatches(app: PusherApp, auth: unknown, text: string): boolean {
  if (typeof auth !== 'string') return false;
  const colon = auth.indexOf(':');
  if (colon < 0 || auth.slice(0, colon) !== app.key) return false;
  return sameSecret(auth.slice(colon + 1), sign(app, text));
}

/**
 * Whether `auth` is the app's signature for this socket and channel, as the server SDKs make
 * it: `key:HMAC(secret, "socket_id:channel")`, with `:channel_data` for presence channels.
 */
export function channelAuthValid(
  app: PusherApp,
  socketId: string,
  channel: string,
  auth: unknown,
  channelData: string | undefined,
): boolean {
  const text = channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
  return authMatches(app, auth, text);
}

/** Whether `auth` signs `user_data` for this socket: `HMAC(secret, "socket_id::user::user_data")`. */
export function userAuthValid(app: PusherApp, socketId: string, userData: string, auth: unknown): boolean {
  return authMatches(app, auth, `${socketId}::user::${userData}`);
}

/** MD5 of a request body in hex, as the HTTP API's `body_md5`. */
export function bodyMd5(body: Buffer | string): string {
  return createHash('md5').update(body).digest('hex');
}

/**
 * The signature of an HTTP API request: HMAC of `METHOD\npath\nquery`, the query being every
 * parameter but `auth_signature`, sorted by name, as `name=value` joined by `&` (not encoded).
 */
export function requestSignature(
  app: PusherApp,
  method: string,
  path: string,
  params: ReadonlyMap<string, string>,
): string {
  const query = [...params]
    .filter(([k]) => k !== 'auth_signature')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return sign(app, `${method.toUpperCase()}\n${path}\n${query}`);
}
