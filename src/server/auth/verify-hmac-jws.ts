import { createHmac, type KeyObject, timingSafeEqual } from 'node:crypto';
import { base64url, errors, type JWTHeaderParameters, type JWTPayload } from 'jose';
import type { JwtConfig } from '../config.js';

/** node:crypto's names of the allowlisted HMAC algorithms' hashes. */
const HASHES: Readonly<Record<string, string>> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };
const NON_ASCII = /[\u0080-\uffff]/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A compact JWS signed with an HMAC algorithm of `algorithms`, checked as jose 6's `jwtVerify`
 * checks one (in its order, with its error classes) but on the calling thread: its header and
 * its claims set, both plain JSON objects. Throws jose's errors; judges no claim.
 */
export function verifyHmacJws(
  token: string,
  key: KeyObject,
  algorithms: ReadonlySet<string>,
): { header: JWTHeaderParameters; payload: JWTPayload } {
  if (typeof token !== 'string') throw new errors.JWSInvalid('Compact JWS must be a string');
  const parts = token.split('.');
  if (parts.length !== 3) throw new errors.JWSInvalid('Invalid Compact JWS');
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const header = parseObject(encodedHeader, () => new errors.JWSInvalid('JWS Protected Header is invalid'));
  const b64 = checkCrit(header);
  const alg = header.alg;
  if (typeof alg !== 'string' || alg.length === 0) {
    throw new errors.JWSInvalid('JWS "alg" (Algorithm) Header Parameter missing or invalid');
  }
  if (!algorithms.has(alg)) {
    throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
  }
  // `kid`, `jku`, `jwk`, `x5u`, `x5c` are not read: there is one secret.
  const hash = HASHES[alg];
  if (hash === undefined) throw new errors.JOSENotSupported(`Unsupported JWS algorithm: ${alg}`);
  if (NON_ASCII.test(encodedPayload)) {
    throw new errors.JWSInvalid('JWS Compact Serialization payload must use only ASCII characters');
  }
  if (!b64) {
    // jose checks the signature of the raw payload then, and refuses it as a JWT after.
    checkSignature(key, hash, `${encodedHeader}.${encodedPayload}`, encodedSignature);
    throw new errors.JWTInvalid('JWTs MUST NOT use unencoded payload');
  }
  checkSignature(key, hash, `${encodedHeader}.${encodedPayload}`, encodedSignature);
  let bytes: Uint8Array;
  try {
    bytes = decode(encodedPayload);
  } catch (cause) {
    throw new errors.JWSInvalid('Failed to base64url decode the payload', { cause });
  }
  let payload: unknown;
  try {
    payload = JSON.parse(strictUtf8.decode(bytes));
  } catch (cause) {
    throw new errors.JWTInvalid('JWT Claims Set must be a top-level JSON object', { cause });
  }
  if (!isPlainObject(payload)) throw new errors.JWTInvalid('JWT Claims Set must be a top-level JSON object');
  return { header: header as JWTHeaderParameters, payload: payload as JWTPayload };
}

// jose's base64url decoder: what it refuses, this verifier refuses.
function decode(encoded: string): Uint8Array {
  return base64url.decode(encoded);
}

// A JSON object of the header: base64url, strict UTF-8, a plain object (as jose parses it).
function parseObject(encoded: string, invalid: () => Error): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(strictUtf8.decode(decode(encoded)));
  } catch (cause) {
    throw Object.assign(invalid(), { cause });
  }
  if (!isPlainObject(parsed)) throw invalid();
  return parsed;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  if (Object.prototype.toString.call(value) !== '[object Object]') return false;
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === null || Object.getPrototypeOf(proto) === null;
}

// jose's `crit` and `b64` rules for a compact JWS (only `b64` is an extension it knows);
// returns whether the payload is base64url-encoded. `checkHeader` refuses any `crit` after.
function checkCrit(header: Record<string, unknown>): boolean {
  const crit = header.crit;
  if (crit === undefined) return true;
  if (
    !Array.isArray(crit) ||
    crit.length === 0 ||
    crit.some((name) => typeof name !== 'string' || name.length === 0)
  ) {
    throw new errors.JWSInvalid(
      '"crit" (Critical) Header Parameter MUST be an array of non-empty strings when present',
    );
  }
  for (const name of crit as string[]) {
    if (name !== 'b64')
      throw new errors.JOSENotSupported(`Extension Header Parameter "${name}" is not recognized`);
    if (!Object.hasOwn(header, name) || header[name] === undefined) {
      throw new errors.JWSInvalid(`Extension Header Parameter "${name}" is missing`);
    }
  }
  const b64 = header.b64;
  if (typeof b64 !== 'boolean') {
    throw new errors.JWSInvalid('The "b64" (base64url-encode payload) Header Parameter must be a boolean');
  }
  return b64;
}

// The HMAC of the signing input against the signature, in constant time for equal lengths
// (a signature of another length is no HMAC of this algorithm, as WebCrypto's verify says too).
function checkSignature(key: KeyObject, hash: string, input: string, encodedSignature: string): void {
  let signature: Uint8Array;
  try {
    signature = decode(encodedSignature);
  } catch (cause) {
    throw new errors.JWSInvalid('Failed to base64url decode the signature', { cause });
  }
  const expected = createHmac(hash, key).update(input, 'latin1').digest();
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
    throw new errors.JWSSignatureVerificationFailed();
  }
}

/**
 * The registered claims as jose's `jwtVerify` checks them with Parley's options (issuer,
 * audience, clock tolerance, the current time), in its order and with its errors.
 */
export function checkRegisteredClaims(claims: JWTPayload, config: JwtConfig, nowMs: number): void {
  const { issuer, audience } = config;
  for (const [claim, wanted] of [
    ['iss', issuer],
    ['aud', audience],
  ] as const) {
    if (wanted !== undefined && !Object.hasOwn(claims, claim)) {
      throw new errors.JWTClaimValidationFailed(
        `missing required "${claim}" claim`,
        claims,
        claim,
        'missing',
      );
    }
  }
  if (issuer !== undefined && claims.iss !== issuer) unexpected(claims, 'iss');
  if (audience !== undefined) {
    const aud = claims.aud;
    const present = typeof aud === 'string' ? aud === audience : Array.isArray(aud) && aud.includes(audience);
    if (!present) unexpected(claims, 'aud');
  }
  const tolerance = config.clockToleranceSeconds;
  const now = Math.floor(nowMs / 1000);
  numericDate(claims, 'iat');
  const nbf = numericDate(claims, 'nbf');
  if (nbf !== undefined && nbf > now + tolerance) {
    throw new errors.JWTClaimValidationFailed(
      '"nbf" claim timestamp check failed',
      claims,
      'nbf',
      'check_failed',
    );
  }
  const exp = numericDate(claims, 'exp');
  if (exp !== undefined && exp <= now - tolerance) {
    throw new errors.JWTExpired('"exp" claim timestamp check failed', claims, 'exp', 'check_failed');
  }
}

function numericDate(claims: JWTPayload, claim: 'iat' | 'nbf' | 'exp'): number | undefined {
  const value = claims[claim];
  if (value === undefined) return undefined;
  if (typeof value !== 'number') {
    throw new errors.JWTClaimValidationFailed(`"${claim}" claim must be a number`, claims, claim, 'invalid');
  }
  return value;
}

function unexpected(claims: JWTPayload, claim: string): never {
  throw new errors.JWTClaimValidationFailed(
    `unexpected "${claim}" claim value`,
    claims,
    claim,
    'check_failed',
  );
}
