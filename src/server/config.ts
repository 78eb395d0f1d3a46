import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { ParleyError } from '../protocol/error-catalogue.js';
import { DEFAULT_LIMITS, LIMIT_ENV, LIMITS_ZERO_ALLOWED, type Limits } from './config-limits.js';
import { loadPusherConfig, type PusherConfig } from './config-pusher.js';

export { DEFAULT_LIMITS, type Limits } from './config-limits.js';

/** Every setting of a Parley node, typed and validated; every limit named with its default. */
export interface Config {
  readonly host: string;
  readonly port: number;
  /** `sqlite:./data/parley.db` (default), `mysql://…`, `mariadb://…`, `postgres://…`. */
  readonly databaseUrl: string;
  /** True in `--dev`: a throwaway secret (printed at start) and any Origin accepted. */
  readonly dev: boolean;
  readonly logLevel: string;
  readonly jwt: JwtConfig;
  readonly limits: Limits;
  /** Allowed `Origin` values for browser WebSockets; empty = same host only (any in --dev). */
  readonly allowedOrigins: readonly string[];
  /**
   * Reverse proxies whose `X-Forwarded-For` names the client, for the per-IP limits (IP
   * addresses, or `loopback`); empty = the socket's peer is the client.
   */
  readonly trustedProxies: readonly string[];
  /** Public channels created at start when missing. */
  readonly defaultChannels: readonly string[];
  /** The HTTP API's accounts, server API key and webhooks. */
  readonly api: ApiConfig;
  /** Redis for fan-out and presence across processes and machines; undefined = in-process. */
  readonly redisUrl: string | undefined;
  /** Worker processes on this machine (`--workers`); 1 = no cluster. */
  readonly workers: number;
  /** How long a SIGTERM drain may take before the process exits anyway. */
  readonly drainTimeoutMs: number;
  /** The browser chat page and the embeddable widget. */
  readonly web: WebConfig;
  /**
   * WebSocket compression (permessage-deflate), off by default: with `PARLEY_COMPRESSION=on`,
   * the smallest payload sent compressed (`PARLEY_COMPRESSION_MIN_BYTES`, default 1024) to
   * clients that ask for it; undefined = off.
   */
  readonly compressMinBytes: number | undefined;
  /** The Pusher-compatible endpoint's apps (`config-pusher.ts`); none = off. */
  readonly pusher: PusherConfig;
}

/** Settings of the chat page served at `/` (and `/embed`, `/widget.js`). */
export interface WebConfig {
  /** False with `PARLEY_WEB=off`: no page, `/` answers with a short text. */
  readonly enabled: boolean;
  /** The built page (`npm run build` writes `dist/web`); undefined = that default. */
  readonly dir: string | undefined;
  /**
   * The CSP `frame-ancestors` sources: which sites may show the page in a frame. Default
   * `'self'`; a site embedding the widget adds its origin (`https://www.example.com`).
   */
  readonly frameAncestors: readonly string[];
}

/** How tokens are verified. */
export interface JwtConfig {
  readonly secret: Uint8Array;
  /** True when the secret was generated for this run (`--dev`). */
  readonly secretGenerated: boolean;
  readonly algorithms: readonly string[];
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  readonly userIdClaim: string;
  readonly usernameClaim: string;
  /** How long a token without `exp` stays valid after its `iat`. */
  readonly maxAgeSeconds: number;
  readonly clockToleranceSeconds: number;
}

/** Settings of the HTTP API (docs/api.md). */
export interface ApiConfig {
  /** The key of the server API (`/api/server/…`); undefined = that API is off. */
  readonly apiKey: string | undefined;
  /** Whether anyone may create an account (`POST /api/auth/register`). */
  readonly registration: boolean;
  /** Lifetime of an access token issued at login or refresh. */
  readonly accessTokenTtlSeconds: number;
  /** Lifetime of a refresh token (each use replaces it with a new one). */
  readonly refreshTokenTtlSeconds: number;
  /** Where webhooks are POSTed; empty = no webhooks. */
  readonly webhookUrls: readonly string[];
  /** The HMAC-SHA256 key of webhook signatures (required when there are webhook URLs). */
  readonly webhookSecret: Uint8Array | undefined;
}

