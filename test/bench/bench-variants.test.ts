import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runBenchmark } from '../../bench/run-benchmark.js';
import { QUICK_SCENARIOS, type Scenario } from '../../bench/scenarios.js';
import { missingServerReason, testServerUrl } from '../support/fresh-database.js';
import { redisServerMissing } from '../support/redis-server.js';

// Every scenario kind of `npm run bench -- --quick` that test/bench/bench-quick.test.ts does
// not run, once, cut to its smallest step: the other stores, `--workers 2` on Redis, webhooks,
// compression, the two-generator idle run, the connect storm. Asserts that each delivered (or
// connected), never a timing.

const quick = (name: string): Scenario => {
  const s = QUICK_SCENARIOS.find((x) => x.name === name);
  assert.ok(s !== undefined, `quick scenario ${name}`);
  // A long drain: on a busy machine the first deliveries of a database store may take seconds.
  return s.kind === 'ramp' ? { ...s, stepMs: 1000, drainMs: 8000 } : s;
};

async function runOne(name: string, servers: ('parley' | 'socketio')[] = ['parley']) {
  const result = await runBenchmark({ scenarios: [quick(name)], servers, maxSteps: 1 });
  for (const server of servers) {
    const run = result.runs.find((r) => r.server === server);
    assert.ok(run !== undefined, `${name} ran on ${server}`);
    assert.equal(run.error, undefined, `${name} on ${server}: ${run.error}`);
    if (run.steps.length > 0) {
      assert.ok(run.steps[0]!.deliveredRatio > 0, `${name} on ${server} delivered messages`);
    } else {
      assert.ok(run.setup.length > 0 && run.setup[0]!.ready > 0, `${name} on ${server} connected`);
    }
  }
  return result;
}

// Generous bounds: the steps are short, but a shared machine may be slow to start servers.
const LIMIT = 240_000;

for (const [store, env] of [
  ['mariadb', 'mysql'],
  ['postgres', 'postgres'],
] as const) {
  const skip = testServerUrl(env) === undefined ? missingServerReason(env) : false;
  for (const kind of ['fanout', 'small-rooms', 'idle']) {
    test(`the quick ${kind} step runs on ${store}`, { skip, timeout: LIMIT }, async () => {
      process.env[env === 'mysql' ? 'PARLEY_BENCH_MYSQL_URL' : 'PARLEY_BENCH_POSTGRES_URL'] =
        testServerUrl(env);
      await runOne(`${kind}-${store}`);
    });
  }
}

for (const name of ['fanout-workers', 'small-rooms-workers']) {
  test(`the quick ${name} step delivers with --workers 2 on Redis`, { timeout: LIMIT }, async (t) => {
    const missing = await redisServerMissing();
    if (missing !== undefined) return t.skip(missing);
    await runOne(name);
  });
}

test('2,000 idle connections on two workers, from two generators', { timeout: LIMIT }, async (t) => {
  const missing = await redisServerMissing();
  if (missing !== undefined) return t.skip(missing);
  const idle = await runOne('idle-workers');
  assert.equal(idle.runs[0]!.setup[0]!.ready, 2000, 'both generators connected their half');
});

test('the quick small-rooms step with a webhook URL delivers, and the receiver gets webhooks', {
  timeout: LIMIT,
}, async () => {
  const result = await runOne('small-rooms-webhooks');
  const step = result.runs[0]!.steps[0]!;
  assert.ok(step.webhooks > 0, 'webhooks reached the receiver');
});

test('the quick compressed fan-out step delivers on Parley and Socket.IO, in fewer bytes', {
  timeout: LIMIT,
}, async () => {
  const on = await runOne('fanout-compression', ['parley', 'socketio']);
  const off = await runOne('fanout-2kb', ['parley']);
  const bytes = (r: typeof on, server: string) =>
    r.runs.find((x) => x.server === server)!.steps[0]!.bytesPerDelivery;
  assert.ok(
    bytes(on, 'parley') < bytes(off, 'parley') / 2,
    `${bytes(on, 'parley')} vs ${bytes(off, 'parley')}`,
  );
  assert.ok(bytes(on, 'socketio') < bytes(off, 'parley') / 2, 'Socket.IO compressed too');
});
