import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connected, nextEvent, type PusherTestServer, startPusherServer } from '../support/pusher-server.js';
import { serverApi } from '../support/server-api.js';

// A channel ban (issue 17) on the Pusher wire: the app's signature does not let a banned user
// into a private or presence channel.

describe('Pusher wire: channel bans', { timeout: 60_000 }, () => {
  let srv: PusherTestServer;
  before(async () => {
    srv = await startPusherServer();
  });
  after(() => srv?.close());

  it('refuses a banned member’s signed presence subscription, and admits the others', async () => {
    const name = 'presence-banned';
    const ann = srv.client({ member: { user_id: 'ann' } });
    await nextEvent(ann.subscribe(name), 'pusher:subscription_succeeded');
    await serverApi(srv.parley, 'POST', `channels/${name}/bans/bob`, { reason: 'spam' });
    const bob = srv.client({ member: { user_id: 'bob' } });
    const error = await nextEvent<{ status: number; error: string }>(
      bob.subscribe(name),
      'pusher:subscription_error',
    );
    assert.equal(error.status, 403);
    assert.match(error.error, /banned/);
    const carol = srv.client({ member: { user_id: 'carol' } });
    await nextEvent(carol.subscribe(name), 'pusher:subscription_succeeded');
  });

  it('refuses a signed-in banned user’s signed private subscription', async () => {
    const name = 'private-banned';
    const ann = srv.client();
    await nextEvent(ann.subscribe(name), 'pusher:subscription_succeeded');
    await serverApi(srv.parley, 'POST', `channels/${name}/bans/dave`, {});
    const dave = srv.client({ user: { id: 'dave' } });
    await connected(dave);
    dave.signin();
    await dave.user.signinDonePromise;
    const error = await nextEvent<{ status: number }>(dave.subscribe(name), 'pusher:subscription_error');
    assert.equal(error.status, 403);
  });
});
