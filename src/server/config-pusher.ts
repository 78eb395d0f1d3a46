import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ParleyError } from '../protocol/error-catalogue.js';

/**
 * One Pusher app: the credentials its server SDK and pusher-js are configured with, its
 * webhooks and its limits (Pusher's defaults unless changed; docs/pusher.md lists them).
 */
export interface PusherApp {
  readonly id: string;
  readonly key: string;
  readonly secret: string;
  /** Whether subscribers may send `client-*` events on private and presence channels. */
  readonly clientEvents: boolean;
  /** Put before every channel name to make its Parley channel id ('' = the name itself). */
  readonly channelPrefix: string;
  /** Where Pusher-format webhooks are POSTed; empty = none. */
  readonly webhookUrls: readonly string[];
  /** How long `channel_vacated` and `member_removed` wait for a comeback (a page reload). */
  readonly webhookHoldMs: number;
  /** Largest event `data`, in bytes (Pusher: 10 KB). */
  readonly maxEventBytes: number;
  /** Longest event name (Pusher: 200). */
  readonly maxEventNameChars: number;
  /** Longest channel name (Pusher: 164). */
  readonly maxChannelNameChars: number;
  /** Most channels one trigger names (Pusher: 100). */
  readonly maxChannelsPerTrigger: number;
  /** Most events in one batch (Pusher: 10). */
  readonly maxBatchEvents: number;
  /** Most users online in one presence channel (Pusher caps it at 100; here it is a setting). */
  readonly maxPresenceMembers: number;
  /** Largest `user_info` of a presence member, in bytes (Pusher: 1 KB). */
  readonly maxMemberInfoBytes: number;
  /** Client events one connection may send per second (Pusher: 10). */
  readonly clientEventsPerSecond: number;
  /** Seconds of silence after which a client pings (`activity_timeout`; Pusher: 120). */
  readonly activityTimeoutSeconds: number;
}

/** The Pusher-compatible endpoint's apps; none = the endpoint is off. */
export interface PusherConfig {
  readonly apps: readonly PusherApp[];
}

/** The shortest app secret accepted outside `--dev`. */
export const MIN_PUSHER_SECRET_CHARS = 16;

const DEFAULTS = {
  clientEvents: false,
  channelPrefix: '',
  webhookUrls: [] as readonly string[],
  webhookHoldMs: 3000,
  maxEventBytes: 10 * 1024,
  maxEventNameChars: 200,
  maxChannelNameChars: 164,
  maxChannelsPerTrigger: 100,
  maxBatchEvents: 10,
  maxPresenceMembers: 100,
  maxMemberInfoBytes: 1024,
  clientEventsPerSecond: 10,
  activityTimeoutSeconds: 120,
} as const;

const positive = z.number().int().positive();
const AppFile = z.strictObject({
  apps: z
    .array(
      z.strictObject({
        id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, '1–64 of A-Z, a-z, 0-9, "_" and "-"'),
        key: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, '1–128 of A-Z, a-z, 0-9, "_" and "-"'),
        secret: z.string().min(1).max(256),
        client_events: z.boolean().optional(),
        channel_prefix: z
          .string()
          .regex(/^[A-Za-z0-9_.:-]{0,32}$/, 'up to 32 of A-Z, a-z, 0-9, "_", ".", ":" and "-"')
          .optional(),
        webhooks: z.array(z.string()).optional(),
        webhook_hold_ms: z.number().int().min(0).optional(),
        max_event_bytes: positive.optional(),
        max_event_name_chars: positive.max(200).optional(),
        max_channel_name_chars: positive.max(164).optional(),
        max_channels_per_trigger: positive.optional(),
        max_batch_events: positive.optional(),
        max_presence_members: positive.optional(),
        max_member_info_bytes: positive.optional(),
        client_events_per_second: positive.optional(),
        activity_timeout_seconds: positive.optional(),
      }),
    )
    .min(1),
});

/**
 * Reads the Pusher apps: one from `PARLEY_PUSHER_APP_ID`, `_KEY` and `_SECRET` (with
 * `PARLEY_PUSHER_CLIENT_EVENTS`, `PARLEY_PUSHER_WEBHOOK_URLS`, `PARLEY_PUSHER_MAX_PRESENCE_MEMBERS`),
 * or several from the JSON file `PARLEY_PUSHER_APPS_FILE`. Called by `loadConfig` with its
 * environment; throws a ParleyError that says what to fix.
 */
