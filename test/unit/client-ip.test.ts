import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientIp, trustedProxySet } from '../../src/server/client-ip.js';

describe('clientIp', () => {
  const proxies = trustedProxySet(['loopback', '10.0.0.2']);

  it('is the socket peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    assert.equal(clientIp('203.0.113.9', '198.51.100.1', new Set()), '203.0.113.9');
    assert.equal(clientIp('::ffff:203.0.113.9', undefined, new Set()), '203.0.113.9');
  });

  it('is the peer when the peer is not a trusted proxy', () => {
    assert.equal(clientIp('203.0.113.9', '198.51.100.1', proxies), '203.0.113.9');
  });

  it('takes the nearest untrusted address from the right behind trusted proxies', () => {
    // The client claims 6.6.6.6; nginx on 10.0.0.2 appended the real address; the local proxy is last.
    assert.equal(clientIp('127.0.0.1', '6.6.6.6, 198.51.100.7, 10.0.0.2', proxies), '198.51.100.7');
    assert.equal(clientIp('::ffff:127.0.0.1', '198.51.100.7', proxies), '198.51.100.7');
    assert.equal(clientIp('::1', ['2001:db8::5', '10.0.0.2'], proxies), '2001:db8::5');
  });

  it('stops at a malformed entry and keeps the last address known good', () => {
    assert.equal(clientIp('127.0.0.1', 'whatever, 10.0.0.2', proxies), '10.0.0.2');
    assert.equal(clientIp('127.0.0.1', '', proxies), '127.0.0.1');
  });
});
