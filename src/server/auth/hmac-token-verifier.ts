import { createSecretKey, type KeyObject } from 'node:crypto';
import { errors, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { ParleyError } from '../../protocol/error-catalogue.js';
import { isUserId, MAX_DISPLAY_NAME, MAX_USER_ID, stripControlChars } from '../../protocol/field-rules.js';
import type { JwtConfig } from '../config.js';
import type { Identity, TokenVerifier } from './token-verifier.js';
import { checkRegisteredClaims, verifyHmacJws } from './verify-hmac-jws.js';

/**
 * The latest NumericDate accepted, in seconds: the last moment a JavaScript `Date` can hold
 * (year 275760). Later values (and `1e400`, which JSON reads as Infinity) are no time at all.
 */
export const MAX_NUMERIC_DATE = 8_640_000_000_000;

/** The NumericDate claims, each checked the same way. */
const TIME_CLAIMS = ['iat', 'nbf', 'exp'] as const;

// Lone UTF-16 surrogates (from `\ud800` escapes): no database stores them as they are.
const LONE_SURROGATE = /\p{Surrogate}/u;
const LONE_SURROGATES = /\p{Surrogate}/gu;
// C1 controls and the bidirectional embeddings, overrides and isolates: invisible, and an
// unclosed override reorders the text shown after a name (someone else's message, say).
const NAME_INVISIBLES = /[\u0080-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Verifies HS256 (or another allowlisted HMAC algorithm) JWTs, the way a web app signs them
 * with firebase/php-jwt, and bounds what a token may claim so that even a party able to get any
 * claims signed cannot stamp a token valid for longer than its rules say:
 *
 * - the compact form and its header as jose 6's `jwtVerify` judges them (jose's base64url
 *   decoder, strict UTF-8 JSON objects, `crit`, `b64`), in the same order, with jose's error
 *   classes, so every refusal keeps the code and message it had when jose verified;
 * - the header: `alg` in the allowlist; no `crit` (Parley implements no extension); `kid` and
 *   the other key hints ignored, the key is never chosen by the token; no member twice;
 * - the signature: node:crypto's HMAC of the signing input, compared in constant time
 *   (`timingSafeEqual`), on the calling thread: WebCrypto's `subtle.verify` (what jose uses)
 *   hops to libuv's thread pool and back for each token, which a connect storm pays in latency
 *   and CPU for every connection;
 * - `iat`, `nbf`, `exp`: when present, numbers (fractions allowed) from 0 to `MAX_NUMERIC_DATE`;
 *   `exp` must be ahead of now and `nbf` not ahead of now, each within the clock tolerance, and
 *   `iat` no further ahead of now than the tolerance; `exp` is honoured as signed (not capped);
 * - no `exp`: valid for `maxAgeSeconds` after `min(iat, now)`; neither `exp` nor `iat`: refused;
 * - `iss`/`aud` when configured: `iss` exactly the issuer, `aud` the audience or an array of
 *   strings holding it;
 * - the user id and the username as the field rules say (`user_id`/`sub`, `username`/`name`);
 * - no claim twice (JSON parsers disagree on which of two values counts).
 *
 * Every refusal is `auth_failed`, except a token past its `exp` (or its maximum age):
 * `token_expired`. The messages name the rule, never the token or a claim's value.
 */
export class HmacTokenVerifier implements TokenVerifier {
  readonly #config: JwtConfig;
  readonly #now: () => number;
  readonly #algorithms: ReadonlySet<string>;
  // The secret made a KeyObject once: an HMAC from it skips copying the raw bytes each time.
  readonly #key: KeyObject;

  constructor(config: JwtConfig, now: () => number = Date.now) {
    this.#config = config;
    this.#now = now;
    this.#algorithms = new Set(config.algorithms);
    this.#key = createSecretKey(Uint8Array.from(config.secret));
  }

  async verify(token: string): Promise<Identity> {
    return this.verifySync(token);
  }

  /** `verify`, on the calling thread: the same identity, or the same `ParleyError`, thrown. */
  verifySync(token: string): Identity {
    const now = this.#now();
    let payload: JWTPayload;
    let header: JWTHeaderParameters;
    try {
      ({ header, payload } = verifyHmacJws(token, this.#key, this.#algorithms));
      checkRegisteredClaims(payload, this.#config, now);
    } catch (err) {
      throw toParleyError(err);
    }
    // Only a correctly signed token gets here: the checks below judge what its signer stamped.
    checkHeader(header, token);
    checkClaims(payload, token, this.#config.audience !== undefined);
    const iat = payload.iat;
    if (iat !== undefined && iat > Math.ceil(now / 1000) + this.#config.clockToleranceSeconds) {
      throw new ParleyError('auth_failed', 'token "iat" is in the future (beyond the clock tolerance)');
    }
    const userId = this.#userId(payload);
    return {
      userId,
      username: this.#username(payload, userId),
      expiresAt: this.#expiresAt(payload, now),
      ...(iat === undefined ? {} : { issuedAt: Math.floor(iat * 1000) }),
    };
  }

  #expiresAt(payload: JWTPayload, now: number): number {
    if (payload.exp !== undefined) return Math.floor(payload.exp * 1000);
    if (payload.iat === undefined) {
      throw new ParleyError('auth_failed', 'token has neither "exp" nor "iat"');
    }
    // From min(iat, now): an `iat` ahead of the clock (within the tolerance) adds no lifetime.
    const expiresAt = Math.floor(Math.min(payload.iat * 1000, now)) + this.#config.maxAgeSeconds * 1000;
    if (expiresAt + this.#config.clockToleranceSeconds * 1000 <= now) {
      throw new ParleyError(
        'token_expired',
        'token has no "exp" and its "iat" is older than the allowed maximum age',
      );
    }
    return expiresAt;
  }

  #userId(payload: JWTPayload): string {
    const configured = this.#config.userIdClaim;
    // Own properties only (a claim name like `constructor` must not find Object's), and the
    // fallback only when the claim is absent: `"user_id": null` is refused, not replaced by `sub`.
    const claim = Object.hasOwn(payload, configured) || !Object.hasOwn(payload, 'sub') ? configured : 'sub';
    if (!Object.hasOwn(payload, claim)) {
      throw new ParleyError('auth_failed', `token has no "${configured}" (or "sub") claim`);
    }
    const raw = payload[claim];
    let id: string;
    if (typeof raw === 'number' && Number.isSafeInteger(raw)) id = String(raw);
    else if (typeof raw === 'string') id = raw.trim();
    else throw new ParleyError('auth_failed', `token claim "${claim}" must be a string or an integer`);
    if (id.length === 0) throw new ParleyError('auth_failed', `token claim "${claim}" is empty`);
    if (id.length > MAX_USER_ID) {
      throw new ParleyError('auth_failed', `token claim "${claim}" is longer than ${MAX_USER_ID} characters`);
    }
    if (!isUserId(id))
      throw new ParleyError('auth_failed', `token claim "${claim}" contains control characters`);
    if (LONE_SURROGATE.test(id))
      throw new ParleyError('auth_failed', `token claim "${claim}" is not well-formed Unicode`);
    return id;
  }

  #username(payload: JWTPayload, userId: string): string {
    for (const claim of [this.#config.usernameClaim, 'name']) {
      const raw = Object.hasOwn(payload, claim) ? payload[claim] : undefined;
      if (typeof raw !== 'string') continue;
      const name = displayName(raw);
      if (name.length > 0) return name;
    }
    return userId;
  }
}

/**
 * A display name as the token's signer gave it, made safe to show: lone surrogates become
 * U+FFFD, control characters and bidirectional overrides go, trimmed, cut to
 * `MAX_DISPLAY_NAME` without splitting a character in two.
 */
function displayName(raw: string): string {
  const clean = stripControlChars(raw).replace(NAME_INVISIBLES, '').replace(LONE_SURROGATES, '\ufffd').trim();
  if (clean.length <= MAX_DISPLAY_NAME) return clean;
  const high = clean.charCodeAt(MAX_DISPLAY_NAME - 1);
  const cut = high >= 0xd800 && high <= 0xdbff ? MAX_DISPLAY_NAME - 1 : MAX_DISPLAY_NAME;
  return clean.slice(0, cut).trimEnd();
}

function checkHeader(header: JWTHeaderParameters, token: string): void {
  // jose accepts `crit: ["b64"]`; Parley implements no extension, so a critical one is refused.
  if (Object.hasOwn(header, 'crit')) {
    throw new ParleyError('auth_failed', 'token header "crit" is not supported');
  }
  if (hasDuplicateNames(segment(token, 0))) {
    throw new ParleyError('auth_failed', 'token header has a member twice');
  }
}

function checkClaims(payload: JWTPayload, token: string, audienceConfigured: boolean): void {
  if (hasDuplicateNames(segment(token, 1))) {
    throw new ParleyError('auth_failed', 'token has a claim twice');
  }
  for (const claim of TIME_CLAIMS) {
    if (!Object.hasOwn(payload, claim)) continue;
    const value = payload[claim];
    // jose has checked each is a number; JSON also reads 1e400 as Infinity, which it lets by.
    if (typeof value !== 'number' || !(value >= 0 && value <= MAX_NUMERIC_DATE)) {
      throw new ParleyError(
        'auth_failed',
        `token claim "${claim}" must be a time in seconds from 0 to ${MAX_NUMERIC_DATE}`,
      );
    }
  }
  // jose accepts an array holding the audience whatever else it holds; an array of non-strings
  // is no audience list.
  const aud = payload.aud;
  if (audienceConfigured && Array.isArray(aud) && !aud.every((a) => typeof a === 'string')) {
    throw new ParleyError('auth_failed', 'token claim "aud" must be a string or an array of strings');
  }
}

// One segment of a compact JWS jose has verified: valid base64url of strict UTF-8 JSON.
function segment(token: string, index: 0 | 1): string {
  const part = token.split('.', 2)[index] ?? '';
  return Buffer.from(part, 'base64url').toString('utf8');
}

/**
 * True when an object in the JSON text (already known to be valid JSON) has a member name
 * twice, compared after unescaping (`"alg"` and `"\u0061lg"` are one name).
 */
function hasDuplicateNames(json: string): boolean {
  // One entry per open container: the names seen so far for an object, undefined for an array.
  const stack: (Set<string> | undefined)[] = [];
  let expectName = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '{') {
      stack.push(new Set());
      expectName = true;
    } else if (c === '[') {
      stack.push(undefined);
      expectName = false;
    } else if (c === '}' || c === ']') {
      stack.pop();
      expectName = false;
    } else if (c === ',') {
      expectName = stack.at(-1) !== undefined;
    } else if (c === '"') {
      const start = i;
      for (i++; i < json.length && json[i] !== '"'; i++) if (json[i] === '\\') i++;
      const names = stack.at(-1);
      if (expectName && names !== undefined) {
        const name = JSON.parse(json.slice(start, i + 1)) as string;
        if (names.has(name)) return true;
        names.add(name);
      }
      expectName = false;
    }
  }
  return false;
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
      err.reason === 'missing'
        ? `token has no "${err.claim}" claim`
        : err.reason === 'invalid'
          ? `token claim "${err.claim}" must be a number (seconds since 1970)`
          : err.claim === 'nbf'
            ? 'token is not valid yet ("nbf" is in the future)'
            : `token claim "${err.claim}" is not accepted`;
    return new ParleyError('auth_failed', reason, { cause: err });
  }
  if (err instanceof errors.JOSEError)
    return new ParleyError('auth_failed', 'token is malformed or unsupported', { cause: err });
  return new ParleyError('auth_failed', 'token could not be verified', { cause: err });
}
