import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BusEvent } from '../../src/server/bus/bus.js';
import { RedisBus } from '../../src/server/bus/redis-bus.js';
import { redisServerMissing, startTestRedis, type TestRedis } from '../support/redis-server.js';
import { until } from '../support/until.js';

const missing = await redisServerMissing();

function msg(seq: number): BusEvent {
  return {
    kind: 'message',
    message: {
      id: `m${seq}`,
      channel: 'c',
      seq,
      user_id: 'u',
      username: 'u',
      text: 't',
      ts: 1,
      client_msg_id: null,
    },
  };
}

describe('RedisBus when Redis fails', { skip: missing }, () => {
  let redis: TestRedis;
  let a: RedisBus;
  let b: RedisBus;
  before(async () => {
    redis = await startTestRedis();
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await redis?.stop();
  });

  it('refuses to start with a clear error when Redis is unreachable', async () => {
    await assert.rejects(
      RedisBus.connect('redis://127.0.0.1:1', { connectTimeoutMs: 500 }),
      /cannot reach Redis at 127\.0\.0\.1:1/,
    );
  });

  it('keeps local delivery while Redis is down, and tells every node to resync when it returns', async () => {
    a = await RedisBus.connect(redis.url);
    b = await RedisBus.connect(redis.url);
    const gotA: BusEvent[] = [];
    const gotB: BusEvent[] = [];
    let resyncsA = 0;
    let resyncsB = 0;
    a.setHandler(
      (_t, e) => gotA.push(e),
      () => resyncsA++,
    );
    b.setHandler(
      (_t, e) => gotB.push(e),
      () => resyncsB++,
    );
    await a.subscribe('ch:c');
    await b.subscribe('ch:c');
    await a.publish('ch:c', msg(1));
    await until(() => gotB.length === 1, 'first event on b');

    await redis.stop();
    await until(() => !a.connected && !b.connected, 'both see Redis down');
    await a.publish('ch:c', msg(2));
    assert.equal(gotA.length, 2, 'a still delivers locally');
    assert.equal(gotB.length, 1, 'b cannot get it');

    await redis.start();
    await until(() => a.connected && b.connected, 'reconnected', 20_000);
    await until(() => resyncsA > 0 && resyncsB > 0, 'resync on both nodes', 20_000);
    // The subscriptions came back: a new event crosses again.
    await a.publish('ch:c', msg(3));
    await until(() => gotB.some((e) => e.kind === 'message' && e.message.seq === 3), 'event after reconnect');
  });
});
