import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ParleyError } from '../../src/protocol/error-catalogue.js';
import { HmacTokenVerifier, MAX_NUMERIC_DATE } from '../../src/server/auth/hmac-token-verifier.js';
import type { Identity } from '../../src/server/auth/token-verifier.js';
import { loadConfig } from '../../src/server/config.js';

// The token rules of README's "Signing a token" table, checked against arbitrary claim sets:
// the verifier's decision, its code and the expiry it computes.

const secret = 'p'.repeat(48);
const key = new TextEncoder().encode(secret);

/** A token whose claims are exactly this JSON text (so `1e400` and `-0` survive), HS256. */
function signRaw(claimsJson: string): string {
  const input = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(claimsJson).toString('base64url')}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

/** The verifiers' clock, set by each run. */
const clock = { now: 0 };
const verifiers = new Map<string, HmacTokenVerifier>();
/** One verifier per (tolerance, max age), its clock read from `clock.now`. */
function verifierFor(toleranceS: number, maxAgeS: number): HmacTokenVerifier {
  const id = `${toleranceS}/${maxAgeS}`;
  let v = verifiers.get(id);
  if (v === undefined) {
    const config = loadConfig({
      PARLEY_JWT_SECRET: secret,
      PARLEY_JWT_CLOCK_TOLERANCE: `${toleranceS}s`,
      PARLEY_JWT_MAX_AGE: `${maxAgeS}s`,
    }).jwt;
    v = new HmacTokenVerifier(config, () => clock.now);
    verifiers.set(id, v);
  }
  return v;
}

/** What the documented rules say of a token: its identity's times, or the codes it may be refused with. */
type Expected =
  | { readonly accepted: true; readonly expiresAt: number; readonly issuedAt: number | undefined }
  | { readonly accepted: false; readonly codes: ReadonlySet<string> };

/** The README's rules for `iat`, `nbf`, `exp` and "no `exp`", at `nowMs`. */
function expected(
  claims: { readonly iat?: unknown; readonly nbf?: unknown; readonly exp?: unknown },
  nowMs: number,
  toleranceS: number,
  maxAgeS: number,
): Expected {
  const codes = new Set<string>();
  // NumericDates are whole seconds: "not ahead of now" reads now to the second (nbf: the
  // current second; iat: the next one, as Parley's own login tokens may carry it), "expired"
  // too.
  const nowS = Math.floor(nowMs / 1000);
  const isTime = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= MAX_NUMERIC_DATE;
  for (const v of [claims.iat, claims.nbf, claims.exp]) {
    if (v !== undefined && !isTime(v)) codes.add('auth_failed');
  }
  const { iat, nbf, exp } = claims;
  if (typeof exp === 'number' && exp <= nowS - toleranceS) codes.add('token_expired');
  if (typeof nbf === 'number' && nbf > nowS + toleranceS) codes.add('auth_failed');
  if (typeof iat === 'number' && iat > Math.ceil(nowMs / 1000) + toleranceS) codes.add('auth_failed');
  if (exp === undefined && iat === undefined) codes.add('auth_failed');
  let expiresAt = 0;
  if (isTime(exp)) expiresAt = Math.floor(exp * 1000);
  else if (exp === undefined && isTime(iat)) {
    expiresAt = Math.floor(Math.min(iat * 1000, nowMs)) + maxAgeS * 1000;
    if (expiresAt + toleranceS * 1000 <= nowMs) codes.add('token_expired');
  }
  if (codes.size > 0) return { accepted: false, codes };
  return { accepted: true, expiresAt, issuedAt: isTime(iat) ? Math.floor(iat * 1000) : undefined };
}

/** A time claim as a JSON literal: absent, a time near one of the rules' edges, or an odd value. */
type TimeSpec =
  | { readonly kind: 'absent' }
  | {
      readonly kind: 'near';
      readonly edge: Edge;
      readonly sign: 1 | -1;
      readonly delta: number;
      readonly fraction: number;
    }
  | { readonly kind: 'odd'; readonly literal: string };
type Edge = 'now' | 'tolerance' | 'maxAge' | 'maxAgeAndTolerance' | 'decade';

