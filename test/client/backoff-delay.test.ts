import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay } from '../../src/client/backoff-delay.js';

const bounds = { minDelayMs: 100, maxDelayMs: 1000 };

test('doubles the ceiling with each attempt up to maxDelayMs', () => {
  const almostOne = () => 0.999_999;
  assert.deepEqual(
    [0, 1, 2, 3, 4, 50].map((attempt) => backoffDelay(attempt, bounds, almostOne)),
    [99, 199, 399, 799, 999, 999],
  );
});

test('draws the delay uniformly below the ceiling (full jitter)', () => {
  assert.equal(
    backoffDelay(3, bounds, () => 0),
    0,
  );
  assert.equal(
    backoffDelay(3, bounds, () => 0.5),
    400,
  );
});
