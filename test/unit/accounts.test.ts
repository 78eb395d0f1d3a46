import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { ParleyError } from '../../src/protocol/error-catalogue.js';
import { Accounts } from '../../src/server/auth/accounts.js';
import type { PasswordHasher } from '../../src/server/auth/password-hasher.js';
import type { TokenIssuer } from '../../src/server/auth/token-issuer.js';
import { openStore } from '../../src/server/store/open-store.js';

// A hasher that counts its work: the defences are about when a hash is (not) computed.
class CountingHasher implements PasswordHasher {
  hashes = 0;
  verifies = 0;
  async hash(password: string): Promise<string> {
    this.hashes++;
    return `h:${password}`;
  }
  async verify(hash: string, password: string): Promise<boolean> {
    this.verifies++;
    return hash === `h:${password}`;
  }
}

const issuer: TokenIssuer = {
  issue: async (user, options) => ({
    token: `token-of-${user.id}-after-${options?.notBefore ?? 0}`,
    expiresAt: Date.now() + 60_000,
  }),
};

async function setup(
  t: TestContext,
  options: { registration?: boolean; perIp?: number; perUsername?: number } = {},
) {
  const store = await openStore('sqlite::memory:');
  t.after(() => store.close());
  await store.migrate();
  const hasher = new CountingHasher();
  const failures: string[] = [];
  const kicked: { userId: string; reason: string }[] = [];
  const accounts = new Accounts({
    store,
    hasher,
    issuer,
    chat: {
      disconnectUser: async (userId, reason) => {
        kicked.push({ userId, reason });
      },
    },
    api: { registration: options.registration ?? true, refreshTokenTtlSeconds: 3600 },
    limits: {
      loginPerMinutePerIp: options.perIp ?? 1000,
      loginPerMinutePerUsername: options.perUsername ?? 1000,
    },
    onFailure: (reason) => failures.push(reason),
  });
  return { store, hasher, accounts, failures, kicked };
}

const codeOf = (code: string) => (err: unknown) => err instanceof ParleyError && err.code === code;

describe('Accounts', () => {
  it('registers and logs in a local user, whose id is local:<lowercased name>', async (t) => {
    const { accounts } = await setup(t);
    const reg = await accounts.register(accounts.admitRegistration('ip'), {
      username: 'Alice',
      password: 'correct horse',
    });
    assert.deepEqual(reg.user, { id: 'local:alice', username: 'Alice' });
    const login = await accounts.login(accounts.admitLogin('ip', 'ALICE'), {
      username: 'ALICE',
      password: 'correct horse',
    });
    assert.deepEqual(login.user, { id: 'local:alice', username: 'Alice' });
    assert.notEqual(login.refreshToken, reg.refreshToken);
  });

  it('refuses registration when it is closed, before taking an attempt', async (t) => {
    const { accounts } = await setup(t, { registration: false, perIp: 1 });
    assert.throws(() => accounts.admitRegistration('ip'), codeOf('forbidden'));
    // The attempt was not counted: the IP's one attempt is still there.
    accounts.admitRefresh('ip');
  });

  it('costs one hash for an unknown user too, and says the same as for a wrong password', async (t) => {
    const { accounts, hasher, failures } = await setup(t);
    await accounts.register(accounts.admitRegistration('ip'), { username: 'bob', password: 'password1' });
    const before = hasher.verifies;
    const messages: string[] = [];
    for (const username of ['bob', 'nobody']) {
      await assert.rejects(
        accounts.login(accounts.admitLogin('ip', username), { username, password: 'wrong pass' }),
        (err: unknown) => {
          assert.ok(err instanceof ParleyError && err.code === 'auth_failed');
          messages.push(err.message);
          return true;
        },
      );
    }
    assert.equal(hasher.verifies - before, 2);
    assert.deepEqual(messages, ['wrong username or password', 'wrong username or password']);
    assert.deepEqual(failures, ['bad_password', 'bad_password']);
  });

  it('throttles per username and per IP before any password is hashed', async (t) => {
    const { accounts, hasher, failures } = await setup(t, { perIp: 3, perUsername: 2 });
    accounts.admitLogin('ip-a', 'Carol');
    accounts.admitLogin('ip-a', 'carol');
    assert.throws(
      () => accounts.admitLogin('ip-a', 'CAROL'),
      (err: unknown) => {
        assert.ok(err instanceof ParleyError && err.code === 'rate_limited');
        assert.equal(typeof err.details?.retry_after_ms, 'number');
        return true;
      },
    );
    // The IP's third attempt was taken by the refused one; a fourth is over the IP's limit.
    assert.throws(() => accounts.admitLogin('ip-a', 'dave'), codeOf('rate_limited'));
    accounts.admitLogin('ip-b', 'dave');
    assert.equal(hasher.hashes + hasher.verifies, 0);
    assert.deepEqual(failures, ['login_throttled', 'login_throttled']);
  });

  it('uses a refresh token once, and logout revokes one', async (t) => {
    const { accounts, failures } = await setup(t);
    const reg = await accounts.register(accounts.admitRegistration('ip'), {
      username: 'erin',
      password: 'password1',
    });
    const next = await accounts.refresh(accounts.admitRefresh('ip'), reg.refreshToken);
    assert.equal(next.user.id, 'local:erin');
    await assert.rejects(
      accounts.refresh(accounts.admitRefresh('ip'), reg.refreshToken),
      codeOf('auth_failed'),
    );
    await accounts.logout(next.refreshToken);
    await assert.rejects(
      accounts.refresh(accounts.admitRefresh('ip'), next.refreshToken),
      codeOf('auth_failed'),
    );
    assert.deepEqual(failures, ['bad_refresh_token', 'bad_refresh_token']);
  });

  it('revokes: tokens before now and every refresh token are refused, connections are closed', async (t) => {
    const { accounts, store, kicked } = await setup(t);
    const reg = await accounts.register(accounts.admitRegistration('ip'), {
      username: 'frank',
      password: 'password1',
    });
    const startedAt = Date.now();
    await accounts.revoke('local:frank', { reason: 'banned', banned: true });
    const status = await store.getUserStatus('local:frank');
    assert.equal(status?.banned, true);
    assert.ok((status?.tokensValidAfter ?? 0) >= startedAt);
    assert.equal((status?.tokensValidAfter ?? 0) % 1000, 0);
    assert.deepEqual(kicked, [{ userId: 'local:frank', reason: 'banned' }]);
    await assert.rejects(
      accounts.refresh(accounts.admitRefresh('ip'), reg.refreshToken),
      codeOf('auth_failed'),
    );
    await assert.rejects(
      accounts.login(accounts.admitLogin('ip', 'frank'), { username: 'frank', password: 'password1' }),
      (err: unknown) => err instanceof ParleyError && err.message === 'this user is banned',
    );
    await accounts.unban('local:frank');
    const again = await accounts.login(accounts.admitLogin('ip', 'frank'), {
      username: 'frank',
      password: 'password1',
    });
    // A session issued after the cut-off is not refused by it.
    assert.ok(again.token.endsWith(`-after-${status?.tokensValidAfter}`));
  });
});