const timeSpec: fc.Arbitrary<TimeSpec> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'absent' } as const) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('near' as const),
      edge: fc.constantFrom<Edge>('now', 'tolerance', 'maxAge', 'maxAgeAndTolerance', 'decade'),
      sign: fc.constantFrom<1 | -1>(1, -1),
      delta: fc.integer({ min: -3, max: 3 }),
      fraction: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.999, noNaN: true })),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('odd' as const),
      literal: fc.constantFrom(
        '"1750000000"',
        'null',
        'true',
        '[1]',
        '{}',
        '-1',
        '-0.5',
        '-0',
        '0',
        '1e400',
        '-1e400',
        String(MAX_NUMERIC_DATE),
        String(MAX_NUMERIC_DATE + 1),
      ),
    }),
  },
);

function literalOf(spec: TimeSpec, nowMs: number, toleranceS: number, maxAgeS: number): string | undefined {
  switch (spec.kind) {
    case 'absent':
      return undefined;
    case 'odd':
      return spec.literal;
    case 'near': {
      const edges: Record<Edge, number> = {
        now: 0,
        tolerance: toleranceS,
        maxAge: maxAgeS,
        maxAgeAndTolerance: maxAgeS + toleranceS,
        decade: 10 * 365 * 86400,
      };
      return JSON.stringify(
        Math.floor(nowMs / 1000) + spec.sign * edges[spec.edge] + spec.delta + spec.fraction,
      );
    }
  }
}

async function outcome(verifier: HmacTokenVerifier, token: string): Promise<Identity | ParleyError> {
  try {
    return await verifier.verify(token);
  } catch (err) {
    assert.ok(err instanceof ParleyError, `not a ParleyError: ${String(err)}`);
    return err;
  }
}

describe('token rules, for arbitrary claim sets', () => {
  it('accepts exactly the tokens the rules allow, with the expiry they give, and refuses the rest with their code', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1_500_000_000_000, max: 2_000_000_000_000 }),
        fc.constantFrom(0, 1, 30, 300),
        fc.constantFrom(60, 3600, 86_400),
        fc.record({ iat: timeSpec, nbf: timeSpec, exp: timeSpec }),
        async (nowMs, toleranceS, maxAgeS, specs) => {
          clock.now = nowMs;
          const parts = ['"user_id":"ann"'];
          const claims: Record<string, unknown> = {};
          for (const name of ['iat', 'nbf', 'exp'] as const) {
            const literal = literalOf(specs[name], nowMs, toleranceS, maxAgeS);
            if (literal === undefined) continue;
            parts.push(`"${name}":${literal}`);
            claims[name] = JSON.parse(literal);
          }
          const token = signRaw(`{${parts.join(',')}}`);
          const got = await outcome(verifierFor(toleranceS, maxAgeS), token);
          const want = expected(claims, nowMs, toleranceS, maxAgeS);
          if (want.accepted) {
            assert.ok(
              !(got instanceof ParleyError),
              `refused: ${got instanceof ParleyError ? got.message : ''}`,
            );
            assert.equal(got.expiresAt, want.expiresAt);
            assert.equal(got.issuedAt, want.issuedAt);
            assert.ok(Number.isSafeInteger(got.expiresAt));
            // No token outlives its rules: without exp, at most the max age from now.
            if (claims.exp === undefined) assert.ok(got.expiresAt <= nowMs + maxAgeS * 1000);
          } else {
            assert.ok(got instanceof ParleyError, 'accepted a token the rules refuse');
            assert.ok(want.codes.has(got.code), `${got.code} (${got.message}) not in ${[...want.codes]}`);
            for (const part of token.split('.')) assert.ok(!got.message.includes(part));
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('never gives a token without "exp" more than PARLEY_JWT_MAX_AGE from now, whatever its "iat"', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1_500_000_000_000, max: 2_000_000_000_000 }),
        fc.constantFrom(0, 30),
        fc.integer({ min: 0, max: 4_000_000_000 }),
        async (nowMs, toleranceS, iat) => {
          clock.now = nowMs;
          const got = await outcome(verifierFor(toleranceS, 3600), signRaw(`{"user_id":"ann","iat":${iat}}`));
          if (got instanceof ParleyError) return;
          assert.ok(got.expiresAt <= nowMs + 3600 * 1000);
          assert.ok(got.expiresAt > nowMs - toleranceS * 1000);
          assert.ok(iat <= Math.ceil(nowMs / 1000) + toleranceS);
        },
      ),
      { numRuns: 300 },
    );
  });
});

