import { ParleyClientError } from './parley-client-error.js';

/** `err` as a ParleyClientError: itself when it is one, else `internal` with its message. */
export function asClientError(err: unknown, channel?: string): ParleyClientError {
  if (err instanceof ParleyClientError) return err;
  return new ParleyClientError('internal', describeError(err), { cause: err, channel });
}

/** The message of `err`, whatever was thrown. */
export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
