import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/server/config.js';

describe('loadConfig', () => {
  it('refuses to start without PARLEY_JWT_SECRET, saying what to set', () => {
    assert.throws(() => loadConfig({}), /PARLEY_JWT_SECRET is not set.*--dev/);
  });

  it('reads trusted proxies as IP addresses or loopback, and refuses anything else', () => {
    const secret = 'x'.repeat(40);
    const c = loadConfig({
      PARLEY_JWT_SECRET: secret,
      PARLEY_TRUSTED_PROXIES: 'loopback, 10.0.0.2, 2001:db8::1',
    });
    assert.deepEqual(c.trustedProxies, ['loopback', '10.0.0.2', '2001:db8::1']);
    assert.deepEqual(loadConfig({ PARLEY_JWT_SECRET: secret }).trustedProxies, []);
    for (const bad of ['10.0.0.0/8', 'proxy.internal', '*']) {
      assert.throws(
        () => loadConfig({ PARLEY_JWT_SECRET: secret, PARLEY_TRUSTED_PROXIES: bad }),
        /PARLEY_TRUSTED_PROXIES/,
      );
    }
  });

  it('turns the chat page off with PARLEY_WEB=off and refuses other values', () => {
    const secret = 'x'.repeat(40);
    assert.equal(loadConfig({ PARLEY_JWT_SECRET: secret }).web.enabled, true);
    assert.equal(loadConfig({ PARLEY_JWT_SECRET: secret, PARLEY_WEB: 'off' }).web.enabled, false);
    assert.throws(
      () => loadConfig({ PARLEY_JWT_SECRET: secret, PARLEY_WEB: 'no' }),
      /PARLEY_WEB must be "on" or "off"/,
    );
  });

  it('turns WebSocket compression on with PARLEY_COMPRESSION=on, off by default', () => {
    const secret = 'x'.repeat(40);
    assert.equal(loadConfig({ PARLEY_JWT_SECRET: secret }).compressMinBytes, undefined);
    assert.equal(loadConfig({ PARLEY_JWT_SECRET: secret, PARLEY_COMPRESSION: 'on' }).compressMinBytes, 1024);
    assert.equal(
      loadConfig({ PARLEY_JWT_SECRET: secret, PARLEY_COMPRESSION: 'on', PARLEY_COMPRESSION_MIN_BYTES: '200' })
        .compressMinBytes,
      200,
    );
    assert.throws(
      () => loadConfig({ PARLEY_JWT_SECRET: secret, PARLEY_COMPRESSION: 'gzip' }),
      /PARLEY_COMPRESSION must be "on" or "off"/,
    );
    assert.throws(
      () =>
        loadConfig({
          PARLEY_JWT_SECRET: secret,
          PARLEY_COMPRESSION: 'on',
          PARLEY_COMPRESSION_MIN_BYTES: '-1',
        }),
      /PARLEY_COMPRESSION_MIN_BYTES must be a positive integer/,
    );
  });

  it('refuses a secret shorter than 32 bytes', () => {
    assert.throws(() => loadConfig({ PARLEY_JWT_SECRET: 'short-secret' }), /at least 32/);
  });

  it('generates a throwaway secret in --dev and says so', () => {
    const c = loadConfig({}, { dev: true });
    assert.equal(c.jwt.secretGenerated, true);
    assert.ok(c.jwt.secret.length >= 32);
  });

  it('reads limits from the environment and refuses nonsense', () => {
    const secret = 'k'.repeat(32);
    assert.equal(
      loadConfig({ PARLEY_JWT_SECRET: secret, PARLEY_MAX_MESSAGE_CHARS: '10' }).limits.maxMessageChars,
      10,
    );
    assert.throws(
      () => loadConfig({ PARLEY_JWT_SECRET: secret, PARLEY_MAX_MESSAGE_CHARS: '-1' }),
      /positive integer/,
    );
    assert.throws(
      () => loadConfig({ PARLEY_JWT_SECRET: secret, PARLEY_JWT_ALGORITHMS: 'none' }),
      /not supported/,
    );
  });

  it('takes 0 for PARLEY_COMMIT_DELAY_MS (no delay, the default) but for no other limit', () => {
    const secret = 'k'.repeat(32);
    assert.equal(loadConfig({ PARLEY_JWT_SECRET: secret }).limits.commitDelayMs, 0);
    assert.equal(
      loadConfig({ PARLEY_JWT_SECRET: secret, PARLEY_COMMIT_DELAY_MS: '5' }).limits.commitDelayMs,
      5,
    );
    assert.equal(
      loadConfig({ PARLEY_JWT_SECRET: secret, PARLEY_COMMIT_DELAY_MS: '0' }).limits.commitDelayMs,
      0,
    );
    assert.throws(
      () => loadConfig({ PARLEY_JWT_SECRET: secret, PARLEY_COMMIT_DELAY_MS: '-1' }),
      /PARLEY_COMMIT_DELAY_MS must be a non-negative integer/,
    );
    assert.throws(
      () => loadConfig({ PARLEY_JWT_SECRET: secret, PARLEY_COMMIT_BATCH_MAX: '0' }),
      /PARLEY_COMMIT_BATCH_MAX must be a positive integer/,
    );
  });

  it('defaults to SQLite under ./data, port 8080 and the general channel', () => {
    const c = loadConfig({ PARLEY_JWT_SECRET: 'k'.repeat(32) });
    assert.equal(c.databaseUrl, 'sqlite:./data/parley.db');
    assert.equal(c.port, 8080);
    assert.deepEqual(c.defaultChannels, ['general']);
    assert.deepEqual(c.jwt.algorithms, ['HS256']);
  });
});
