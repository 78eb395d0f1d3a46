import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/server/config.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';
import { call } from './http-client.js';

const SECRET = 'w'.repeat(40);

interface Received {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly event: { id: string; type: string; data: Record<string, unknown> };
}

/** A webhook receiver on 127.0.0.1 that fails the first `failFirst` attempts of each delivery. */
async function receiver(failFirst: number): Promise<{
  server: Server;
  url: string;
  got: Received[];
  next: (type: string, where?: (r: Received) => boolean) => Promise<Received>;
}> {
  const got: Received[] = [];
  const waiters: { match: (r: Received) => boolean; resolve: (r: Received) => void }[] = [];
  const attempts = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const event = JSON.parse(body) as Received['event'];
      const n = (attempts.get(event.id) ?? 0) + 1;
      attempts.set(event.id, n);
      if (n <= failFirst) {
        res.writeHead(500).end();
        return;
      }
      res.writeHead(204).end();
      const r = { headers: req.headers, body, event };
      got.push(r);
      for (const w of waiters.splice(0)) {
        if (w.match(r)) w.resolve(r);
        else waiters.push(w);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const next = (type: string, where: (r: Received) => boolean = () => true) => {
    const match = (r: Received) => r.event.type === type && where(r);
    const found = got.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<Received>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} webhook`)), 10_000);
      waiters.push({
        match,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
    });
  };
  return { server, url, got, next };
}

function verify(r: Received): boolean {
  const timestamp = String(r.headers['x-parley-timestamp']);
  const expected = `sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${r.body}`).digest('hex')}`;
  const given = String(r.headers['x-parley-signature']);
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

describe('webhooks', () => {
  let hooks: Awaited<ReturnType<typeof receiver>>;
  let server: TestServer;

  before(async () => {
    hooks = await receiver(2);
    server = await startTestServer({
      env: { PARLEY_WEBHOOK_URLS: hooks.url, PARLEY_WEBHOOK_SECRET: SECRET },
      limits: { webhookRetryBaseMs: 20, offlineGraceMs: 50 },
    });
  });
  after(async () => {
    await server.close();
    hooks.server.close();
  });

  it('signs message.created over timestamp.body and retries until the receiver accepts', async () => {
    const token = await server.token('alice', 'Alice');
    const sent = await call(server.httpUrl, 'POST', '/api/channels/general/messages', {
      token,
      body: { text: 'hello hooks' },
    });
    const hook = await hooks.next('message.created');
    assert.ok(verify(hook), 'signature verifies');
    assert.equal(hook.headers['x-parley-event'], 'message.created');
    assert.equal(hook.headers['x-parley-attempt'], '3');
    assert.equal((hook.event.data.message as { id: string }).id, sent.body.message.id);
    // The outcome is counted once the outbox recorded it, just after the receiver answered.
    let metrics = '';
    await until(async () => {
      metrics = String((await call(server.httpUrl, 'GET', '/metrics')).body);
      return /parley_webhook_deliveries_total\{outcome="delivered"\} [1-9]/.test(metrics);
    }, 'the delivery counted');
    assert.match(metrics, /parley_webhook_deliveries_total\{outcome="retried"\} [1-9]/);
  });

  it('sends member.added and member.removed', async () => {
    const owner = await server.token('owner', 'Owner');
    await call(server.httpUrl, 'GET', '/api/me', { token: await server.token('bob', 'Bob') });
    await call(server.httpUrl, 'POST', '/api/channels', {
      token: owner,
      body: { id: 'hooked', private: true },
    });
    await call(server.httpUrl, 'PUT', '/api/channels/hooked/members/bob', { token: owner, body: {} });
    const inHooked = (r: Received) => r.event.data.channel === 'hooked';
    const added = await hooks.next('member.added', inHooked);
    assert.deepEqual(added.event.data, {
      channel: 'hooked',
      user_id: 'bob',
      role: 'member',
      previous_role: null,
    });
    await call(server.httpUrl, 'DELETE', '/api/channels/hooked/members/bob', { token: owner });
    const removed = await hooks.next('member.removed', inHooked);
    assert.equal(removed.event.data.previous_role, 'member');
  });

  it('sends user.online, and user.offline only after the grace period', async () => {
    const c = await TestClient.authed(server.url, await server.token('olive', 'Olive'));
    const online = await hooks.next('user.online');
    assert.deepEqual(online.event.data.user, { id: 'olive', username: 'Olive' });
    c.close();
    const offline = await hooks.next('user.offline');
    assert.deepEqual(offline.event.data.user, { id: 'olive', username: 'Olive' });
  });

  it('refuses to start with webhook URLs but no secret, or a weak API key', () => {
    const base = { PARLEY_JWT_SECRET: 's'.repeat(40) };
    assert.throws(
      () => loadConfig({ ...base, PARLEY_WEBHOOK_URLS: 'http://127.0.0.1:1/x' }),
      /PARLEY_WEBHOOK_SECRET/,
    );
    assert.throws(() => loadConfig({ ...base, PARLEY_API_KEY: 'short' }), /PARLEY_API_KEY/);
    assert.throws(() => loadConfig({ ...base, PARLEY_API_KEY: 's'.repeat(40) }), /must differ/);
    assert.throws(
      () => loadConfig({ ...base, PARLEY_WEBHOOK_URLS: 'ftp://x', PARLEY_WEBHOOK_SECRET: SECRET }),
      /http/,
    );
  });
});
