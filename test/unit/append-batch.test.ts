import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParleyError } from '../../src/protocol/error-catalogue.js';
import { AppendBatch, exactClientKey } from '../../src/server/store/append-batch.js';
import type { NewMessage } from '../../src/server/store/store.js';

const item = (channelId: string, clientMsgId: string | null = null): NewMessage => ({
  channelId,
  userId: 'u',
  username: 'U',
  text: `to ${channelId}`,
  clientMsgId,
});

/** Runs a batch as a transaction would, with every channel's last seq at `lastSeq`. */
function commit(items: readonly NewMessage[], ts: number, lastSeq: (channel: string) => number | undefined) {
  const batch = new AppendBatch(items, { ts, clientKey: exactClientKey });
  for (const channel of batch.channels) {
    const count = batch.dedupe(channel, []);
    const last = lastSeq(channel.id);
    if (count > 0) batch.assign(channel, last === undefined ? undefined : last + count);
  }
  return batch;
}

describe('AppendBatch', () => {
  it('visits channels in code-point order and gives each its seqs in push order', () => {
    const batch = commit([item('b'), item('a'), item('b'), item('B')], 1000, () => 10);
    assert.deepEqual(
      batch.channels.map((c) => c.id),
      ['B', 'a', 'b'],
    );
    assert.deepEqual(
      batch.results().map((r) => (r instanceof Error ? r.message : [r.message.channel, r.message.seq])),
      [
        ['b', 11],
        ['a', 11],
        ['b', 12],
        ['B', 11],
      ],
    );
  });

  it('answers a client id repeated in the batch with the first one’s message, and an unknown channel with not_found', () => {
    const batch = commit([item('a', 'k'), item('gone', 'k'), item('a', 'k')], 1000, (c) =>
      c === 'a' ? 0 : undefined,
    );
    const [first, missing, again] = batch.results();
    assert.ok(missing instanceof ParleyError && missing.code === 'not_found');
    assert.deepEqual(again, { message: (first as { message: unknown }).message, duplicate: true });
    assert.equal(batch.rows.length, 1);
  });

  it('makes message ids that ascend across batches, in the same millisecond and after the clock steps back', () => {
    const ids: string[] = [];
    for (const ts of [5000, 5000, 4999, 5000, 5001, 4000]) {
      ids.push(...commit([item('a'), item('b'), item('a')], ts, () => 0).rows.map((r) => r.id));
    }
    assert.deepEqual(ids, [...ids].sort());
    assert.equal(new Set(ids).size, ids.length);
  });
});
