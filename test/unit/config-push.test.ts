import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_PUSH_ENDPOINT_HOSTS, loadPushConfig } from '../../src/server/config-push.js';

describe('Web Push configuration', () => {
  it('is off by default, with the major push services as the endpoint hosts', () => {
    const c = loadPushConfig({}, false);
    assert.equal(c.enabled, false);
    assert.deepEqual(c.endpointHosts, DEFAULT_PUSH_ENDPOINT_HOSTS);
    assert.equal(c.limits.pushGraceMs, 15_000);
  });

  it('refuses to start without a subject, with half a key pair, or a bad limit, saying what to set', () => {
    assert.throws(() => loadPushConfig({ PARLEY_PUSH: 'on' }, false), /PARLEY_PUSH_SUBJECT/);
    assert.equal(
      loadPushConfig({ PARLEY_PUSH: 'on' }, true).enabled,
      true,
      '--dev has a placeholder subject',
    );
    assert.throws(
      () => loadPushConfig({ PARLEY_PUSH_SUBJECT: 'ops@example.com' }, false),
      /mailto: or https: URL/,
    );
    assert.throws(() => loadPushConfig({ PARLEY_VAPID_PUBLIC_KEY: 'abc' }, false), /both/);
    assert.throws(() => loadPushConfig({ PARLEY_PUSH_GRACE_MS: '0' }, false), /PARLEY_PUSH_GRACE_MS/);
    assert.throws(() => loadPushConfig({ PARLEY_PUSH: 'yes' }, false), /"on" or "off"/);
  });
});