export function loadPusherConfig(env: NodeJS.ProcessEnv, dev: boolean): PusherConfig {
  const file = env.PARLEY_PUSHER_APPS_FILE || undefined;
  const fromEnv = env.PARLEY_PUSHER_APP_ID || env.PARLEY_PUSHER_APP_KEY || env.PARLEY_PUSHER_APP_SECRET;
  if (file !== undefined && fromEnv) {
    throw bad('set PARLEY_PUSHER_APPS_FILE or PARLEY_PUSHER_APP_ID/_KEY/_SECRET, not both');
  }
  let apps: PusherApp[];
  if (file !== undefined) {
    apps = readAppsFile(file);
  } else if (fromEnv) {
    const id = env.PARLEY_PUSHER_APP_ID;
    const key = env.PARLEY_PUSHER_APP_KEY;
    const secret = env.PARLEY_PUSHER_APP_SECRET;
    if (!id || !key || !secret) {
      throw bad(
        'the Pusher endpoint needs all three of PARLEY_PUSHER_APP_ID, PARLEY_PUSHER_APP_KEY and PARLEY_PUSHER_APP_SECRET',
      );
    }
    const clientEvents = env.PARLEY_PUSHER_CLIENT_EVENTS ?? 'off';
    if (clientEvents !== 'on' && clientEvents !== 'off') {
      throw bad(`PARLEY_PUSHER_CLIENT_EVENTS must be "on" or "off", got "${clientEvents}"`);
    }
    const members = env.PARLEY_PUSHER_MAX_PRESENCE_MEMBERS;
    const maxPresenceMembers =
      members === undefined || members === '' ? DEFAULTS.maxPresenceMembers : Number(members);
    if (!Number.isSafeInteger(maxPresenceMembers) || maxPresenceMembers < 1) {
      throw bad(`PARLEY_PUSHER_MAX_PRESENCE_MEMBERS must be a positive integer, got "${members}"`);
    }
    apps = [
      {
        ...DEFAULTS,
        id,
        key,
        secret,
        clientEvents: clientEvents === 'on',
        maxPresenceMembers,
        webhookUrls: (env.PARLEY_PUSHER_WEBHOOK_URLS ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      },
    ];
  } else {
    return { apps: [] };
  }
  const seen = { id: new Set<string>(), key: new Set<string>(), prefix: new Set<string>() };
  for (const app of apps) {
    if (!dev && app.secret.length < MIN_PUSHER_SECRET_CHARS) {
      throw bad(
        `the secret of Pusher app "${app.id}" is too short; use at least ${MIN_PUSHER_SECRET_CHARS} random characters (e.g. \`openssl rand -hex 20\`)`,
      );
    }
    for (const url of app.webhookUrls) {
      let protocol: string;
      try {
        protocol = new URL(url).protocol;
      } catch {
        throw bad(`Pusher app "${app.id}": webhook "${url}" is not a URL`);
      }
      if (protocol !== 'http:' && protocol !== 'https:')
        throw bad(`Pusher app "${app.id}": webhook "${url}" must be http(s)`);
    }
    if (seen.id.has(app.id)) throw bad(`two Pusher apps have the id "${app.id}"`);
    if (seen.key.has(app.key)) throw bad(`two Pusher apps have the key "${app.key}"`);
    // Channels of two apps with one prefix would be the same Parley channels.
    if (seen.prefix.has(app.channelPrefix)) {
      throw bad(
        `two Pusher apps have the channel prefix "${app.channelPrefix}"; give each app its own channel_prefix`,
      );
    }
    seen.id.add(app.id);
    seen.key.add(app.key);
    seen.prefix.add(app.channelPrefix);
  }
  return { apps };
}

function readAppsFile(path: string): PusherApp[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw bad(
      `PARLEY_PUSHER_APPS_FILE: cannot read "${path}" as JSON (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  const parsed = AppFile.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw bad(`PARLEY_PUSHER_APPS_FILE: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data.apps.map((a) => ({
    id: a.id,
    key: a.key,
    secret: a.secret,
    clientEvents: a.client_events ?? DEFAULTS.clientEvents,
    channelPrefix: a.channel_prefix ?? DEFAULTS.channelPrefix,
    webhookUrls: a.webhooks ?? DEFAULTS.webhookUrls,
    webhookHoldMs: a.webhook_hold_ms ?? DEFAULTS.webhookHoldMs,
    maxEventBytes: a.max_event_bytes ?? DEFAULTS.maxEventBytes,
    maxEventNameChars: a.max_event_name_chars ?? DEFAULTS.maxEventNameChars,
    maxChannelNameChars: a.max_channel_name_chars ?? DEFAULTS.maxChannelNameChars,
    maxChannelsPerTrigger: a.max_channels_per_trigger ?? DEFAULTS.maxChannelsPerTrigger,
    maxBatchEvents: a.max_batch_events ?? DEFAULTS.maxBatchEvents,
    maxPresenceMembers: a.max_presence_members ?? DEFAULTS.maxPresenceMembers,
    maxMemberInfoBytes: a.max_member_info_bytes ?? DEFAULTS.maxMemberInfoBytes,
    clientEventsPerSecond: a.client_events_per_second ?? DEFAULTS.clientEventsPerSecond,
    activityTimeoutSeconds: a.activity_timeout_seconds ?? DEFAULTS.activityTimeoutSeconds,
  }));
}

function bad(message: string): ParleyError {
  return new ParleyError('bad_request', message);
}
