import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { HmacTokenVerifier, MAX_NUMERIC_DATE } from '../../src/server/auth/hmac-token-verifier.js';
import { loadConfig } from '../../src/server/config.js';

const secret = 's'.repeat(48);
const key = new TextEncoder().encode(secret);

// The verifier's clock: a fixed instant, 400 ms into a second (so rounding is visible).
const NOW_MS = 1_750_000_000_400;
const NOW = Math.floor(NOW_MS / 1000);
const TOLERANCE = 30;
const MAX_AGE = 24 * 3600;

/**
 * A token whose header and claims are exactly the JSON text given (duplicate names, escapes,
 * 1e400 and all), signed with HMAC as a signer that stamps anything would sign it.
 */
function signRaw(headerJson: string, claimsJson: string, alg: 'sha256' | 'sha512' = 'sha256'): string {
  const input = `${Buffer.from(headerJson).toString('base64url')}.${Buffer.from(claimsJson).toString('base64url')}`;
  return `${input}.${createHmac(alg, key).update(input).digest('base64url')}`;
}

/** A token with these claims (as JSON), header `{"alg":"HS256"}`. */
const signClaims = (claims: Record<string, unknown>): string =>
  signRaw('{"alg":"HS256"}', JSON.stringify(claims));

function verifierWith(env: Record<string, string> = {}): HmacTokenVerifier {
  return new HmacTokenVerifier(
    loadConfig({ PARLEY_JWT_SECRET: secret, PARLEY_JWT_CLOCK_TOLERANCE: `${TOLERANCE}s`, ...env }).jwt,
    () => NOW_MS,
  );
}

const verifier = verifierWith();

