import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connected, nextEvent, type PusherTestServer, startPusherServer } from '../support/pusher-server.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';

// The stock pusher-js client (its Node build) against Parley's Pusher endpoint.
describe('pusher-js against the Pusher endpoint', () => {
  let srv: PusherTestServer;
  let n = 0;
  const fresh = (p: string) => `${p}-${++n}`;

  before(async () => {
    srv = await startPusherServer();
  });
  after(() => srv.close());

  it('connects with a socket id of the form digits.digits', async () => {
    const client = srv.client();
    const socketId = await connected(client);
    assert.match(socketId, /^\d+\.\d+$/);
  });

  it('delivers an event the server SDK triggers, and stores it as a Parley message with a seq', async () => {
    const name = fresh('orders');
    const client = srv.client();
    const channel = client.subscribe(name);
    await nextEvent(channel, 'pusher:subscription_succeeded');
    const got = nextEvent<{ id: number }>(channel, 'order.shipped');
    await srv.sdk.trigger(name, 'order.shipped', { id: 7 });
    assert.deepEqual(await got, { id: 7 });
    // The same event through Parley's own protocol: in history, with its name and a seq.
    const v1 = await TestClient.authed(srv.parley.url, await srv.parley.token('reader', 'Reader'));
    const reply = await v1.request({ type: 'subscribe', channel: name });
    v1.close();
    assert.equal(reply.type, 'subscribed');
    const [message] = reply.messages as readonly { seq: number; event?: string; text: string }[];
    assert.equal(message?.seq, 1);
    assert.equal(message?.event, 'order.shipped');
    assert.deepEqual(JSON.parse(message?.text ?? ''), { id: 7 });
  });

  it('authorizes a private channel with the app’s signature, and refuses a forged one', async () => {
    const name = fresh('private-invoices');
    const good = srv.client().subscribe(name);
    await nextEvent(good, 'pusher:subscription_succeeded');
    const forged = srv.client({ forgeWith: 'not-the-secret-0123456789' }).subscribe(name);
    const error = await nextEvent<{ type: string; status: number }>(forged, 'pusher:subscription_error');
    assert.equal(error.type, 'AuthError');
    assert.equal(error.status, 401);
    const received = nextEvent<string>(good, 'paid');
    await srv.sdk.trigger(name, 'paid', 'yes');
    assert.equal(await received, 'yes');
  });

  it('lists presence members on subscribe and announces each user once, not per tab', async () => {
    const name = fresh('presence-room');
    const ann = srv.client({ member: { user_id: 'ann', user_info: { name: 'Ann' } } });
    const annChannel = ann.subscribe(name);
    const members = await nextEvent<{ count: number; me: { id: string; info: unknown } }>(
      annChannel,
      'pusher:subscription_succeeded',
    );
    assert.equal(members.count, 1);
    assert.deepEqual(members.me, { id: 'ann', info: { name: 'Ann' } });
    const added: string[] = [];
    annChannel.bind('pusher:member_added', (m: { id: string }) => added.push(m.id));
    const removed: string[] = [];
    annChannel.bind('pusher:member_removed', (m: { id: string }) => removed.push(m.id));
    const bobTabs = [1, 2].map(() => srv.client({ member: { user_id: 'bob', user_info: { name: 'Bob' } } }));
    for (const tab of bobTabs) await nextEvent(tab.subscribe(name), 'pusher:subscription_succeeded');
    await until(() => added.length === 1, 'bob to be announced');
    bobTabs[0]?.disconnect();
    bobTabs[1]?.unsubscribe(name);
    await until(() => removed.length === 1, 'bob to leave');
    assert.deepEqual(added, ['bob']);
    assert.deepEqual(removed, ['bob']);
  });

  it('relays client events on private channels to the others, not back to the sender', async () => {
    const name = fresh('private-chat');
    const [a, b] = [srv.client(), srv.client()];
    const [ca, cb] = [a.subscribe(name), b.subscribe(name)];
    await Promise.all([
      nextEvent(ca, 'pusher:subscription_succeeded'),
      nextEvent(cb, 'pusher:subscription_succeeded'),
    ]);
    const echoed: unknown[] = [];
    ca.bind('client-typing', (d: unknown) => echoed.push(d));
    const got = nextEvent<{ who: string }>(cb, 'client-typing');
    assert.equal(ca.trigger('client-typing', { who: 'a' }), true);
    assert.deepEqual(await got, { who: 'a' });
    // A round trip later, nothing came back to the sender.
    const pong = nextEvent(ca, 'round');
    await srv.sdk.trigger(name, 'round', 1);
    await pong;
    assert.deepEqual(echoed, []);
  });

  it('decrypts an event the SDK encrypted for a private-encrypted channel (relayed as the opaque payload it is)', async () => {
    const name = fresh('private-encrypted-vault');
    const channel = srv.client().subscribe(name);
    await nextEvent(channel, 'pusher:subscription_succeeded');
    const got = nextEvent<{ secret: string }>(channel, 'sealed');
    await srv.sdk.trigger(name, 'sealed', { secret: 'only for you' });
    assert.deepEqual(await got, { secret: 'only for you' });
    // What Parley stored (read through the signed history extension) is the ciphertext.
    const res = await srv.sdk.get({ path: `/channels/${name}/messages` });
    const { messages } = (await res.json()) as { messages: { event: string; data: string }[] };
    assert.equal(messages[0]?.event, 'sealed');
    assert.ok(!messages[0]?.data.includes('only for you'));
    assert.deepEqual(Object.keys(JSON.parse(messages[0]?.data ?? '{}')).sort(), ['ciphertext', 'nonce']);
  });

  it('signs a user in and delivers events sent to that user', async () => {
    const client = srv.client({ user: { id: 'carol', name: 'Carol' } });
    await connected(client);
    client.signin();
    await client.user.signinDonePromise;
    assert.equal(client.user.user_data?.id, 'carol');
    const own = client.user.serverToUserChannel;
    assert.ok(own !== null, 'subscribed to its server-to-user channel');
    if (!own.subscribed) await nextEvent(own, 'pusher:subscription_succeeded');
    const got = new Promise((resolve) => client.user.bind('note', resolve));
    await srv.sdk.sendToUser('carol', 'note', { hi: 1 });
    assert.deepEqual(await got, { hi: 1 });
  });
});
