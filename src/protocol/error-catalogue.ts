/**
 * The one catalogue of Parley error codes: each stable snake_case code with its HTTP status,
 * the CLI exit code it maps to, and whether a client may retry the same request.
 * docs/protocol.md lists the same table; keep them in step.
 */
export const ERRORS = {
  bad_request: { status: 400, exit: 2, retry: false },
  invalid_json: { status: 400, exit: 2, retry: false },
  unknown_type: { status: 400, exit: 2, retry: false },
  message_too_long: { status: 413, exit: 2, retry: false },
  payload_too_large: { status: 413, exit: 2, retry: false },
  not_authenticated: { status: 401, exit: 3, retry: false },
  auth_failed: { status: 401, exit: 3, retry: false },
  token_expired: { status: 401, exit: 3, retry: false },
  auth_timeout: { status: 408, exit: 3, retry: true },
  forbidden: { status: 403, exit: 4, retry: false },
  not_found: { status: 404, exit: 5, retry: false },
  conflict: { status: 409, exit: 6, retry: false },
  rate_limited: { status: 429, exit: 7, retry: true },
  // Moderation (issue 17): `banned` and `muted` carry `until`, `slow_mode` `retry_after_ms`.
  banned: { status: 403, exit: 4, retry: false },
  muted: { status: 403, exit: 4, retry: false },
  slow_mode: { status: 429, exit: 7, retry: true },
  content_rejected: { status: 422, exit: 2, retry: false },
  slow_consumer: { status: 503, exit: 8, retry: true },
  server_shutdown: { status: 503, exit: 8, retry: true },
  unavailable: { status: 503, exit: 8, retry: true },
  timeout: { status: 504, exit: 8, retry: true },
  internal: { status: 500, exit: 1, retry: true },
  // Attachments (issue 16).
  file_too_large: { status: 413, exit: 2, retry: false },
  file_type_refused: { status: 415, exit: 2, retry: false },
  not_an_image: { status: 415, exit: 2, retry: false },
  bad_attachment: { status: 409, exit: 6, retry: false },
} as const satisfies Record<string, { status: number; exit: number; retry: boolean }>;

/** A stable Parley error code. */
export type ErrorCode = keyof typeof ERRORS;

/** True when `value` is one of the catalogue's codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}

/**
 * The one error class of Parley: a catalogue code plus a human message that is safe to show a
 * peer (it never contains tokens, passwords or message text).
 */
export class ParleyError extends Error {
  override readonly name = 'ParleyError';
  readonly code: ErrorCode;
  /** Extra machine-readable details sent to the peer (e.g. `retry_after_ms`). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }

  /** The HTTP status the catalogue maps this code to. */
  get status(): number {
    return ERRORS[this.code].status;
  }
}
