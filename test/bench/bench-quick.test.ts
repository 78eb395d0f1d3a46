import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runBenchmark } from '../../bench/run-benchmark.js';
import { QUICK_SCENARIOS } from '../../bench/scenarios.js';

// The smoke run of `npm run bench -- --quick`, cut to its smallest step: both servers start,
// the generator connects, publishes and sees deliveries. Never asserts timings.
test('the quick benchmark step delivers messages on Parley and Socket.IO', { timeout: 50_000 }, async () => {
  const fanout = QUICK_SCENARIOS.find((s) => s.name === 'fanout');
  assert.ok(fanout !== undefined && fanout.kind === 'ramp');
  const result = await runBenchmark({
    scenarios: [{ ...fanout, stepMs: 1000, drainMs: 1000 }],
    servers: ['parley', 'socketio'],
    maxSteps: 1,
  });
  for (const server of ['parley', 'socketio'] as const) {
    const run = result.runs.find((r) => r.server === server);
    assert.ok(run !== undefined, `${server} ran`);
    assert.equal(run.error, undefined, `${server}: ${run.error}`);
    const step = run.steps[0];
    assert.ok(step !== undefined, `${server} ran a step`);
    assert.ok(step.deliveredRatio > 0, `${server} delivered messages`);
  }
});

test('the quick benchmark step delivers messages to subscribers on the Pusher wire', {
  timeout: 50_000,
}, async () => {
  const fanout = QUICK_SCENARIOS.find((s) => s.name === 'pusher-fanout');
  assert.ok(fanout !== undefined && fanout.kind === 'ramp');
  const result = await runBenchmark({
    scenarios: [{ ...fanout, stepMs: 1000, drainMs: 1000, servers: ['parley-pusher'] }],
    servers: [],
    maxSteps: 1,
  });
  const run = result.runs.find((r) => r.server === 'parley-pusher');
  assert.ok(run !== undefined, 'the Pusher run ran');
  assert.equal(run.error, undefined, String(run.error));
  const step = run.steps[0];
  assert.ok(step !== undefined, 'it ran a step');
  // Nine in ten subscribers of each room are Pusher connections: most deliveries went to them.
  assert.ok(step.deliveredRatio > 0.9, `delivered ${step.deliveredRatio}`);
});
