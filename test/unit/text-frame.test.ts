import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { textFrame } from '../../src/server/transport/text-frame.js';
import { readTextFrames as received } from '../support/read-text-frames.js';

describe('textFrame', () => {
  it('frames payloads a client reads back, at every header size boundary', () => {
    for (const length of [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]) {
      const json = JSON.stringify('x'.repeat(Math.max(0, length - 2)));
      const frame = textFrame(json);
      assert.deepEqual(received(frame), [json], `payload of ${Buffer.byteLength(json)} bytes`);
      const header = Buffer.byteLength(json) < 126 ? 2 : Buffer.byteLength(json) < 65_536 ? 4 : 10;
      assert.equal(frame.length, header + Buffer.byteLength(json), 'one buffer, unmasked');
    }
  });

  it('counts the payload in UTF-8 bytes, not characters', () => {
    const json = JSON.stringify({ text: 'é😀'.repeat(30) });
    assert.ok(json.length < 126 && Buffer.byteLength(json) >= 126);
    assert.deepEqual(received(textFrame(json)), [json]);
  });

  it('frames written back to back read as separate messages', () => {
    assert.deepEqual(received(Buffer.concat([textFrame('{"a":1}'), textFrame('{"b":2}')])), [
      '{"a":1}',
      '{"b":2}',
    ]);
  });
});
