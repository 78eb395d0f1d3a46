import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChannelStream } from '../../src/client/channel-stream.js';
import { message } from './start-fake-server.js';

const seqs = (messages: readonly { readonly seq: number }[]) => messages.map((m) => m.seq);

test('delivers consecutive messages at once and drops seqs already delivered', () => {
  const stream = new ChannelStream(2);
  assert.deepEqual(
    seqs(stream.accept([message('c', 3), message('c', 2), message('c', 4), message('c', 3)])),
    [3, 4],
  );
  assert.equal(stream.lastSeq, 4);
  assert.equal(stream.needsFill, false);
});

test('holds messages after a gap until the gap is filled', () => {
  const stream = new ChannelStream(0);
  assert.deepEqual(seqs(stream.accept([message('c', 1), message('c', 4)])), [1]);
  assert.equal(stream.needsFill, true);
  assert.equal(stream.target, 4);
  assert.deepEqual(seqs(stream.accept([message('c', 3), message('c', 2)])), [2, 3, 4]);
  assert.equal(stream.needsFill, false);
  assert.equal(stream.buffered, 0);
});

test('restart keeps held messages above the new position only', () => {
  const stream = new ChannelStream(0);
  stream.hold(message('c', 5));
  stream.hold(message('c', 9));
  stream.restart(6);
  assert.equal(stream.buffered, 1);
  assert.equal(stream.target, 9);
  assert.deepEqual(seqs(stream.accept([message('c', 7), message('c', 8)])), [7, 8, 9]);
});

test('skipGap continues from the first held message', () => {
  const stream = new ChannelStream(1);
  stream.accept([message('c', 5), message('c', 6)]);
  assert.deepEqual(seqs(stream.skipGap()), [5, 6]);
  assert.equal(stream.lastSeq, 6);
});

test('skipGap without held messages jumps to the target', () => {
  const stream = new ChannelStream(1);
  stream.expect(4);
  assert.deepEqual(stream.skipGap(), []);
  assert.equal(stream.lastSeq, 4);
  assert.equal(stream.needsFill, false);
});

test('hold keeps seqs at or below the position, so a reset to a new epoch can use them', () => {
  const stream = new ChannelStream(3);
  stream.hold(message('c', 3));
  stream.restart(2);
  assert.deepEqual(seqs(stream.accept([])), [3]);
});

test('accept drops held messages the position has passed', () => {
  const stream = new ChannelStream(3);
  stream.hold(message('c', 2));
  stream.hold(message('c', 4));
  assert.deepEqual(seqs(stream.accept([])), [4]);
  assert.equal(stream.buffered, 0);
});
