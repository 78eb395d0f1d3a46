import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RETENTION, loadRetentionConfig } from '../../src/server/config-retention.js';

test('retention settings default to keep-forever, hourly, 500-row batches', () => {
  assert.deepEqual(loadRetentionConfig({}), DEFAULT_RETENTION);
  assert.equal(DEFAULT_RETENTION.days, 0);
  assert.equal(DEFAULT_RETENTION.intervalMs, 3_600_000);
});

test('retention settings are read from the environment, 0 days allowed', () => {
  const got = loadRetentionConfig({
    PARLEY_RETENTION_DAYS: '30',
    PARLEY_RETENTION_INTERVAL_MS: '60000',
    PARLEY_RETENTION_BATCH_ROWS: '100',
    PARLEY_RETENTION_PAUSE_MS: '0',
    PARLEY_RETENTION_LEASE_MS: '5000',
    PARLEY_EXPORT_PAGE_ROWS: '50',
  });
  assert.deepEqual(got, {
    days: 30,
    intervalMs: 60_000,
    batchRows: 100,
    pauseMs: 0,
    leaseMs: 5000,
    pageRows: 50,
  });
  assert.equal(loadRetentionConfig({ PARLEY_RETENTION_DAYS: '0' }).days, 0);
});

test('a bad retention setting fails at start naming the variable', () => {
  for (const [name, value] of [
    ['PARLEY_RETENTION_DAYS', '-1'],
    ['PARLEY_RETENTION_DAYS', '36501'],
    ['PARLEY_RETENTION_DAYS', '1.5'],
    ['PARLEY_RETENTION_INTERVAL_MS', '0'],
    ['PARLEY_RETENTION_BATCH_ROWS', 'many'],
    ['PARLEY_RETENTION_LEASE_MS', '10'],
    ['PARLEY_EXPORT_PAGE_ROWS', '0'],
  ] as const) {
    assert.throws(
      () => loadRetentionConfig({ [name]: value }),
      (err: Error) => err.name === 'ParleyError' && err.message.startsWith(`${name} must be`),
      `${name}=${value}`,
    );
  }
});
