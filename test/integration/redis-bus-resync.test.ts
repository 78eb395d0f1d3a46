import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BusEvent } from '../../src/server/bus/bus.js';
import { RedisBus } from '../../src/server/bus/redis-bus.js';
import { CuttableLink } from '../support/cuttable-link.js';
import { redisServerMissing, startTestRedis, type TestRedis } from '../support/redis-server.js';
import { until } from '../support/until.js';

const missing = await redisServerMissing();

const kick = (user: string): BusEvent => ({ kind: 'kick', user_id: user, reason: 'test' });

describe('RedisBus after its link comes back', { skip: missing }, () => {
  let redis: TestRedis;
  let link: CuttableLink;
  let a: RedisBus;
  let b: RedisBus;
  before(async () => {
    redis = await startTestRedis();
    link = await CuttableLink.start(redis.port);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await link?.close();
    await redis?.stop();
  });

  it('is connected again only once its subscriptions are in effect, and resyncs then', async () => {
    a = await RedisBus.connect(redis.url);
    b = await RedisBus.connect(link.url);
    const got: BusEvent[] = [];
    let resyncs = 0;
    let connectedAtResync: boolean | undefined;
    b.setHandler(
      (_topic, event) => got.push(event),
      () => {
        resyncs++;
        connectedAtResync = b.connected;
        // Published the moment B is told to resync: it must reach B.
        void a.publish('control', kick('published-at-resync'));
      },
    );
    await b.subscribe('control');
    await a.publish('control', kick('before'));
    await until(() => got.length === 1, 'the first event');

    link.cut();
    await until(() => !b.connected, 'B to see its link down');
    await a.publish('control', kick('lost'));
    link.restore();
    await until(() => b.connected, 'B back', 20_000);
    assert.equal(resyncs, 1, 'told to resync by the time it says it is connected');
    assert.equal(connectedAtResync, true);
    await until(
      () => got.some((e) => e.kind === 'kick' && e.user_id === 'published-at-resync'),
      'the event published at the resync',
    );
    assert.deepEqual(
      got.map((e) => (e.kind === 'kick' ? e.user_id : e.kind)),
      ['before', 'published-at-resync'],
      'what was published while B was cut off is lost (the resync is for that)',
    );
  });
});
