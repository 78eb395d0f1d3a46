import { randomBytes } from 'node:crypto';
import { ParleyError } from '../protocol/error-catalogue.js';

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
  /** Public channels created at start when missing. */
  readonly defaultChannels: readonly string[];
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

/** Limits enforced at the edge. docs/protocol.md lists each with its default. */
export interface Limits {
  /** Largest WebSocket message accepted; bigger ones close the socket with 1009. */
  readonly maxPayloadBytes: number;
  /** Most fragments one WebSocket message may arrive in (ws's `maxFragments`). */
  readonly maxFragments: number;
  /** Longest message text, in UTF-16 code units. */
  readonly maxMessageChars: number;
  /** Bytes queued for one socket before it is cut off as a slow consumer (close 4001). */
  readonly sendQueueMaxBytes: number;
  /** Time a new socket has to send `auth`. */
  readonly helloTimeoutMs: number;
  /** Interval of server pings; a socket that misses one pong is closed. */
  readonly heartbeatMs: number;
  /** Messages sent on subscribe when `history` is not given. */
  readonly historyDefault: number;
  /** Largest history page. */
  readonly historyPageMax: number;
  /** Largest gap a resume replays; beyond it the resume is `recovered: false`. */
  readonly resumeMaxGap: number;
  /** Publishes per second per connection (sustained), and the burst allowed above it. */
  readonly publishPerSecond: number;
  readonly publishBurst: number;
  /** Frames of any kind per second per connection, and the burst. */
  readonly framesPerSecond: number;
  readonly framesBurst: number;
  /** New WebSocket connections per second from one IP address, and the burst (HTTP 429 beyond). */
  readonly connectPerSecondPerIp: number;
  readonly connectBurstPerIp: number;
  /** Minimum interval between relayed typing events per connection and channel. */
  readonly typingIntervalMs: number;
  /** Channels one connection may subscribe to. */
  readonly maxSubscriptions: number;
  /** How long before token expiry the server sends `token_expiring`. */
  readonly tokenExpiryWarningMs: number;
  /** Largest group-commit batch. */
  readonly commitBatchMax: number;
}

/** The defaults of every limit. */
export const DEFAULT_LIMITS: Limits = {
  maxPayloadBytes: 64 * 1024,
  maxFragments: 64,
  maxMessageChars: 4000,
  sendQueueMaxBytes: 1024 * 1024,
  helloTimeoutMs: 5000,
  heartbeatMs: 25_000,
  historyDefault: 50,
  historyPageMax: 100,
  resumeMaxGap: 1000,
  publishPerSecond: 20,
  publishBurst: 40,
  framesPerSecond: 100,
  framesBurst: 200,
  connectPerSecondPerIp: 20,
  connectBurstPerIp: 50,
  typingIntervalMs: 1000,
  maxSubscriptions: 200,
  tokenExpiryWarningMs: 30_000,
  commitBatchMax: 500,
};

const LIMIT_ENV: { readonly [K in keyof Limits]: string } = {
  maxPayloadBytes: 'PARLEY_MAX_PAYLOAD_BYTES',
  maxFragments: 'PARLEY_MAX_FRAGMENTS',
  maxMessageChars: 'PARLEY_MAX_MESSAGE_CHARS',
  sendQueueMaxBytes: 'PARLEY_SEND_QUEUE_MAX_BYTES',
  helloTimeoutMs: 'PARLEY_HELLO_TIMEOUT_MS',
  heartbeatMs: 'PARLEY_HEARTBEAT_MS',
  historyDefault: 'PARLEY_HISTORY_DEFAULT',
  historyPageMax: 'PARLEY_HISTORY_PAGE_MAX',
  resumeMaxGap: 'PARLEY_RESUME_MAX_GAP',
  publishPerSecond: 'PARLEY_PUBLISH_PER_SECOND',
  publishBurst: 'PARLEY_PUBLISH_BURST',
  framesPerSecond: 'PARLEY_FRAMES_PER_SECOND',
  framesBurst: 'PARLEY_FRAMES_BURST',
  connectPerSecondPerIp: 'PARLEY_CONNECT_PER_SECOND_PER_IP',
  connectBurstPerIp: 'PARLEY_CONNECT_BURST_PER_IP',
  typingIntervalMs: 'PARLEY_TYPING_INTERVAL_MS',
  maxSubscriptions: 'PARLEY_MAX_SUBSCRIPTIONS',
  tokenExpiryWarningMs: 'PARLEY_TOKEN_EXPIRY_WARNING_MS',
  commitBatchMax: 'PARLEY_COMMIT_BATCH_MAX',
};

/** The smallest secret accepted, in bytes (HS256 wants at least the hash size). */
export const MIN_SECRET_BYTES = 32;

/** Command-line flags that override the environment. */
export interface ConfigFlags {
  readonly port?: number | undefined;
  readonly host?: string | undefined;
  readonly databaseUrl?: string | undefined;
  readonly dev?: boolean | undefined;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new ParleyError('bad_request', `${name} must be a positive integer, got "${raw}"`);
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
      positiveInt(env, LIMIT_ENV[k], DEFAULT_LIMITS[k]),
    ]),
  ) as unknown as Limits;
  if (limits.historyDefault > limits.historyPageMax) {
    throw new ParleyError('bad_request', 'PARLEY_HISTORY_DEFAULT must not exceed PARLEY_HISTORY_PAGE_MAX');
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
    allowedOrigins: list(env.PARLEY_ALLOWED_ORIGINS),
    defaultChannels:
      env.PARLEY_DEFAULT_CHANNELS === undefined ? ['general'] : list(env.PARLEY_DEFAULT_CHANNELS),
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
