import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParleyClientError } from '../../src/client/parley-client-error.js';
import { parseServerFrame } from '../../src/client/parse-server-frame.js';

// The SDK's view of moderation (issue 17): its refusals as typed errors with their details, and
// its frames as frames it knows.

describe('the SDK and moderation', () => {
  it('gives a muted or banned refusal its until, and a slow_mode one its retry_after_ms', () => {
    const muted = ParleyClientError.fromFrame({
      type: 'error',
      code: 'muted',
      message: 'muted',
      until: 1234,
    });
    assert.deepEqual([muted.code, muted.until, muted.retryable], ['muted', 1234, false]);
    const banned = ParleyClientError.fromFrame({
      type: 'error',
      code: 'banned',
      message: 'banned',
      until: null,
    });
    assert.deepEqual([banned.code, banned.until], ['banned', null]);
    const slow = ParleyClientError.fromFrame({
      type: 'error',
      code: 'slow_mode',
      message: 'wait',
      retry_after_ms: 900,
    });
    assert.deepEqual([slow.code, slow.retryAfterMs, slow.retryable], ['slow_mode', 900, true]);
    const rejected = ParleyClientError.fromFrame({ type: 'error', code: 'content_rejected', message: 'no' });
    assert.equal(rejected.code, 'content_rejected');
  });

  it('reads moderation frames and an unsubscribe for a ban', () => {
    const frame = parseServerFrame(
      JSON.stringify({
        type: 'moderation',
        channel: 'c',
        action: 'banned',
        user_id: 'u',
        until: null,
        by: 'm',
      }),
    );
    assert.equal(frame?.type, 'moderation');
    const ended = parseServerFrame(JSON.stringify({ type: 'unsubscribed', channel: 'c', reason: 'banned' }));
    assert.equal(ended?.type, 'unsubscribed');
  });
});