/** Asserts the token is refused with `code` and a message matching `message`, never the token. */
async function refused(token: string, code: 'auth_failed' | 'token_expired', message: RegExp, v = verifier) {
  const err = await v.verify(token).then(
    () => assert.fail('the token was accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof Error);
  assert.equal((err as { code?: unknown }).code, code, err.message);
  assert.match(err.message, message);
  for (const part of token.split('.')) if (part.length > 0) assert.ok(!err.message.includes(part));
}

describe('HmacTokenVerifier and its algorithms', () => {
  const sign = (alg: string, k: Uint8Array = key, user = 'ann') =>
    new SignJWT({ user_id: user, username: user.toUpperCase() })
      .setProtectedHeader({ alg })
      .setExpirationTime('5m')
      .sign(k);
  const realClock = new HmacTokenVerifier(
    loadConfig({ PARLEY_JWT_SECRET: secret, PARLEY_JWT_ALGORITHMS: 'HS256,HS512' }).jwt,
  );

  it('verifies each allowed algorithm, again and again, with the right key for each', async () => {
    for (let round = 0; round < 3; round++) {
      assert.equal((await realClock.verify(await sign('HS256', key, `a${round}`))).userId, `a${round}`);
      assert.equal((await realClock.verify(await sign('HS512', key, `b${round}`))).userId, `b${round}`);
    }
  });

  it('still refuses a forged token, and an algorithm outside the allowlist, once keys are kept', async () => {
    await realClock.verify(await sign('HS256'));
    const forged = await sign('HS256', new TextEncoder().encode('x'.repeat(48)));
    await assert.rejects(realClock.verify(forged), { code: 'auth_failed' });
    await assert.rejects(realClock.verify(await sign('HS384')), { code: 'auth_failed' });
    // alg "none": refused before any key is looked up.
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"user_id":"x"}').toString('base64url')}.`;
    await assert.rejects(realClock.verify(none), { code: 'auth_failed' });
  });

  it('keeps keys per verifier and algorithm: an HS512-only verifier refuses HS256 tokens', async () => {
    const only512 = new HmacTokenVerifier(
      loadConfig({ PARLEY_JWT_SECRET: secret, PARLEY_JWT_ALGORITHMS: 'HS512' }).jwt,
    );
    assert.equal((await only512.verify(await sign('HS512'))).userId, 'ann');
    await assert.rejects(only512.verify(await sign('HS256')), { code: 'auth_failed' });
    assert.equal((await only512.verify(await sign('HS512', key, 'bob'))).userId, 'bob');
  });
});

describe('HmacTokenVerifier: a token’s lifetime is bounded from now', () => {
  it('refuses an "iat" further ahead of the clock than the tolerance, and accepts one within it', async () => {
    await refused(
      signClaims({ user_id: 'ann', iat: NOW + 3600, exp: NOW + 7200 }),
      'auth_failed',
      /"iat" is in the future/,
    );
    await refused(
      signClaims({ user_id: 'ann', iat: NOW + 10 * 365 * 86400 }),
      'auth_failed',
      /"iat" is in the future/,
    );
    // The clock reads NOW.4 s; an iat of the next second plus the tolerance is still in bounds.
    const edge = await verifier.verify(
      signClaims({ user_id: 'ann', iat: NOW + 1 + TOLERANCE, exp: NOW + 600 }),
    );
    assert.equal(edge.issuedAt, (NOW + 1 + TOLERANCE) * 1000);
    await refused(
      signClaims({ user_id: 'ann', iat: NOW + 2 + TOLERANCE, exp: NOW + 600 }),
      'auth_failed',
      /"iat"/,
    );
  });

  it('refuses an "nbf" further ahead of the clock than the tolerance, and accepts one within it', async () => {
    await refused(signClaims({ user_id: 'ann', nbf: NOW + 3600, exp: NOW + 7200 }), 'auth_failed', /nbf/);
    await refused(
      signClaims({ user_id: 'ann', nbf: NOW + TOLERANCE + 1, exp: NOW + 600 }),
      'auth_failed',
      /nbf/,
    );
    const ok = await verifier.verify(signClaims({ user_id: 'ann', nbf: NOW + TOLERANCE, exp: NOW + 600 }));
    assert.equal(ok.userId, 'ann');
  });

  it('gives a token without "exp" PARLEY_JWT_MAX_AGE after its "iat" when that is in the past', async () => {
    const identity = await verifier.verify(signClaims({ user_id: 'ann', iat: NOW - 600 }));
    assert.equal(identity.expiresAt, (NOW - 600 + MAX_AGE) * 1000);
    assert.equal(identity.issuedAt, (NOW - 600) * 1000);
  });

  it('gives a token without "exp" whose "iat" is ahead of the clock PARLEY_JWT_MAX_AGE from now, not from "iat"', async () => {
    const identity = await verifier.verify(signClaims({ user_id: 'ann', iat: NOW + 20 }));
    assert.equal(identity.expiresAt, NOW_MS + MAX_AGE * 1000);
  });

  it('refuses a token without "exp" older than PARLEY_JWT_MAX_AGE (plus the tolerance) with token_expired', async () => {
    await refused(
      signClaims({ user_id: 'ann', iat: NOW - MAX_AGE - TOLERANCE - 1 }),
      'token_expired',
      /maximum age/,
    );
    const ok = await verifier.verify(signClaims({ user_id: 'ann', iat: NOW - MAX_AGE - TOLERANCE + 1 }));
    assert.ok(ok.expiresAt < NOW_MS);
  });

  it('refuses a token with neither "exp" nor "iat"', async () => {
    await refused(signClaims({ user_id: 'ann' }), 'auth_failed', /neither "exp" nor "iat"/);
  });

  it('honours "exp" as signed, however far ahead (it is not capped by PARLEY_JWT_MAX_AGE)', async () => {
    const far = NOW + 10 * 365 * 86400;
    assert.equal(
      (await verifier.verify(signClaims({ user_id: 'ann', iat: NOW, exp: far }))).expiresAt,
      far * 1000,
    );
    assert.equal(
      (await verifier.verify(signClaims({ user_id: 'ann', exp: MAX_NUMERIC_DATE }))).expiresAt,
      MAX_NUMERIC_DATE * 1000,
    );
  });

  it('refuses an "exp" in the past beyond the tolerance with token_expired, and accepts one within it', async () => {
    await refused(signClaims({ user_id: 'ann', exp: NOW - TOLERANCE }), 'token_expired', /expired/);
    const ok = await verifier.verify(signClaims({ user_id: 'ann', exp: NOW - TOLERANCE + 1 }));
    assert.equal(ok.expiresAt, (NOW - TOLERANCE + 1) * 1000);
  });

  it('accepts fractional times and reports them in whole milliseconds', async () => {
    const identity = await verifier.verify(
      signClaims({ user_id: 'ann', iat: NOW - 0.0004, nbf: NOW - 1.5, exp: NOW + 60.1234 }),
    );
    assert.equal(identity.expiresAt, Math.floor((NOW + 60.1234) * 1000));
    assert.equal(identity.issuedAt, Math.floor((NOW - 0.0004) * 1000));
    assert.ok(Number.isInteger(identity.expiresAt));
    const noExp = await verifier.verify(signClaims({ user_id: 'ann', iat: NOW - 0.5 }));
    assert.ok(Number.isInteger(noExp.expiresAt));
  });
});

describe('HmacTokenVerifier: what a signer could stamp in "iat", "nbf" and "exp"', () => {
  for (const claim of ['iat', 'nbf', 'exp'] as const) {
    // Each case also carries a valid exp (or iat) so only the claim under test is odd.
    const base = claim === 'exp' ? { user_id: 'ann', iat: NOW } : { user_id: 'ann', exp: NOW + 600 };

    it(`refuses a non-numeric "${claim}" (string, null, boolean, array, object)`, async () => {
      for (const value of [String(NOW), null, true, [NOW], { t: NOW }]) {
        await refused(
          signClaims({ ...base, [claim]: value }),
          'auth_failed',
          new RegExp(`"${claim}" must be a number`),
        );
      }
    });

    it(`refuses "${claim}" as 1e400 or -1e400 (JSON reads them as ±Infinity)`, async () => {
      for (const literal of ['1e400', '-1e400']) {
        const json = `${JSON.stringify(base).slice(0, -1)},"${claim}":${literal}}`;
        const token = signRaw('{"alg":"HS256"}', json);
        // -Infinity as exp is expired to jose before Parley sees it; every other case is a bad time.
        if (claim === 'exp' && literal === '-1e400') await refused(token, 'token_expired', /expired/);
        else await refused(token, 'auth_failed', new RegExp(`"${claim}"`));
      }
    });

    it(`refuses "${claim}" beyond the last moment a Date can hold`, async () => {
      await refused(
        signClaims({ ...base, [claim]: MAX_NUMERIC_DATE + 1 }),
        'auth_failed',
        new RegExp(`"${claim}"`),
      );
    });
  }

  it('refuses a negative "iat" or "nbf" (no token is issued before 1970), and a negative "exp" as expired', async () => {
    await refused(
      signClaims({ user_id: 'ann', iat: -1, exp: NOW + 600 }),
      'auth_failed',
      /"iat" must be a time/,
    );
    await refused(
      signClaims({ user_id: 'ann', nbf: -0.5, exp: NOW + 600 }),
      'auth_failed',
      /"nbf" must be a time/,
    );
    await refused(signClaims({ user_id: 'ann', exp: -1 }), 'token_expired', /expired/);
  });

  it('accepts 0 as a time (the epoch itself), which is far past', async () => {
    const identity = await verifier.verify(signClaims({ user_id: 'ann', iat: 0, nbf: 0, exp: NOW + 60 }));
    assert.equal(identity.issuedAt, 0);
  });
});

describe('HmacTokenVerifier: "iss" and "aud"', () => {
  const strict = verifierWith({ PARLEY_JWT_ISSUER: 'https://shop.example', PARLEY_JWT_AUDIENCE: 'parley' });
  const claims = { user_id: 'ann', exp: NOW + 600, iss: 'https://shop.example', aud: 'parley' };

  it('accepts the configured issuer and audience', async () => {
    assert.equal((await strict.verify(signClaims(claims))).userId, 'ann');
  });

  it('refuses "iss" as an array, even one holding only the configured issuer', async () => {
    await refused(
      signClaims({ ...claims, iss: ['https://shop.example'] }),
      'auth_failed',
      /"iss" is not accepted/,
      strict,
    );
    await refused(signClaims({ ...claims, iss: 'https://other.example' }), 'auth_failed', /"iss"/, strict);
    await refused(signClaims({ ...claims, iss: undefined }), 'auth_failed', /no "iss" claim/, strict);
  });

  it('accepts "aud" as an array of strings holding the audience, and refuses other arrays', async () => {
    assert.equal((await strict.verify(signClaims({ ...claims, aud: ['shop', 'parley'] }))).userId, 'ann');
    await refused(signClaims({ ...claims, aud: ['shop'] }), 'auth_failed', /"aud" is not accepted/, strict);
    await refused(signClaims({ ...claims, aud: [] }), 'auth_failed', /"aud"/, strict);
    await refused(signClaims({ ...claims, aud: ['parley', 7] }), 'auth_failed', /array of strings/, strict);
    await refused(
      signClaims({ ...claims, aud: ['parley', ['parley']] }),
      'auth_failed',
      /array of strings/,
      strict,
    );
    await refused(signClaims({ ...claims, aud: undefined }), 'auth_failed', /no "aud" claim/, strict);
  });

  it('reads neither claim when neither is configured', async () => {
    const identity = await verifier.verify(signClaims({ ...claims, iss: [1, 2], aud: { x: 1 } }));
    assert.equal(identity.userId, 'ann');
  });
});

describe('HmacTokenVerifier: the user id', () => {
  const exp = NOW + 600;
  const userId = async (claims: Record<string, unknown>, v = verifier) =>
    (await v.verify(signClaims({ exp, ...claims }))).userId;

  it('turns a safe integer into its decimal string and refuses other numbers', async () => {
    assert.equal(await userId({ user_id: 42 }), '42');
    assert.equal(await userId({ user_id: Number.MAX_SAFE_INTEGER }), String(Number.MAX_SAFE_INTEGER));
    await refused(
      signClaims({ exp, user_id: Number.MAX_SAFE_INTEGER + 1 }),
      'auth_failed',
      /string or an integer/,
    );
    await refused(signClaims({ exp, user_id: 4.2 }), 'auth_failed', /string or an integer/);
    await refused(
      signRaw('{"alg":"HS256"}', `{"exp":${exp},"user_id":1e400}`),
      'auth_failed',
      /string or an integer/,
    );
  });

  it('refuses a user id of another type: boolean, object, array, null', async () => {
    for (const value of [true, { id: 'ann' }, ['ann'], null]) {
      await refused(
        signClaims({ exp, user_id: value, sub: 'bob' }),
        'auth_failed',
        /"user_id" must be a string or an integer/,
      );
    }
  });

  it('falls back to "sub" only when the user id claim is absent', async () => {
    assert.equal(await userId({ sub: 'bob' }), 'bob');
    assert.equal(await userId({ user_id: 'ann', sub: 'bob' }), 'ann');
    await refused(signClaims({ exp, sub: 7.5 }), 'auth_failed', /"sub" must be a string or an integer/);
    await refused(signClaims({ exp }), 'auth_failed', /no "user_id" \(or "sub"\) claim/);
  });

  it('does not find a user id among Object’s own properties when the configured claim is absent', async () => {
    const odd = verifierWith({ PARLEY_JWT_USER_ID_CLAIM: 'constructor' });
    await refused(signClaims({ exp }), 'auth_failed', /no "constructor" \(or "sub"\) claim/, odd);
    assert.equal(await userId({ constructor: 'ann' }, odd), 'ann');
  });

  it('trims a string id and keeps 1–128 characters without control characters or lone surrogates', async () => {
    assert.equal(await userId({ user_id: '  ann  ' }), 'ann');
    assert.equal(await userId({ user_id: 'é'.repeat(128) }), 'é'.repeat(128));
    await refused(signClaims({ exp, user_id: '   ' }), 'auth_failed', /is empty/);
    await refused(signClaims({ exp, user_id: 'x'.repeat(129) }), 'auth_failed', /longer than 128/);
    await refused(signClaims({ exp, user_id: 'ann\u0000' }), 'auth_failed', /control characters/);
    await refused(signClaims({ exp, user_id: 'a\u001bb' }), 'auth_failed', /control characters/);
    await refused(signClaims({ exp, user_id: 'a\u007fb' }), 'auth_failed', /control characters/);
    await refused(
      signRaw('{"alg":"HS256"}', `{"exp":${exp},"user_id":"a\\ud800b"}`),
      'auth_failed',
      /well-formed Unicode/,
    );
    assert.equal(await userId({ user_id: 'a😀b' }), 'a😀b');
  });
});

describe('HmacTokenVerifier: the username', () => {
  const exp = NOW + 600;
  const username = async (claims: Record<string, unknown>) =>
    (await verifier.verify(signClaims({ exp, user_id: 'ann', ...claims }))).username;

  it('removes control characters (C0, DEL, C1) and bidirectional overrides, then trims', async () => {
    assert.equal(await username({ username: ' Al\u0000ic\u001be\u007f ' }), 'Alice');
    assert.equal(await username({ username: 'Al\u0085i\u009bce' }), 'Alice');
    assert.equal(await username({ username: 'Alice\u202egnp.exe' }), 'Alicegnp.exe');
    assert.equal(await username({ username: '\u2066Alice\u2069' }), 'Alice');
  });

  it('replaces lone surrogates with U+FFFD and keeps pairs', async () => {
    const token = signRaw(
      '{"alg":"HS256"}',
      `{"exp":${exp},"user_id":"ann","username":"A\\udc00li\\ud83d\\ude00"}`,
    );
    assert.equal((await verifier.verify(token)).username, 'A\ufffdli😀');
  });

  it('cuts at 100 characters without splitting a character in two', async () => {
    assert.equal(await username({ username: 'x'.repeat(150) }), 'x'.repeat(100));
    const split = `${'x'.repeat(99)}😀tail`;
    assert.equal(await username({ username: split }), 'x'.repeat(99));
    assert.equal(await username({ username: `${'x'.repeat(98)}😀tail` }), `${'x'.repeat(98)}😀`);
  });

  it('falls back to "name", then to the user id, past a blank or non-string username', async () => {
    assert.equal(await username({ name: 'Alice' }), 'Alice');
    assert.equal(await username({ username: ' \u0000 ', name: 'Alice' }), 'Alice');
    assert.equal(await username({ username: 42, name: { x: 1 } }), 'ann');
    assert.equal(await username({}), 'ann');
  });
});

describe('HmacTokenVerifier: the header', () => {
  const claims = JSON.stringify({ user_id: 'ann', exp: NOW + 600 });

  it('refuses any "crit", even the b64 extension jose itself understands', async () => {
    await refused(
      signRaw('{"alg":"HS256","crit":["b64"],"b64":true}', claims),
      'auth_failed',
      /"crit" is not supported/,
    );
    await refused(
      signRaw('{"alg":"HS256","crit":["exp"],"exp":1}', claims),
      'auth_failed',
      /malformed or unsupported/,
    );
    await refused(signRaw('{"alg":"HS256","crit":[]}', claims), 'auth_failed', /malformed/);
  });

  it('refuses a header or claims naming a member twice, escaped or not', async () => {
    await refused(
      signRaw('{"alg":"none","alg":"HS256"}', claims),
      'auth_failed',
      /header has a member twice/,
    );
    await refused(
      signRaw('{"alg":"HS256","\\u0061lg":"HS256"}', claims),
      'auth_failed',
      /header has a member twice/,
    );
    await refused(
      signRaw('{"alg":"HS256"}', `{"user_id":"admin","exp":${NOW + 600},"user_id":"ann"}`),
      'auth_failed',
      /claim twice/,
    );
    await refused(
      signRaw('{"alg":"HS256"}', `{"user_id":"ann","exp":${NOW + 600},"ctx":{"a":1,"a":2}}`),
      'auth_failed',
      /claim twice/,
    );
  });

  it('does not mistake the same name in different objects, or a string value, for a duplicate', async () => {
    const json = `{"user_id":"ann","exp":${NOW + 600},"a":{"user_id":"x","exp":"\\"exp\\""},"b":[{"a":1},{"a":2}],"c":"user_id"}`;
    assert.equal((await verifier.verify(signRaw('{"alg":"HS256","typ":"JWT"}', json))).userId, 'ann');
  });

  it('refuses an odd "alg": another case, a non-string, a missing one', async () => {
    await refused(signRaw('{"alg":"hs256"}', claims), 'auth_failed', /algorithm is not allowed/);
    await refused(signRaw('{"alg":["HS256"]}', claims), 'auth_failed', /malformed/);
    await refused(signRaw('{"typ":"JWT"}', claims), 'auth_failed', /malformed/);
    await refused(signRaw('{"alg":"HS512"}', claims, 'sha512'), 'auth_failed', /algorithm is not allowed/);
  });

  it('ignores "kid" and the other key hints: the one secret verifies, whatever they name', async () => {
    const header = JSON.stringify({
      alg: 'HS256',
      kid: '../../etc/passwd',
      jku: 'http://127.0.0.1:1/keys',
      x5u: 'x',
    });
    assert.equal((await verifier.verify(signRaw(header, claims))).userId, 'ann');
  });

  it('refuses an unencoded payload (b64: false)', async () => {
    const input = `${Buffer.from('{"alg":"HS256","crit":["b64"],"b64":false}').toString('base64url')}.${claims}`;
    const token = `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
    await refused(token, 'auth_failed', /malformed|not supported/);
  });
});
