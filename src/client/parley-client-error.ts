import { CloseCode } from '../protocol/close-codes.js';
import { ERRORS, type ErrorCode, isErrorCode } from '../protocol/error-catalogue.js';
import type { ErrorFrame } from '../protocol/frames.js';

/** Options of a {@link ParleyClientError}. */
export interface ParleyClientErrorOptions {
  readonly cause?: unknown;
  /** The channel the failed request named, when the server said. */
  readonly channel?: string | undefined;
  /** How long the server asked the client to wait before retrying. */
  readonly retryAfterMs?: number | undefined;
  /** When a ban or mute the error reports ends (null = until lifted). */
  readonly until?: number | null | undefined;
  /** The WebSocket close code behind the error, when a close caused it. */
  readonly closeCode?: number | undefined;
}

/**
 * The one error class of the client SDK: a code from Parley's error catalogue (as sent in an
 * `error` frame, or derived from a close code or a local failure) and a message safe to show.
 */
export class ParleyClientError extends Error {
  override readonly name: string = 'ParleyClientError';
  readonly code: ErrorCode;
  readonly channel: string | undefined;
  readonly retryAfterMs: number | undefined;
  /** `banned`, `muted`: when it ends (ms since the epoch; null = until lifted; undefined = not said). */
  readonly until: number | null | undefined;
  readonly closeCode: number | undefined;

  constructor(code: ErrorCode, message: string, options: ParleyClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.channel = options.channel;
    this.retryAfterMs = options.retryAfterMs;
    this.until = options.until;
    this.closeCode = options.closeCode;
  }

  /** Whether the catalogue says the same request may be retried. */
  get retryable(): boolean {
    return ERRORS[this.code].retry;
  }

  /** The exit code the CLI uses for this error. */
  get exitCode(): number {
    return ERRORS[this.code].exit;
  }

  /** The error an `error` frame describes; an unknown code becomes `internal`. */
  static fromFrame(frame: ErrorFrame): ParleyClientError {
    const code = isErrorCode(frame.code) ? frame.code : 'internal';
    const message = code === frame.code ? frame.message : `${frame.code}: ${frame.message}`;
    return new ParleyClientError(code, message, {
      channel: frame.channel,
      retryAfterMs: frame.retry_after_ms,
      until: frame.until,
    });
  }

  /** The error a WebSocket close code stands for. */
  static fromClose(closeCode: number, reason: string): ParleyClientError {
    const detail =
      reason === ''
        ? `connection closed with ${closeCode}`
        : `connection closed with ${closeCode}: ${reason}`;
    return new ParleyClientError(errorCodeForClose(closeCode), detail, { closeCode });
  }
}

/**
 * The request could not complete because its connection closed first. Operations that are
 * safe to repeat catch this and try again on the next connection.
 */
export class ConnectionLostError extends ParleyClientError {
  override readonly name: string = 'ConnectionLostError';

  constructor(message = 'the connection closed before the server answered') {
    super('unavailable', message);
  }
}

const CLOSE_ERRORS: Readonly<Record<number, ErrorCode>> = {
  [CloseCode.ServerShutdown]: 'server_shutdown',
  [CloseCode.SlowConsumer]: 'slow_consumer',
  [CloseCode.TokenExpired]: 'token_expired',
  [CloseCode.AuthTimeout]: 'auth_timeout',
  [CloseCode.RateLimited]: 'rate_limited',
  [CloseCode.HeartbeatTimeout]: 'timeout',
  [CloseCode.Unavailable]: 'unavailable',
  [CloseCode.AuthFailed]: 'auth_failed',
  [CloseCode.Kicked]: 'forbidden',
  1008: 'forbidden',
  1009: 'payload_too_large',
};

/** The catalogue code that best describes a WebSocket close code. */
export function errorCodeForClose(closeCode: number): ErrorCode {
  return CLOSE_ERRORS[closeCode] ?? 'unavailable';
}
