import assert from 'node:assert/strict';
import { test } from 'node:test';
import { throttleErrors } from '../../src/server/throttled-errors.js';

test('an error source is logged once per interval, with the count of those left out', () => {
  let t = 0;
  const logged: Array<[string, number]> = [];
  const onError = throttleErrors(
    (_err, what, suppressed) => logged.push([what, suppressed]),
    10_000,
    () => t,
  );
  for (let i = 0; i < 500; i++) {
    onError(new Error("Stream isn't writeable"), 'redis publisher');
    t += 10; // 100 a second for 5 s
  }
  assert.deepEqual(logged, [['redis publisher', 0]]);
  t = 10_000;
  onError(new Error('again'), 'redis publisher');
  assert.deepEqual(logged, [
    ['redis publisher', 0],
    ['redis publisher', 499],
  ]);
});

test('each source has its own interval', () => {
  const logged: string[] = [];
  const onError = throttleErrors(
    (_err, what) => logged.push(what),
    10_000,
    () => 0,
  );
  onError(new Error('a'), 'redis publisher');
  onError(new Error('b'), 'redis subscriber');
  onError(new Error('c'), 'redis publisher');
  assert.deepEqual(logged, ['redis publisher', 'redis subscriber']);
});
