import { SignJWT } from 'jose';
import { ParleyError } from '../protocol/error-catalogue.js';

/** The shortest HS256 secret accepted, in bytes: the size of the hash. */
export const MIN_SECRET_BYTES = 32;

/** What {@link signToken} puts in a token. */
export interface SignTokenOptions {
  /** The shared secret (UTF-8 bytes of a string, as the server reads `PARLEY_JWT_SECRET`). */
  readonly secret: string | Uint8Array | undefined;
  readonly userId: string;
  readonly username: string;
  /** Lifetime in seconds, from `now`. */
  readonly ttlSeconds: number;
  readonly issuer?: string | undefined;
  readonly audience?: string | undefined;
  /** The issue time, ms since the epoch. Default `Date.now()`. */
  readonly now?: number;
}

/**
 * Signs an HS256 JWT the way Parley verifies it by default: claims `user_id`, `username`,
 * `iat`, `exp`, plus `iss`/`aud` when given. Throws `ParleyError('bad_request')` for a missing
 * secret, one shorter than {@link MIN_SECRET_BYTES}, an empty user id or a non-positive TTL.
 */
export async function signToken(options: SignTokenOptions): Promise<string> {
  const { secret } = options;
  if (secret === undefined || secret.length === 0) {
    throw new ParleyError(
      'bad_request',
      `no secret: set PARLEY_JWT_SECRET (or pass --secret) to the server's secret, at least ${MIN_SECRET_BYTES} bytes`,
    );
  }
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  if (key.length < MIN_SECRET_BYTES) {
    throw new ParleyError(
      'bad_request',
      `the secret is ${key.length} bytes; use at least ${MIN_SECRET_BYTES} random bytes (e.g. \`openssl rand -base64 48\`)`,
    );
  }
  if (options.userId.trim() === '') throw new ParleyError('bad_request', 'the user id must not be empty');
  if (!Number.isSafeInteger(options.ttlSeconds) || options.ttlSeconds <= 0) {
    throw new ParleyError('bad_request', 'the TTL must be a positive number of seconds');
  }
  const iat = Math.floor((options.now ?? Date.now()) / 1000);
  let jwt = new SignJWT({ user_id: options.userId, username: options.username })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(iat)
    .setExpirationTime(iat + options.ttlSeconds);
  if (options.issuer !== undefined && options.issuer !== '') jwt = jwt.setIssuer(options.issuer);
  if (options.audience !== undefined && options.audience !== '') jwt = jwt.setAudience(options.audience);
  return jwt.sign(key);
}
