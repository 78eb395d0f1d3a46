import assert from 'node:assert/strict';
import { createHmac, createSecretKey } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { jwtVerify } from 'jose';
import { checkRegisteredClaims, verifyHmacJws } from '../../src/server/auth/verify-hmac-jws.js';
import { loadConfig } from '../../src/server/config.js';

// The synchronous HMAC check against jose's own `jwtVerify` (what the verifier used before),
// for arbitrary headers, claims, signatures and malformed parts: both accept, or both refuse
// with the same jose error class (and, for a claim, the same claim and reason).

const secret = 'q'.repeat(48);
const raw = new TextEncoder().encode(secret);
const key = createSecretKey(raw);
const NOW_MS = 1_750_000_000_400;

const configs = {
  plain: loadConfig({ PARLEY_JWT_SECRET: secret, PARLEY_JWT_ALGORITHMS: 'HS256,HS512' }).jwt,
  issued: loadConfig({
    PARLEY_JWT_SECRET: secret,
    PARLEY_JWT_ISSUER: 'https://app.example',
    PARLEY_JWT_AUDIENCE: 'parley',
    PARLEY_JWT_CLOCK_TOLERANCE: '30s',
  }).jwt,
};

const b64 = (text: string) => Buffer.from(text).toString('base64url');

/** A header as JSON text: the algorithm, and sometimes crit/b64/kid members or odd values. */
const headerJson = fc
  .record(
    {
      alg: fc.oneof(
        { arbitrary: fc.constantFrom('HS256', 'HS512'), weight: 6 },
        { arbitrary: fc.constantFrom('HS384', 'none', 'RS256', '', 7, null), weight: 1 },
      ),
      crit: fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 6 },
        { arbitrary: fc.constantFrom(['b64'], [], ['x'], ['b64', 'x'], 'b64', [''], [1]), weight: 1 },
      ),
      b64: fc.constantFrom(undefined, undefined, true, false, 'yes'),
      kid: fc.constantFrom(undefined, 'k1'),
    },
    { requiredKeys: ['alg'] },
  )
  .map((h) => JSON.stringify(h));

/** A time claim: absent, at an edge of the rules (tolerance 0 or 30 s), near now, far, or no number. */
const time = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 2 },
  {
    arbitrary: fc.constantFrom(-31, -30, -29, -1, 0, 1, 29, 30, 31).map((d) => Math.floor(NOW_MS / 1000) + d),
    weight: 4,
  },
  { arbitrary: fc.integer({ min: -4000, max: 4000 }).map((d) => Math.floor(NOW_MS / 1000) + d), weight: 1 },
  { arbitrary: fc.constantFrom(0, -1, 1e12, '1750000000', null, true), weight: 1 },
);

const claimsJson = fc.oneof(
  fc
    .record(
      {
        user_id: fc.constantFrom('ann', 7),
        iat: time,
        nbf: time,
        exp: time,
        iss: fc.constantFrom(undefined, 'https://app.example', 'other', ['https://app.example']),
        aud: fc.constantFrom(undefined, 'parley', 'other', ['x', 'parley'], ['x'], [1, 'parley'], 5),
      },
      { requiredKeys: ['user_id'] },
    )
    .map((c) => JSON.stringify(c)),
  fc.constantFrom('[1,2]', '"text"', 'null', '{"a":1', '{}'),
);

/** How the token's parts are made: proper, or broken in one place. */
const damage = fc.constantFrom(
  'none',
  'none',
  'none',
  'none',
  'none',
  'none',
  'none',
  'none',
  'bad-signature',
  'short-signature',
  'signature-not-base64',
  'payload-not-base64',
  'payload-non-ascii',
  'header-not-json',
  'two-parts',
  'four-parts',
);

function makeToken(header: string, claims: string, how: string): string {
  const alg = (JSON.parse(header) as { alg?: unknown }).alg;
  const hash = alg === 'HS512' ? 'sha512' : alg === 'HS384' ? 'sha384' : 'sha256';
  let h = b64(header);
  let p = b64(claims);
  if (how === 'header-not-json') h = b64('{"alg":"HS256"');
  if (how === 'payload-not-base64') p = `${p}*`;
  if (how === 'payload-non-ascii') p = `${p}é`;
  const sign = (input: string) => createHmac(hash, raw).update(input).digest('base64url');
  let s = sign(`${h}.${p}`);
  if (how === 'bad-signature') s = sign(`${h}.${p}x`);
  if (how === 'short-signature') s = s.slice(0, 20);
  if (how === 'signature-not-base64') s = `${s.slice(0, -2)}+/`;
  if (how === 'two-parts') return `${h}.${p}`;
  if (how === 'four-parts') return `${h}.${p}.${s}.x`;
  return `${h}.${p}.${s}`;
}

type Outcome = { readonly ok: true } | { readonly ok: false; readonly error: string };

function describeError(err: unknown): string {
  const e = err as { name?: string; claim?: string; reason?: string };
  return e.claim === undefined ? String(e.name) : `${e.name} ${e.claim} ${e.reason}`;
}

function ours(token: string, config: (typeof configs)[keyof typeof configs]): Outcome {
  try {
    const { payload } = verifyHmacJws(token, key, new Set(config.algorithms));
    checkRegisteredClaims(payload, config, NOW_MS);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: describeError(err) };
  }
}

async function jose(token: string, config: (typeof configs)[keyof typeof configs]): Promise<Outcome> {
  try {
    await jwtVerify(token, raw, {
      algorithms: [...config.algorithms],
      ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
      ...(config.audience === undefined ? {} : { audience: config.audience }),
      clockTolerance: config.clockToleranceSeconds,
      currentDate: new Date(NOW_MS),
    });
    return { ok: true };
  } catch (err) {
    return { ok: false, error: describeError(err) };
  }
}

describe('verifyHmacJws and checkRegisteredClaims against jose', () => {
  it('accept and refuse exactly the tokens jose’s jwtVerify does, with the same error', async () => {
    await fc.assert(
      fc.asyncProperty(
        headerJson,
        claimsJson,
        damage,
        fc.constantFrom('plain', 'issued'),
        async (header, claims, how, which) => {
          const config = configs[which as keyof typeof configs];
          const token = makeToken(header, claims, how);
          assert.deepEqual(ours(token, config), await jose(token, config), token);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
