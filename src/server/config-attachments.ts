// Attachments' settings (issue 16): limits, quotas, the sweep, download tickets and where the
// files are stored, each named with its default and environment variable (README lists them).
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ParleyError } from '../protocol/error-catalogue.js';

/** Where attachment files are kept. */
export type AttachmentStorage =
  | { readonly kind: 'disk'; readonly dir: string }
  | {
      readonly kind: 's3';
      readonly bucket: string;
      readonly endpoint: string | undefined;
      readonly region: string;
      readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
      readonly forcePathStyle: boolean;
      readonly prefix: string;
    };

/** The attachment settings of a node. */
export interface AttachmentConfig {
  /** Largest file accepted, in bytes (bigger uploads are cut off with `file_too_large`). */
  readonly maxBytes: number;
  /** Most attachments one message carries. */
  readonly perMessage: number;
  /** Uploads one user may make per hour, and bytes per day (quota; `rate_limited` beyond). */
  readonly uploadsPerHour: number;
  readonly bytesPerDay: number;
  /** Largest image accepted, in pixels (width × height), against decompression bombs. */
  readonly maxPixels: number;
  /** Media types accepted, as sniffed from the bytes. */
  readonly types: readonly string[];
  /** How long an upload may wait for its message before the sweep removes it. */
  readonly unattachedTtlMs: number;
  /** How often the sweep looks for files to remove. */
  readonly sweepIntervalMs: number;
  /** How long a channel's download ticket (for `<img>` URLs) stays valid. */
  readonly ticketTtlMs: number;
  /** Where uploads are spooled while they arrive and are checked. */
  readonly spoolDir: string;
  readonly storage: AttachmentStorage;
}

/** The media types accepted by default (`PARLEY_ATTACHMENT_TYPES`). */
export const DEFAULT_ATTACHMENT_TYPES: readonly string[] = [
  'image/jpeg',
  'image/png',
  'image/gif',
  'image/webp',
  'application/pdf',
  'text/plain',
  'application/zip',
  'audio/mpeg',
  'audio/ogg',
  'video/mp4',
  'video/webm',
];

/** The numeric defaults and the environment variable of each. */
export const ATTACHMENT_DEFAULTS = {
  maxBytes: { env: 'PARLEY_ATTACHMENT_MAX_BYTES', value: 25 * 1024 * 1024 },
  perMessage: { env: 'PARLEY_ATTACHMENTS_PER_MESSAGE', value: 10 },
  uploadsPerHour: { env: 'PARLEY_ATTACHMENT_UPLOADS_PER_HOUR', value: 100 },
  bytesPerDay: { env: 'PARLEY_ATTACHMENT_BYTES_PER_DAY', value: 1024 * 1024 * 1024 },
  maxPixels: { env: 'PARLEY_ATTACHMENT_MAX_PIXELS', value: 50_000_000 },
  unattachedTtlMs: { env: 'PARLEY_ATTACHMENT_UNATTACHED_TTL_MS', value: 24 * 60 * 60_000 },
  sweepIntervalMs: { env: 'PARLEY_ATTACHMENT_SWEEP_INTERVAL_MS', value: 60_000 },
  ticketTtlMs: { env: 'PARLEY_ATTACHMENT_TICKET_TTL_MS', value: 15 * 60_000 },
} as const;

// Types a browser would run or render as a document: never accepted, whatever the setting says.
const NEVER = new Set([
  'text/html',
  'image/svg+xml',
  'application/xhtml+xml',
  'application/javascript',
  'text/javascript',
  'application/xml',
  'text/xml',
]);

/**
 * Reads the attachment settings. Files go to `PARLEY_ATTACHMENT_DIR`, by default an
 * `attachments` folder next to the SQLite file (`./data/attachments` for other databases), or
 * to an S3-compatible bucket when `PARLEY_S3_BUCKET` is set.
 */
export function loadAttachmentConfig(env: NodeJS.ProcessEnv, databaseUrl: string): AttachmentConfig {
  const int = (key: keyof typeof ATTACHMENT_DEFAULTS): number => {
    const { env: name, value } = ATTACHMENT_DEFAULTS[key];
    const raw = env[name];
    if (raw === undefined || raw === '') return value;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n <= 0)
      throw new ParleyError('bad_request', `${name} must be a positive integer, got "${raw.slice(0, 40)}"`);
    return n;
  };
  const types =
    env.PARLEY_ATTACHMENT_TYPES === undefined || env.PARLEY_ATTACHMENT_TYPES.trim() === ''
      ? DEFAULT_ATTACHMENT_TYPES
      : env.PARLEY_ATTACHMENT_TYPES.split(/[\s,]+/).filter((t) => t !== '');
  for (const type of types) {
    if (NEVER.has(type) || !/^[a-z]+\/[a-z0-9.+-]+$/.test(type))
      throw new ParleyError(
        'bad_request',
        `PARLEY_ATTACHMENT_TYPES: "${type.slice(0, 60)}" cannot be accepted`,
      );
  }
  const sqlite = /^sqlite:(?!:memory:)(.+)$/.exec(databaseUrl)?.[1];
  const dir = resolve(
    env.PARLEY_ATTACHMENT_DIR ||
      (sqlite === undefined ? './data/attachments' : join(dirname(sqlite), 'attachments')),
  );
  const bucket = env.PARLEY_S3_BUCKET;
  let storage: AttachmentStorage = { kind: 'disk', dir };
  if (bucket !== undefined && bucket !== '') {
    const accessKeyId = env.PARLEY_S3_ACCESS_KEY_ID;
    const secretAccessKey = env.PARLEY_S3_SECRET_ACCESS_KEY;
    if ((accessKeyId === undefined) !== (secretAccessKey === undefined))
      throw new ParleyError(
        'bad_request',
        'set both PARLEY_S3_ACCESS_KEY_ID and PARLEY_S3_SECRET_ACCESS_KEY, or neither',
      );
    const endpoint = env.PARLEY_S3_ENDPOINT || undefined;
    const pathStyle = env.PARLEY_S3_FORCE_PATH_STYLE ?? (endpoint === undefined ? 'off' : 'on');
    if (pathStyle !== 'on' && pathStyle !== 'off')
      throw new ParleyError(
        'bad_request',
        `PARLEY_S3_FORCE_PATH_STYLE must be "on" or "off", got "${pathStyle}"`,
      );
    storage = {
      kind: 's3',
      bucket,
      endpoint,
      region: env.PARLEY_S3_REGION || 'us-east-1',
      credentials:
        accessKeyId === undefined || secretAccessKey === undefined
          ? undefined
          : { accessKeyId, secretAccessKey },
      forcePathStyle: pathStyle === 'on',
      prefix: env.PARLEY_S3_PREFIX ?? '',
    };
  }
  return {
    maxBytes: int('maxBytes'),
    perMessage: int('perMessage'),
    uploadsPerHour: int('uploadsPerHour'),
    bytesPerDay: int('bytesPerDay'),
    maxPixels: int('maxPixels'),
    types,
    unattachedTtlMs: int('unattachedTtlMs'),
    sweepIntervalMs: int('sweepIntervalMs'),
    ticketTtlMs: int('ticketTtlMs'),
    spoolDir: storage.kind === 'disk' ? join(dir, '.spool') : join(tmpdir(), 'parley-uploads'),
    storage,
  };
}
