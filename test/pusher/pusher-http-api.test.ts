import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  APP,
  connected,
  nextEvent,
  type PusherTestServer,
  startPusherServer,
} from '../support/pusher-server.js';
import { until } from '../support/until.js';

// Every call of the Pusher HTTP API through the real `pusher` server SDK, and raw requests for
// what the SDK never sends (bad signatures, stale timestamps).

/** A raw signed request, as the SDKs sign them, with overrides to break one part. */
async function signed(
  srv: PusherTestServer,
  method: string,
  path: string,
  body: string | undefined,
  overrides: {
    readonly timestamp?: number;
    readonly secret?: string;
    readonly md5?: string;
    readonly key?: string;
  } = {},
): Promise<Response> {
  const params: Record<string, string> = {
    auth_key: overrides.key ?? APP.key,
    auth_timestamp: String(overrides.timestamp ?? Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
  };
  if (body !== undefined) params.body_md5 = overrides.md5 ?? createHash('md5').update(body).digest('hex');
  const query = Object.keys(params)
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
  const signature = createHmac('sha256', overrides.secret ?? APP.secret)
    .update(`${method}\n${path}\n${query}`)
    .digest('hex');
  return fetch(`${srv.parley.httpUrl}${path}?${query}&auth_signature=${signature}`, {
    method,
    ...(body === undefined ? {} : { body, headers: { 'Content-Type': 'application/json' } }),
  });
}

describe('Pusher HTTP API', () => {
  let srv: PusherTestServer;
  let n = 0;
  const fresh = (p: string) => `${p}-${++n}`;
  before(async () => {
    srv = await startPusherServer();
  });
  after(() => srv.close());

  it('triggers one event to several channels, answering 200 with a JSON body', async () => {
    const [a, b] = [fresh('alpha'), fresh('beta')];
    const client = srv.client();
    const [ca, cb] = [client.subscribe(a), client.subscribe(b)];
    await Promise.all([
      nextEvent(ca, 'pusher:subscription_succeeded'),
      nextEvent(cb, 'pusher:subscription_succeeded'),
    ]);
    const got = Promise.all([nextEvent(ca, 'ping'), nextEvent(cb, 'ping')]);
    const res = await srv.sdk.trigger([a, b], 'ping', { n: 1 });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {});
    assert.deepEqual(await got, [{ n: 1 }, { n: 1 }]);
  });

  it('leaves out the connection named by socket_id', async () => {
    const name = fresh('excl');
    const [me, other] = [srv.client(), srv.client()];
    const [cm, co] = [me.subscribe(name), other.subscribe(name)];
    await Promise.all([
      nextEvent(cm, 'pusher:subscription_succeeded'),
      nextEvent(co, 'pusher:subscription_succeeded'),
    ]);
    const mine: unknown[] = [];
    cm.bind('said', (d: unknown) => mine.push(d));
    const theirs = nextEvent(co, 'said');
    await srv.sdk.trigger(name, 'said', 'x', { socket_id: await connected(me) });
    await theirs;
    const marker = nextEvent(cm, 'marker');
    await srv.sdk.trigger(name, 'marker', 'm');
    await marker;
    assert.deepEqual(mine, [], 'the excluded socket got nothing');
  });

  it('answers info with subscription and user counts', async () => {
    const name = fresh('presence-info');
    const c = srv.client({ member: { user_id: 'u1' } });
    await nextEvent(c.subscribe(name), 'pusher:subscription_succeeded');
    const res = await srv.sdk.trigger(name, 'e', 'd', { info: 'subscription_count,user_count' });
    assert.deepEqual(await res.json(), { channels: { [name]: { subscription_count: 1, user_count: 1 } } });
  });

  it('triggers a batch, in order, each a stored message', async () => {
    const name = fresh('batch');
    const c = srv.client().subscribe(name);
    await nextEvent(c, 'pusher:subscription_succeeded');
    const seen: string[] = [];
    c.bind_global((event: string, data: unknown) => {
      if (!event.startsWith('pusher')) seen.push(`${event}:${String(data)}`);
    });
    const res = await srv.sdk.triggerBatch([
      { channel: name, name: 'one', data: '1' },
      { channel: name, name: 'two', data: '2' },
    ]);
    assert.deepEqual(await res.json(), {});
    await until(() => seen.length === 2, 'both events');
    assert.deepEqual(seen, ['one:1', 'two:2']);
    const history = await (await srv.sdk.get({ path: `/channels/${name}/messages` })).json();
    assert.deepEqual(
      (history as { messages: { seq: number; event: string }[] }).messages.map((m) => [m.seq, m.event]),
      [
        [1, 'one'],
        [2, 'two'],
      ],
    );
  });

  it('lists occupied channels by prefix, one channel’s state, and a presence channel’s users', async () => {
    const name = fresh('presence-lobby');
    const c = srv.client({ member: { user_id: 'zed', user_info: { name: 'Zed' } } });
    await nextEvent(c.subscribe(name), 'pusher:subscription_succeeded');
    const list = (await (
      await srv.sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } })
    ).json()) as { channels: Record<string, { user_count: number }> };
    assert.deepEqual(list.channels[name], { user_count: 1 });
    const one = await (
      await srv.sdk.get({ path: `/channels/${name}`, params: { info: 'subscription_count,user_count' } })
    ).json();
    assert.deepEqual(one, { occupied: true, subscription_count: 1, user_count: 1 });
    const empty = await (await srv.sdk.get({ path: `/channels/${fresh('nobody-here')}` })).json();
    assert.deepEqual(empty, { occupied: false });
    const users = await (await srv.sdk.get({ path: `/channels/${name}/users` })).json();
    assert.deepEqual(users, { users: [{ id: 'zed' }] });
  });

  it('terminates a signed-in user’s connections', async () => {
    const client = srv.client({ user: { id: 'mallory' } });
    await connected(client);
    client.signin();
    await client.user.signinDonePromise;
    const closed = new Promise<{ code?: number }>((resolve) =>
      client.connection.bind('error', (e: { data?: { code?: number } }) => resolve({ code: e.data?.code })),
    );
    const res = await srv.sdk.terminateUserConnections('mallory');
    assert.deepEqual(await res.json(), {});
    assert.equal((await closed).code, 4009);
  });

  it('refuses a wrong signature, a wrong key, a stale timestamp and a body that does not match its MD5 with 401', async () => {
    const body = JSON.stringify({ name: 'e', channels: ['c'], data: 'x' });
    const path = `/apps/${APP.id}/events`;
    const cases = [
      await signed(srv, 'POST', path, body, { secret: 'wrong-secret-0123456789' }),
      await signed(srv, 'POST', path, body, { key: 'other-key' }),
      await signed(srv, 'POST', path, body, { timestamp: Math.floor(Date.now() / 1000) - 601 }),
      await signed(srv, 'POST', path, body, { md5: createHash('md5').update('other').digest('hex') }),
    ];
    for (const res of cases) {
      assert.equal(res.status, 401);
      assert.equal(typeof ((await res.json()) as { error: string }).error, 'string');
    }
    const ok = await signed(srv, 'POST', path, body);
    assert.equal(ok.status, 200);
  });

  it('answers 404 for an unknown app, 413 for data over 10 KB, 400 for too many channels or a bad name', async () => {
    assert.equal((await signed(srv, 'GET', '/apps/no-such-app/channels', undefined)).status, 404);
    const big = JSON.stringify({ name: 'e', channels: ['c'], data: 'x'.repeat(10 * 1024 + 1) });
    assert.equal((await signed(srv, 'POST', `/apps/${APP.id}/events`, big)).status, 413);
    const many = JSON.stringify({
      name: 'e',
      channels: Array.from({ length: 101 }, (_, i) => `c${i}`),
      data: 'x',
    });
    assert.equal((await signed(srv, 'POST', `/apps/${APP.id}/events`, many)).status, 400);
    const badName = JSON.stringify({ name: 'e', channels: ['no spaces'], data: 'x' });
    assert.equal((await signed(srv, 'POST', `/apps/${APP.id}/events`, badName)).status, 400);
    const notJson = await signed(srv, 'POST', `/apps/${APP.id}/events`, '{oops');
    assert.equal(notJson.status, 400);
  });

  it('never opens a Parley private channel to a Pusher public name', async () => {
    const res = await fetch(`${srv.parley.httpUrl}/api/server/channels`, {
      method: 'POST',
      headers: {
        'X-Api-Key': 'test-api-key-0123456789abcdef0123456789abcdef',
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({ id: 'staff-only', private: true }),
    });
    assert.equal(res.status, 201);
    const c = srv.client().subscribe('staff-only');
    const error = await nextEvent<{ status: number }>(c, 'pusher:subscription_error');
    assert.equal(error.status, 403);
    const trigger = await signed(
      srv,
      'POST',
      `/apps/${APP.id}/events`,
      JSON.stringify({ name: 'e', channel: 'staff-only', data: 'x' }),
    );
    assert.equal(trigger.status, 403);
  });
});
