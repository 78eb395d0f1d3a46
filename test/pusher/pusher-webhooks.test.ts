import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { APP, nextEvent, type PusherTestServer, startPusherServer } from '../support/pusher-server.js';
import { until } from '../support/until.js';

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: string;
}

// Pusher-format webhooks, checked with the `pusher` SDK's own webhook() validation.
describe('Pusher webhooks', () => {
  let srv: PusherTestServer;
  let receiver: Server;
  const received: Received[] = [];
  const events = () =>
    received.flatMap((r) => (JSON.parse(r.rawBody) as { events: Record<string, unknown>[] }).events);

  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push({ headers: req.headers, rawBody: body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const file = join(tmpdir(), `parley-pusher-apps-${process.pid}.json`);
    await writeFile(
      file,
      JSON.stringify({
        apps: [
          {
            ...APP,
            client_events: true,
            webhooks: [`http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`],
            webhook_hold_ms: 300,
          },
        ],
      }),
    );
    srv = await startPusherServer({ env: { PARLEY_PUSHER_APPS_FILE: file } });
  });
  after(async () => {
    await srv.close();
    receiver.close();
  });

  it('signs every webhook so that the SDK’s webhook().isValid() accepts it, and a tampered body is refused', async () => {
    const c = srv.client().subscribe('signed-1');
    await nextEvent(c, 'pusher:subscription_succeeded');
    await until(() => received.length > 0, 'a webhook');
    for (const r of received) assert.equal(srv.sdk.webhook(r).isValid(), true);
    const first = received[0] as Received;
    assert.equal(srv.sdk.webhook({ headers: first.headers, rawBody: `${first.rawBody} ` }).isValid(), false);
  });

  it('sends channel_occupied and, after the hold, channel_vacated', async () => {
    const client = srv.client();
    const c = client.subscribe('room-occ');
    await nextEvent(c, 'pusher:subscription_succeeded');
    await until(
      () => events().some((e) => e.name === 'channel_occupied' && e.channel === 'room-occ'),
      'occupied',
    );
    client.unsubscribe('room-occ');
    await until(
      () => events().some((e) => e.name === 'channel_vacated' && e.channel === 'room-occ'),
      'vacated',
    );
  });

  it('does not send vacated-then-occupied for a quick comeback (a page reload)', async () => {
    const first = srv.client();
    await nextEvent(first.subscribe('room-reload'), 'pusher:subscription_succeeded');
    await until(
      () => events().some((e) => e.name === 'channel_occupied' && e.channel === 'room-reload'),
      'occupied',
    );
    first.disconnect();
    const again = srv.client();
    await nextEvent(again.subscribe('room-reload'), 'pusher:subscription_succeeded');
    // Past the hold: nothing more about this channel was sent.
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(
      events()
        .filter((e) => e.channel === 'room-reload')
        .map((e) => e.name),
      ['channel_occupied'],
    );
  });

  it('sends member_added once per user and member_removed when their last connection leaves', async () => {
    const tabs = [1, 2].map(() => srv.client({ member: { user_id: 'kim' } }));
    for (const t of tabs) await nextEvent(t.subscribe('presence-web'), 'pusher:subscription_succeeded');
    await until(
      () => events().some((e) => e.name === 'member_added' && e.channel === 'presence-web'),
      'added',
    );
    for (const t of tabs) t.disconnect();
    await until(
      () => events().some((e) => e.name === 'member_removed' && e.channel === 'presence-web'),
      'removed',
    );
    const mine = events().filter((e) => e.channel === 'presence-web' && String(e.name).startsWith('member_'));
    assert.deepEqual(mine, [
      { name: 'member_added', channel: 'presence-web', user_id: 'kim' },
      { name: 'member_removed', channel: 'presence-web', user_id: 'kim' },
    ]);
  });

  it('sends client_event with the channel, event, data and socket id', async () => {
    const [a, b] = [srv.client(), srv.client()];
    const [ca] = [a.subscribe('private-hook'), b.subscribe('private-hook')];
    await nextEvent(ca, 'pusher:subscription_succeeded');
    ca.trigger('client-hello', { x: 1 });
    await until(() => events().some((e) => e.name === 'client_event'), 'client_event');
    const hook = events().find((e) => e.name === 'client_event');
    assert.equal(hook?.channel, 'private-hook');
    assert.equal(hook?.event, 'client-hello');
    assert.deepEqual(JSON.parse(String(hook?.data)), { x: 1 });
    assert.equal(hook?.socket_id, a.connection.socket_id);
  });
});
