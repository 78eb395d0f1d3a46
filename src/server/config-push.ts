// Web Push settings (issue 16), each with its default and environment variable (README's
// configuration table lists them); `loadConfig` reads them through `loadPushConfig`.
import { ParleyError } from '../protocol/error-catalogue.js';

/** How pushes to users who are away are sent (docs/api.md § Web Push). */
export interface PushConfig {
  /** `PARLEY_PUSH=on`: the push API and sending; off by default. */
  readonly enabled: boolean;
  /** The VAPID key pair (base64url); undefined = generated once and kept in the database. */
  readonly vapidPublicKey: string | undefined;
  readonly vapidPrivateKey: string | undefined;
  /** The VAPID `sub` claim: a `mailto:` or `https:` URL push services may contact. */
  readonly subject: string;
  /**
   * Hosts a subscription's endpoint may be on (a host or a `.suffix`), so the server only ever
   * POSTs to push services; `*` = any https host.
   */
  readonly endpointHosts: readonly string[];
  /** Also accept `http:` endpoints on a loopback address (a local mock push service, tests). */
  readonly insecureLoopback: boolean;
  readonly limits: PushLimits;
}

/** The numeric limits of Web Push. */
export interface PushLimits {
  /** How long a message waits before it is pushed; the user must have had no connection then. */
  readonly pushGraceMs: number;
  /** How long a push waits, re-checked every grace period, while the user stays connected. */
  readonly pushHoldMs: number;
  /** Pushes per user per rate window; more wait for the next window (collapsed). */
  readonly pushPerWindow: number;
  readonly pushWindowMs: number;
  /** Subscriptions (browsers) per user; a new one beyond it replaces the oldest. */
  readonly pushSubscriptionsMax: number;
  /** The longest endpoint URL accepted. */
  readonly pushEndpointMaxChars: number;
  /** How long a push service keeps an undelivered push (the TTL header), in seconds. */
  readonly pushTtlSeconds: number;
  /** How long one request to a push service may take. */
  readonly pushTimeoutMs: number;
  /** Pushes being sent at once on a node. */
  readonly pushConcurrency: number;
  /** How often a node looks for pushes that became due. */
  readonly pushPollMs: number;
  /** Failed attempts (push service errors) after which a push is given up. */
  readonly pushMaxAttempts: number;
  /** Messages waiting on a node to be looked at for pushes; past it they are not pushed. */
  readonly pushQueueMax: number;
}

/** The defaults of `PushLimits`. */
export const DEFAULT_PUSH_LIMITS: PushLimits = {
  pushGraceMs: 15_000,
  pushHoldMs: 600_000,
  pushPerWindow: 6,
  pushWindowMs: 60_000,
  pushSubscriptionsMax: 10,
  pushEndpointMaxChars: 1024,
  pushTtlSeconds: 86_400,
  pushTimeoutMs: 10_000,
  pushConcurrency: 16,
  pushPollMs: 1_000,
  pushMaxAttempts: 5,
  pushQueueMax: 10_000,
};

/** The environment variable of each push limit. */
export const PUSH_LIMIT_ENV: Readonly<Record<keyof PushLimits, string>> = {
  pushGraceMs: 'PARLEY_PUSH_GRACE_MS',
  pushHoldMs: 'PARLEY_PUSH_HOLD_MS',
  pushPerWindow: 'PARLEY_PUSH_PER_WINDOW',
  pushWindowMs: 'PARLEY_PUSH_WINDOW_MS',
  pushSubscriptionsMax: 'PARLEY_PUSH_SUBSCRIPTIONS_MAX',
  pushEndpointMaxChars: 'PARLEY_PUSH_ENDPOINT_MAX_CHARS',
  pushTtlSeconds: 'PARLEY_PUSH_TTL_SECONDS',
  pushTimeoutMs: 'PARLEY_PUSH_TIMEOUT_MS',
  pushConcurrency: 'PARLEY_PUSH_CONCURRENCY',
  pushPollMs: 'PARLEY_PUSH_POLL_MS',
  pushMaxAttempts: 'PARLEY_PUSH_MAX_ATTEMPTS',
  pushQueueMax: 'PARLEY_PUSH_QUEUE_MAX',
};

/** The push services of the major browsers (Chrome, Firefox, Edge, Safari). */
export const DEFAULT_PUSH_ENDPOINT_HOSTS: readonly string[] = [
  'fcm.googleapis.com',
  '.push.services.mozilla.com',
  '.notify.windows.com',
  '.push.apple.com',
];

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Reads the Web Push settings; a bad or incomplete one stops the start with what to fix. */
export function loadPushConfig(env: NodeJS.ProcessEnv, dev: boolean): PushConfig {
  const raw = env.PARLEY_PUSH ?? 'off';
  if (raw !== 'on' && raw !== 'off') {
    throw new ParleyError('bad_request', `PARLEY_PUSH must be "on" or "off", got "${raw}"`);
  }
  const enabled = raw === 'on';
  const limits = Object.fromEntries(
    (Object.keys(DEFAULT_PUSH_LIMITS) as (keyof PushLimits)[]).map((k) => [
      k,
      positive(env, PUSH_LIMIT_ENV[k], DEFAULT_PUSH_LIMITS[k]),
    ]),
  ) as unknown as PushLimits;
  const vapidPublicKey = env.PARLEY_VAPID_PUBLIC_KEY || undefined;
  const vapidPrivateKey = env.PARLEY_VAPID_PRIVATE_KEY || undefined;
  if ((vapidPublicKey === undefined) !== (vapidPrivateKey === undefined)) {
    throw new ParleyError(
      'bad_request',
      'set both PARLEY_VAPID_PUBLIC_KEY and PARLEY_VAPID_PRIVATE_KEY (`npx web-push generate-vapid-keys`), or neither (a pair is generated and kept in the database)',
    );
  }
  for (const [name, key] of [
    ['PARLEY_VAPID_PUBLIC_KEY', vapidPublicKey],
    ['PARLEY_VAPID_PRIVATE_KEY', vapidPrivateKey],
  ] as const) {
    if (key !== undefined && !BASE64URL.test(key))
      throw new ParleyError('bad_request', `${name} must be base64url (no padding)`);
  }
  const subject = env.PARLEY_PUSH_SUBJECT || (dev ? 'mailto:parley@localhost' : undefined);
  if (enabled && subject === undefined) {
    throw new ParleyError(
      'bad_request',
      'PARLEY_PUSH=on needs PARLEY_PUSH_SUBJECT: a mailto: or https: URL where push services can reach the operator',
    );
  }
  if (subject !== undefined && !/^(mailto:|https:\/\/)\S+$/.test(subject)) {
    throw new ParleyError(
      'bad_request',
      `PARLEY_PUSH_SUBJECT must be a mailto: or https: URL, got "${subject.slice(0, 100)}"`,
    );
  }
  const hosts = (env.PARLEY_PUSH_ENDPOINT_HOSTS ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  return {
    enabled,
    vapidPublicKey,
    vapidPrivateKey,
    subject: subject ?? 'mailto:parley@localhost',
    endpointHosts: hosts.length === 0 ? DEFAULT_PUSH_ENDPOINT_HOSTS : hosts,
    insecureLoopback: (env.PARLEY_PUSH_INSECURE_LOOPBACK ?? 'off') === 'on',
    limits,
  };
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new ParleyError('bad_request', `${name} must be a positive integer, got "${raw}"`);
  }
  return n;
}