// Single characters that the user id and username rules treat specially, beside any code point.
const oddChar = fc.constantFrom(
  '\u0000',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u009f',
  '\u202e',
  '\u2066',
  '\ud800',
  '\udfff',
  ' ',
  '\t',
  '😀',
);
const anyText = fc.string({
  unit: fc.oneof(oddChar, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
  maxLength: 140,
});
const claimValue = fc.oneof(
  anyText,
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 140 }),
  fc.integer(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER + 1, 4.5, -0, true, null),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.constant({ id: 'x' }),
);

// biome-ignore lint/suspicious/noControlCharactersInRegex: the rule is about control characters
const C0_OR_DEL = /[\u0000-\u001f\u007f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the rule is about control characters
const SHOWN_INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|\p{Surrogate}/u;

/** The README's user id rule: the id it gives, or undefined for a refusal. */
function expectedUserId(claims: Record<string, unknown>): string | undefined {
  const name = Object.hasOwn(claims, 'user_id')
    ? 'user_id'
    : Object.hasOwn(claims, 'sub')
      ? 'sub'
      : undefined;
  if (name === undefined) return undefined;
  const raw = claims[name];
  const id =
    typeof raw === 'number' && Number.isSafeInteger(raw)
      ? String(raw)
      : typeof raw === 'string'
        ? raw.trim()
        : undefined;
  if (id === undefined || id.length === 0 || id.length > 128) return undefined;
  if (C0_OR_DEL.test(id) || /\p{Surrogate}/u.test(id)) return undefined;
  return id;
}

describe('user id and username rules, for arbitrary claims', () => {
  it('takes the user id the rules give or refuses with auth_failed, and shows a clean username', async () => {
    const verifier = verifierFor(30, 86_400);
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          { user_id: claimValue, sub: claimValue, username: claimValue, name: claimValue },
          { requiredKeys: [] },
        ),
        async (claims) => {
          clock.now = 1_750_000_000_000;
          const token = signRaw(JSON.stringify({ ...claims, exp: 1_750_000_600 }));
          const got = await outcome(verifier, token);
          const want = expectedUserId(claims);
          if (want === undefined) {
            assert.ok(
              got instanceof ParleyError,
              `accepted user id ${JSON.stringify(claims.user_id ?? claims.sub)}`,
            );
            assert.equal(got.code, 'auth_failed');
            return;
          }
          assert.ok(!(got instanceof ParleyError), got instanceof ParleyError ? got.message : '');
          assert.equal(got.userId, want);
          const shown = got.username;
          assert.ok(shown.length >= 1 && shown.length <= 128);
          if (shown !== want) {
            // A name from the token: cleaned, trimmed, at most 100 characters, from one of the claims.
            assert.ok(!SHOWN_INVISIBLE.test(shown), `username ${JSON.stringify(shown)}`);
            assert.ok(shown.length <= 100 && shown === shown.trim());
            assert.ok(typeof claims.username === 'string' || typeof claims.name === 'string');
          }
          // A plain name (printable ASCII, 1–100 characters after trimming) is shown as signed.
          const plain = (v: unknown) =>
            typeof v === 'string' &&
            /^[\x20-\x7e]*$/.test(v) &&
            v.trim().length > 0 &&
            v.trim().length <= 100;
          if (plain(claims.username)) assert.equal(shown, (claims.username as string).trim());
          else if (typeof claims.username !== 'string' && plain(claims.name))
            assert.equal(shown, (claims.name as string).trim());
          if (typeof claims.username !== 'string' && typeof claims.name !== 'string')
            assert.equal(shown, want);
        },
      ),
      { numRuns: 400 },
    );
  });
});
