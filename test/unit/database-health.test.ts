import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DatabaseHealth } from '../../src/server/store/database-health.js';
import { DatabaseOutageError } from '../../src/server/store/database-outage-error.js';
import { until } from '../support/until.js';

/** An error as a driver reports a lost connection. */
function connectionLost(): Error {
  return Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
}

/** A probe the test answers by hand, one call at a time. */
function manualProbe() {
  const calls: { resolve: () => void; reject: (error: Error) => void }[] = [];
  return {
    calls,
    probe: () => new Promise<void>((resolve, reject) => calls.push({ resolve, reject })),
  };
}

describe('DatabaseHealth', () => {
  it('runs calls and passes their results and ordinary errors through without probing', async () => {
    const probe = manualProbe();
    const health = new DatabaseHealth({ probe: probe.probe });
    assert.equal(await health.run(async () => 42), 42);
    const duplicate = Object.assign(new Error('Duplicate entry'), { code: 'ER_DUP_ENTRY' });
    await assert.rejects(
      health.run(() => Promise.reject(duplicate)),
      (error) => error === duplicate,
    );
    assert.equal(health.state, 'up');
    assert.equal(probe.calls.length, 0);
    health.close();
  });

  it('lets calls wait for the probe after one lost connection, and runs them when it is answered', async () => {
    const probe = manualProbe();
    const health = new DatabaseHealth({ probe: probe.probe });
    const lost = connectionLost();
    await assert.rejects(
      health.run(() => Promise.reject(lost)),
      (error) => error === lost,
    );
    assert.equal(health.state, 'checking');
    let ran = false;
    const waiting = health.run(async () => {
      ran = true;
      return 'done';
    });
    await until(() => probe.calls.length === 1, 'the probe');
    assert.equal(ran, false, 'the call waits for the verdict');
    probe.calls[0]?.resolve();
    assert.equal(await waiting, 'done');
    assert.equal(health.state, 'up');
    health.close();
  });

  it('fails calls at once while the database is down, and is up again once a probe is answered', async () => {
    const probe = manualProbe();
    const health = new DatabaseHealth({ probe: probe.probe, probeIntervalMs: 10 });
    await assert.rejects(health.run(() => Promise.reject(connectionLost())));
    await until(() => probe.calls.length === 1, 'the first probe');
    probe.calls[0]?.reject(connectionLost());
    await until(() => health.state === 'down', 'down');

    let ran = false;
    await assert.rejects(
      health.run(async () => {
        ran = true;
      }),
      (error) => error instanceof DatabaseOutageError && error.code === 'PARLEY_DB_DOWN',
    );
    assert.equal(ran, false, 'a call while down never reaches the database');

    // Probes go on while it is down; the second one is answered.
    await until(() => probe.calls.length === 2, 'the second probe');
    probe.calls[1]?.reject(connectionLost());
    await until(() => probe.calls.length === 3, 'the third probe');
    probe.calls[2]?.resolve();
    await until(() => health.state === 'up', 'up again');
    assert.equal(await health.run(async () => 'back'), 'back');
    health.close();
  });

  it('starts no probe after close()', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const probe = manualProbe();
    const health = new DatabaseHealth({ probe: probe.probe, probeIntervalMs: 10 });
    await assert.rejects(health.run(() => Promise.reject(connectionLost())));
    assert.equal(probe.calls.length, 1, 'the first probe');
    probe.calls[0]?.reject(connectionLost());
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(health.state, 'down');
    health.close();
    t.mock.timers.tick(1000);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(probe.calls.length, 1);
  });

  it('refuses a probe interval that is not a positive integer', () => {
    assert.throws(() => new DatabaseHealth({ probe: async () => {}, probeIntervalMs: 0 }), RangeError);
  });
});
