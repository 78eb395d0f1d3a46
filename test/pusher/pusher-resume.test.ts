import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parleyResume } from '../../src/client/pusher-resume.js';
import { connected, nextEvent, type PusherTestServer, startPusherServer } from '../support/pusher-server.js';
import { until } from '../support/until.js';

// The project's pusher-js plugin: history on join, and exactly the missed events after a drop.
describe('pusher-js with the resume plugin', () => {
  let srv: PusherTestServer;
  before(async () => {
    srv = await startPusherServer();
  });
  after(() => srv.close());

  it('replays the latest events on first subscribe, then resumes after a drop with exactly what was missed, once, in order', async () => {
    const name = 'private-resume-1';
    for (const n of [1, 2]) await srv.sdk.trigger(name, 'tick', { n });
    const client = srv.client();
    const plugin = parleyResume(client, { history: 10 });
    const channel = client.subscribe(name);
    const got: number[] = [];
    channel.bind('tick', (d: { n: number }) => got.push(d.n));
    await until(() => got.length === 2, 'the history');
    await srv.sdk.trigger(name, 'tick', { n: 3 });
    await until(() => got.length === 3, 'a live event');
    assert.equal(plugin.lastSeq(name), 3);

    client.disconnect();
    for (const n of [4, 5]) await srv.sdk.trigger(name, 'tick', { n });
    const resubscribed = nextEvent(channel, 'pusher:subscription_succeeded');
    client.connect();
    await connected(client);
    await resubscribed;
    await srv.sdk.trigger(name, 'tick', { n: 6 });
    await until(() => got.length >= 6, 'the missed events and the live one');
    assert.deepEqual(got, [1, 2, 3, 4, 5, 6]);
    assert.equal(plugin.lastSeq(name), 6);
  });

  it('without the plugin a stock client gets live events only (Pusher’s own behaviour)', async () => {
    const name = 'stock-1';
    await srv.sdk.trigger(name, 'tick', { n: 1 });
    const channel = srv.client().subscribe(name);
    const got: number[] = [];
    channel.bind('tick', (d: { n: number }) => got.push(d.n));
    await nextEvent(channel, 'pusher:subscription_succeeded');
    await srv.sdk.trigger(name, 'tick', { n: 2 });
    await until(() => got.length === 1, 'the live event');
    assert.deepEqual(got, [2]);
  });
});
