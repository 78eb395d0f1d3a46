import { errors, type JWTHeaderParameters, type JWTPayload, jwtVerify } from 'jose';
import { ParleyError } from '../../protocol/error-catalogue.js';
import {
  hasControlChars,
  MAX_DISPLAY_NAME,
  MAX_USER_ID,
  stripControlChars,
} from '../../protocol/field-rules.js';
import type { JwtConfig } from '../config.js';
import type { Identity, TokenVerifier } from './token-verifier.js';

/**
 * Verifies HS256 (or another allowlisted HMAC algorithm) JWTs with `jose`, the way a web app
 * signs them with firebase/php-jwt: `exp` and `nbf` always, `iss`/`aud` when configured, and a
 * token without `exp` only while its `iat` is younger than `maxAgeSeconds`.
 */
export class JoseTokenVerifier implements TokenVerifier {
  readonly #config: JwtConfig;
  readonly #now: () => number;
  // The secret imported once per algorithm: given the raw bytes, jose imports them into a
  // CryptoKey for every token, which doubled the cost of a verification (28 against 16 µs).
  readonly #keys = new Map<string, Promise<CryptoKey>>();
  readonly #keyFor = (header: JWTHeaderParameters): Promise<CryptoKey> => {
    // jose has already refused an algorithm outside `algorithms` (HS256, HS384, HS512 only).
    const alg = header.alg;
    let key = this.#keys.get(alg);
    if (key === undefined) {
      key = crypto.subtle.importKey(
        'raw',
        Uint8Array.from(this.#config.secret),
        { name: 'HMAC', hash: `SHA-${alg.slice(2)}` },
        false,
        ['verify'],
      );
      this.#keys.set(alg, key);
      // A failed import is not kept: the next token tries again.
      key.catch(() => this.#keys.delete(alg));
    }
    return key;
  };

  constructor(config: JwtConfig, now: () => number = Date.now) {
    this.#config = config;
    this.#now = now;
  }

  async verify(token: string): Promise<Identity> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#keyFor, {
        algorithms: [...this.#config.algorithms],
        ...(this.#config.issuer === undefined ? {} : { issuer: this.#config.issuer }),
        ...(this.#config.audience === undefined ? {} : { audience: this.#config.audience }),
        clockTolerance: this.#config.clockToleranceSeconds,
        currentDate: new Date(this.#now()),
      }));
    } catch (err) {
      throw toParleyError(err);
    }
    return {
      userId: this.#userId(payload),
      username: this.#username(payload),
      expiresAt: this.#expiresAt(payload),
      ...(typeof payload.iat === 'number' ? { issuedAt: payload.iat * 1000 } : {}),
    };
  }

  #expiresAt(payload: JWTPayload): number {
    if (typeof payload.exp === 'number') return payload.exp * 1000;
    if (typeof payload.iat !== 'number') {
      throw new ParleyError('auth_failed', 'token has neither "exp" nor "iat"');
    }
    const expiresAt = (payload.iat + this.#config.maxAgeSeconds) * 1000;
    if (expiresAt + this.#config.clockToleranceSeconds * 1000 <= this.#now()) {
      throw new ParleyError(
        'token_expired',
        'token has no "exp" and its "iat" is older than the allowed maximum age',
      );
    }
    return expiresAt;
  }

  #userId(payload: JWTPayload): string {
    const claim = this.#config.userIdClaim;
    const raw = payload[claim] ?? payload.sub;
    let id: string;
    if (typeof raw === 'number' && Number.isSafeInteger(raw)) id = String(raw);
    else if (typeof raw === 'string') id = raw.trim();
    else if (raw === undefined)
      throw new ParleyError('auth_failed', `token has no "${claim}" (or "sub") claim`);
    else throw new ParleyError('auth_failed', `token claim "${claim}" must be a string or an integer`);
    if (id.length === 0) throw new ParleyError('auth_failed', `token claim "${claim}" is empty`);
    if (id.length > MAX_USER_ID) {
      throw new ParleyError('auth_failed', `token claim "${claim}" is longer than ${MAX_USER_ID} characters`);
    }
    if (hasControlChars(id))
      throw new ParleyError('auth_failed', `token claim "${claim}" contains control characters`);
    return id;
  }

  #username(payload: JWTPayload): string {
    const raw = payload[this.#config.usernameClaim] ?? payload.name;
    const name = typeof raw === 'string' ? stripControlChars(raw).trim() : '';
    if (name.length === 0) return this.#userId(payload);
    return name.slice(0, MAX_DISPLAY_NAME);
  }
}

function toParleyError(err: unknown): ParleyError {
  if (err instanceof ParleyError) return err;
  if (err instanceof errors.JWTExpired)
    return new ParleyError('token_expired', 'token has expired', { cause: err });
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return new ParleyError('auth_failed', 'token algorithm is not allowed', { cause: err });
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return new ParleyError('auth_failed', 'token signature is invalid', { cause: err });
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    const reason =
      err.claim === 'nbf'
        ? 'token is not valid yet ("nbf" is in the future)'
        : err.claim === 'iat'
          ? 'token "iat" is invalid'
          : `token claim "${err.claim}" is not accepted`;
    return new ParleyError('auth_failed', reason, { cause: err });
  }
  if (err instanceof errors.JOSEError)
    return new ParleyError('auth_failed', 'token is malformed or unsupported', { cause: err });
  return new ParleyError('auth_failed', 'token could not be verified', { cause: err });
}
