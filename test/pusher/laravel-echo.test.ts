import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Echo from 'laravel-echo';
import { type PusherTestServer, startPusherServer } from '../support/pusher-server.js';
import { until } from '../support/until.js';

// Laravel Echo (with pusher-js underneath) as a Laravel page uses it, against Parley; the
// events come from the `pusher` SDK, as Laravel's `pusher` broadcast driver sends them.
describe('Laravel Echo against the Pusher endpoint', () => {
  let srv: PusherTestServer;
  before(async () => {
    srv = await startPusherServer();
  });
  after(() => srv.close());

  const echoAs = (member: { user_id: string; user_info: Record<string, unknown> }) =>
    new Echo({ broadcaster: 'pusher', key: 'unused', client: srv.client({ member }) });

  it('listens on a private channel for a namespaced Laravel event and a dotted one', async () => {
    const echo = echoAs({ user_id: '1', user_info: { name: 'Taylor' } });
    const got: unknown[] = [];
    echo
      .private('orders.7')
      .listen('OrderShipped', (e: unknown) => got.push(['class', e]))
      .listen('.order.refunded', (e: unknown) => got.push(['dotted', e]));
    await until(
      () => echo.connector.pusher.channel('private-orders.7')?.subscribed === true,
      'the subscription',
    );
    // Laravel sends the event class with its namespace as the name, the payload as JSON.
    await srv.sdk.trigger('private-orders.7', 'App\\Events\\OrderShipped', { order: { id: 7 } });
    await srv.sdk.trigger('private-orders.7', 'order.refunded', { amount: 5 });
    await until(() => got.length === 2, 'both events');
    assert.deepEqual(got, [
      ['class', { order: { id: 7 } }],
      ['dotted', { amount: 5 }],
    ]);
    echo.disconnect();
  });

  it('joins a presence channel: here() lists the members, joining() and leaving() follow', async () => {
    const first = echoAs({ user_id: '1', user_info: { name: 'Taylor' } });
    const here: unknown[][] = [];
    const joined: unknown[] = [];
    const left: unknown[] = [];
    first
      .join('room.1')
      .here((users: unknown[]) => here.push(users))
      .joining((u: unknown) => joined.push(u))
      .leaving((u: unknown) => left.push(u));
    await until(() => here.length === 1, 'here()');
    assert.deepEqual(here[0], [{ name: 'Taylor' }]);
    const second = echoAs({ user_id: '2', user_info: { name: 'Abigail' } });
    second.join('room.1');
    await until(() => joined.length === 1, 'joining()');
    assert.deepEqual(joined, [{ name: 'Abigail' }]);
    second.leave('room.1');
    await until(() => left.length === 1, 'leaving()');
    assert.deepEqual(left, [{ name: 'Abigail' }]);
    first.disconnect();
    second.disconnect();
  });

  it('whispers between members (client events), never to the sender', async () => {
    const a = echoAs({ user_id: '1', user_info: { name: 'A' } });
    const b = echoAs({ user_id: '2', user_info: { name: 'B' } });
    const heard: unknown[] = [];
    const self: unknown[] = [];
    const ca = a.private('chat.1').listenForWhisper('typing', (e: unknown) => self.push(e));
    b.private('chat.1').listenForWhisper('typing', (e: unknown) => heard.push(e));
    const subscribed = (echo: typeof a) =>
      echo.connector.pusher.channel('private-chat.1')?.subscribed === true;
    await until(() => subscribed(a) && subscribed(b), 'both subscriptions');
    ca.whisper('typing', { name: 'A' });
    await until(() => heard.length === 1, 'the whisper');
    assert.deepEqual(heard, [{ name: 'A' }]);
    assert.deepEqual(self, []);
    a.disconnect();
    b.disconnect();
  });
});