/** The smallest secret accepted, in bytes (HS256 wants at least the hash size). */
export const MIN_SECRET_BYTES = 32;

/** Command-line flags that override the environment. */
export interface ConfigFlags {
  readonly port?: number | undefined;
  readonly host?: string | undefined;
  readonly databaseUrl?: string | undefined;
  readonly dev?: boolean | undefined;
  /** `--workers N` or `auto` (one per core). */
  readonly workers?: string | undefined;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number, zero = false): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0 || (n === 0 && !zero)) {
    const what = zero ? 'a non-negative integer' : 'a positive integer';
    throw new ParleyError('bad_request', `${name} must be ${what}, got "${raw}"`);
  }
  return n;
}

/** Parses `30s`, `15m`, `24h`, `7d` or a plain number of seconds. */
export function parseDuration(raw: string, name: string): number {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(raw.trim());
  if (m === null)
    throw new ParleyError('bad_request', `${name} must look like 30s, 15m, 24h or 7d, got "${raw}"`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return n * ({ s: 1, m: 60, h: 3600, d: 86400 } as const)[unit as 's' | 'm' | 'h' | 'd'];
}

function list(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * Reads the configuration from the environment and flags. Throws a `ParleyError` whose
 * message says what to set when something is missing or unsafe (e.g. a weak JWT secret).
 */
export function loadConfig(env: NodeJS.ProcessEnv, flags: ConfigFlags = {}): Config {
  const dev = flags.dev ?? env.PARLEY_DEV === '1';
  const rawSecret = env.PARLEY_JWT_SECRET;
  let secret: Uint8Array;
  let secretGenerated = false;
  if (rawSecret !== undefined && rawSecret !== '') {
    secret = new TextEncoder().encode(rawSecret);
    if (secret.length < MIN_SECRET_BYTES) {
      throw new ParleyError(
        'bad_request',
        `PARLEY_JWT_SECRET is ${secret.length} bytes; use at least ${MIN_SECRET_BYTES} random bytes ` +
          '(e.g. `openssl rand -base64 48`), the same secret your app signs tokens with',
      );
    }
  } else if (dev) {
    secret = new TextEncoder().encode(randomBytes(48).toString('base64url'));
    secretGenerated = true;
  } else {
    throw new ParleyError(
      'bad_request',
      'PARLEY_JWT_SECRET is not set: set it to the secret your app signs tokens with (at least ' +
        `${MIN_SECRET_BYTES} bytes, e.g. \`openssl rand -base64 48\`), or run with --dev for a throwaway one`,
    );
  }
  const algorithms = list(env.PARLEY_JWT_ALGORITHMS);
  for (const alg of algorithms) {
    if (!['HS256', 'HS384', 'HS512'].includes(alg)) {
      throw new ParleyError(
        'bad_request',
        `PARLEY_JWT_ALGORITHMS: "${alg}" is not supported (HS256, HS384, HS512)`,
      );
    }
  }
  const limits = Object.fromEntries(
    (Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]).map((k) => [
      k,
      positiveInt(env, LIMIT_ENV[k], DEFAULT_LIMITS[k], LIMITS_ZERO_ALLOWED.has(k)),
    ]),
  ) as unknown as Limits;
  if (limits.historyDefault > limits.historyPageMax) {
    throw new ParleyError('bad_request', 'PARLEY_HISTORY_DEFAULT must not exceed PARLEY_HISTORY_PAGE_MAX');
  }
  // Node refuses a header deadline past the whole request's.
  if (limits.httpHeadersTimeoutMs > limits.httpRequestTimeoutMs) {
    throw new ParleyError(
      'bad_request',
      'PARLEY_HTTP_HEADERS_TIMEOUT_MS must not exceed PARLEY_HTTP_REQUEST_TIMEOUT_MS',
    );
  }
  const port = flags.port ?? positiveIntOrZero(env, 'PARLEY_PORT', 8080);
  return {
    host: flags.host ?? env.PARLEY_HOST ?? '0.0.0.0',
    port,
    databaseUrl: flags.databaseUrl ?? env.PARLEY_DATABASE_URL ?? 'sqlite:./data/parley.db',
    dev,
    logLevel: env.PARLEY_LOG_LEVEL ?? 'info',
    jwt: {
      secret,
      secretGenerated,
      algorithms: algorithms.length > 0 ? algorithms : ['HS256'],
      issuer: env.PARLEY_JWT_ISSUER || undefined,
      audience: env.PARLEY_JWT_AUDIENCE || undefined,
      userIdClaim: env.PARLEY_JWT_USER_ID_CLAIM || 'user_id',
      usernameClaim: env.PARLEY_JWT_USERNAME_CLAIM || 'username',
      maxAgeSeconds: parseDuration(env.PARLEY_JWT_MAX_AGE ?? '24h', 'PARLEY_JWT_MAX_AGE'),
      clockToleranceSeconds: parseDuration(
        env.PARLEY_JWT_CLOCK_TOLERANCE ?? '30s',
        'PARLEY_JWT_CLOCK_TOLERANCE',
      ),
    },
    limits,
    api: loadApiConfig(env, rawSecret),
    allowedOrigins: list(env.PARLEY_ALLOWED_ORIGINS),
    trustedProxies: trustedProxies(env.PARLEY_TRUSTED_PROXIES),
    redisUrl: env.PARLEY_REDIS_URL || undefined,
    workers: parseWorkers(flags.workers ?? env.PARLEY_WORKERS ?? '1'),
    drainTimeoutMs: positiveInt(env, 'PARLEY_DRAIN_TIMEOUT_MS', 10_000),
    web: loadWebConfig(env),
    compressMinBytes: compression(env),
    pusher: loadPusherConfig(env, dev),
    defaultChannels:
      env.PARLEY_DEFAULT_CHANNELS === undefined ? ['general'] : list(env.PARLEY_DEFAULT_CHANNELS),
  };
}

// A CSP source for frame-ancestors: a keyword or an origin with an optional `*.` host. Not a bare
// scheme (`https:`): that would let any site frame the page and talk to it.
const FRAME_ANCESTOR = /^(?:'self'|'none'|https?:\/\/(?:\*\.)?[A-Za-z0-9.-]+(?::\d{1,5})?)$/;

function trustedProxies(raw: string | undefined): string[] {
  const proxies = list(raw);
  for (const p of proxies) {
    if (p !== 'loopback' && isIP(p) === 0) {
      throw new ParleyError(
        'bad_request',
        `PARLEY_TRUSTED_PROXIES: "${p.slice(0, 100)}" is not an IP address (or "loopback"); ranges are not supported`,
      );
    }
  }
  return proxies;
}

/** A setting that is `on` or `off`, as a boolean; anything else stops the start. */
function onOff(env: NodeJS.ProcessEnv, name: string, fallback: 'on' | 'off'): boolean {
  const raw = env[name] ?? fallback;
  if (raw !== 'on' && raw !== 'off') {
    throw new ParleyError('bad_request', `${name} must be "on" or "off", got "${raw}"`);
  }
  return raw === 'on';
}

function compression(env: NodeJS.ProcessEnv): number | undefined {
  const minBytes = positiveInt(env, 'PARLEY_COMPRESSION_MIN_BYTES', 1024);
  return onOff(env, 'PARLEY_COMPRESSION', 'off') ? minBytes : undefined;
}

function loadWebConfig(env: NodeJS.ProcessEnv): WebConfig {
  const enabled = onOff(env, 'PARLEY_WEB', 'on');
  // Separated by commas or spaces: both are natural for a list of origins.
  const frameAncestors = (env.PARLEY_FRAME_ANCESTORS ?? "'self'").split(/[\s,]+/).filter((s) => s !== '');
  for (const source of frameAncestors) {
    if (!FRAME_ANCESTOR.test(source)) {
      throw new ParleyError(
        'bad_request',
        `PARLEY_FRAME_ANCESTORS: "${source.slice(0, 100)}" is not 'self', 'none' or an origin such as https://www.example.com or https://*.example.com`,
      );
    }
  }
  if (frameAncestors.includes("'none'") && frameAncestors.length > 1) {
    throw new ParleyError(
      'bad_request',
      "PARLEY_FRAME_ANCESTORS: 'none' cannot be combined with other sources",
    );
  }
  return {
    enabled,
    dir: env.PARLEY_WEB_DIR || undefined,
    frameAncestors: frameAncestors.length === 0 ? ["'self'"] : frameAncestors,
  };
}

function loadApiConfig(env: NodeJS.ProcessEnv, jwtSecret: string | undefined): ApiConfig {
  const apiKey = env.PARLEY_API_KEY || undefined;
  if (apiKey !== undefined) {
    if (new TextEncoder().encode(apiKey).length < MIN_SECRET_BYTES) {
      throw new ParleyError(
        'bad_request',
        `PARLEY_API_KEY is too short; use at least ${MIN_SECRET_BYTES} random bytes (e.g. \`openssl rand -base64 48\`)`,
      );
    }
    if (apiKey === jwtSecret) {
      throw new ParleyError(
        'bad_request',
        'PARLEY_API_KEY must differ from PARLEY_JWT_SECRET: a leaked API key must not let anyone sign tokens',
      );
    }
  }
  const registration = env.PARLEY_REGISTRATION ?? 'open';
  if (registration !== 'open' && registration !== 'closed') {
    throw new ParleyError(
      'bad_request',
      `PARLEY_REGISTRATION must be "open" or "closed", got "${registration}"`,
    );
  }
  const webhookUrls = list(env.PARLEY_WEBHOOK_URLS);
  for (const url of webhookUrls) {
    let protocol: string;
    try {
      protocol = new URL(url).protocol;
    } catch {
      throw new ParleyError('bad_request', `PARLEY_WEBHOOK_URLS: "${url}" is not a URL`);
    }
    if (protocol !== 'http:' && protocol !== 'https:') {
      throw new ParleyError('bad_request', `PARLEY_WEBHOOK_URLS: "${url}" must be an http(s) URL`);
    }
  }
  const rawWebhookSecret = env.PARLEY_WEBHOOK_SECRET || undefined;
  const webhookSecret =
    rawWebhookSecret === undefined ? undefined : new TextEncoder().encode(rawWebhookSecret);
  if (webhookUrls.length > 0 && (webhookSecret === undefined || webhookSecret.length < MIN_SECRET_BYTES)) {
    throw new ParleyError(
      'bad_request',
      `PARLEY_WEBHOOK_URLS is set, so PARLEY_WEBHOOK_SECRET must be too: at least ${MIN_SECRET_BYTES} random bytes, shared with the receiver to check signatures`,
    );
  }
  return {
    apiKey,
    registration: registration === 'open',
    accessTokenTtlSeconds: parseDuration(env.PARLEY_ACCESS_TOKEN_TTL ?? '15m', 'PARLEY_ACCESS_TOKEN_TTL'),
    refreshTokenTtlSeconds: parseDuration(env.PARLEY_REFRESH_TOKEN_TTL ?? '30d', 'PARLEY_REFRESH_TOKEN_TTL'),
    webhookUrls,
    webhookSecret,
  };
}

function positiveIntOrZero(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0 || n > 65535) {
    throw new ParleyError('bad_request', `${name} must be a port number, got "${raw}"`);
  }
  return n;
}

function parseWorkers(raw: string): number {
  if (raw === 'auto') return availableParallelism();
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1 || n > 256) {
    throw new ParleyError(
      'bad_request',
      `--workers / PARLEY_WORKERS must be a number from 1 to 256 or "auto", got "${raw}"`,
    );
  }
  return n;
}
