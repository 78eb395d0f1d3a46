import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { JoseTokenVerifier } from '../../src/server/auth/jose-token-verifier.js';
import { loadConfig } from '../../src/server/config.js';

describe('JoseTokenVerifier with its keys imported once per algorithm', () => {
  const secret = 's'.repeat(48);
  const key = new TextEncoder().encode(secret);
  const sign = (alg: string, k: Uint8Array = key, user = 'ann') =>
    new SignJWT({ user_id: user, username: user.toUpperCase() })
      .setProtectedHeader({ alg })
      .setExpirationTime('5m')
      .sign(k);
  const verifier = new JoseTokenVerifier(
    loadConfig({ PARLEY_JWT_SECRET: secret, PARLEY_JWT_ALGORITHMS: 'HS256,HS512' }).jwt,
  );

  it('verifies each allowed algorithm, again and again, with the right key for each', async () => {
    for (let round = 0; round < 3; round++) {
      assert.equal((await verifier.verify(await sign('HS256', key, `a${round}`))).userId, `a${round}`);
      assert.equal((await verifier.verify(await sign('HS512', key, `b${round}`))).userId, `b${round}`);
    }
  });

  it('still refuses a forged token, and an algorithm outside the allowlist, once keys are kept', async () => {
    await verifier.verify(await sign('HS256'));
    const forged = await sign('HS256', new TextEncoder().encode('x'.repeat(48)));
    await assert.rejects(verifier.verify(forged), { code: 'auth_failed' });
    await assert.rejects(verifier.verify(await sign('HS384')), { code: 'auth_failed' });
    // alg "none": refused before any key is looked up.
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"user_id":"x"}').toString('base64url')}.`;
    await assert.rejects(verifier.verify(none), { code: 'auth_failed' });
  });

  it('keeps keys per verifier and algorithm: an HS512-only verifier refuses HS256 tokens', async () => {
    const only512 = new JoseTokenVerifier(
      loadConfig({ PARLEY_JWT_SECRET: secret, PARLEY_JWT_ALGORITHMS: 'HS512' }).jwt,
    );
    assert.equal((await only512.verify(await sign('HS512'))).userId, 'ann');
    await assert.rejects(only512.verify(await sign('HS256')), { code: 'auth_failed' });
    assert.equal((await only512.verify(await sign('HS512', key, 'bob'))).userId, 'bob');
  });
});
