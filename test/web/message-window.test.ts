import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  nextWindowEnd,
  spacerHeight,
  WINDOW_MARGIN,
  WINDOW_SIZE,
  windowRange,
} from '../../web/src/message-window.js';

describe('the message window', () => {
  it('holds everything in a short channel, and at most WINDOW_SIZE in a long one', () => {
    assert.deepEqual(windowRange(30, 1, undefined), { start: 0, end: 30 });
    assert.deepEqual(windowRange(30, 1, 10), { start: 0, end: 30 }, 'a short channel is all in it');
    assert.deepEqual(windowRange(1000, 1, undefined), { start: 1000 - WINDOW_SIZE, end: 1000 });
    assert.deepEqual(windowRange(1000, 1, 500), { start: 500 - WINDOW_SIZE, end: 500 });
  });

  it('is held by seq: messages loaded before it do not move what it shows', () => {
    const before = windowRange(1000, 501, 800); // seqs 501…1500, window ends at seq 800
    const after = windowRange(1050, 451, 800); // 50 older loaded
    assert.equal(before.end - 1 + 501, 800);
    assert.equal(after.end - 1 + 451, 800);
    assert.equal(after.end - after.start, WINDOW_SIZE);
  });

  it('moves only when the visible messages come near its edge, and centres on them', () => {
    const range = { start: 400, end: 400 + WINDOW_SIZE };
    assert.equal(nextWindowEnd(1000, range, 450, 460), null, 'well inside');
    const up = nextWindowEnd(1000, range, 400 + WINDOW_MARGIN - 1, 410 + WINDOW_MARGIN);
    assert.ok(up !== null && up < range.end, 'near the top: moves up');
    const down = nextWindowEnd(1000, range, 480, range.end - 2);
    assert.ok(down !== null && down > range.end, 'near the bottom: moves down');
    assert.equal(nextWindowEnd(1000, range, 990, 999), 1000, 'clamped to the latest');
    assert.equal(nextWindowEnd(1000, { start: 0, end: WINDOW_SIZE }, 0, 5), null, 'at the first already');
  });

  it('stands in for what is not drawn with measured heights, and the average for the rest', () => {
    const seqs = [1, 2, 3, 4];
    const heights = new Map([
      [1, 40],
      [2, 60],
    ]);
    assert.equal(spacerHeight(seqs, 0, 2, heights), 100);
    assert.equal(spacerHeight(seqs, 2, 4, heights), 100, 'two never drawn, at the average 50');
    assert.equal(spacerHeight(seqs, 0, 4, new Map()), 4 * 48);
  });
});
