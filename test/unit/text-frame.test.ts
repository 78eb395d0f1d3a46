import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { deflateFrame, OutFrame, textFrame } from '../../src/server/transport/ws/text-frame.js';
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

// What a permessage-deflate receiver does (RFC 7692 §7.2.2): check RSV1, append 00 00 ff ff to
// the payload and inflate it.
function inflated(frame: Buffer): { compressed: boolean; text: string } {
  const len = frame[1] as number;
  const offset = len === 126 ? 4 : len === 127 ? 10 : 2;
  const declared = len === 126 ? frame.readUInt16BE(2) : len === 127 ? frame.readUInt32BE(6) : len;
  assert.equal(frame.length, offset + declared, 'the header gives the payload length');
  assert.equal((frame[0] as number) & 0x8f, 0x81, 'FIN and the text opcode');
  const payload = frame.subarray(offset);
  if (((frame[0] as number) & 0x40) === 0) return { compressed: false, text: payload.toString('utf8') };
  const tail = Buffer.from([0x00, 0x00, 0xff, 0xff]);
  const text = inflateRawSync(Buffer.concat([payload, tail]), { finishFlush: constants.Z_SYNC_FLUSH });
  return { compressed: true, text: text.toString('utf8') };
}

describe('OutFrame and deflateFrame (permessage-deflate)', () => {
  const long = JSON.stringify({ type: 'message', text: 'the same words, said again and again. '.repeat(60) });

  it('compresses a long payload into a frame with RSV1 that inflates back to it', () => {
    const frame = new OutFrame(long);
    const deflated = frame.deflated(1024);
    const read = inflated(deflated);
    assert.equal(read.compressed, true);
    assert.equal(read.text, long);
    // The sync flush's 00 00 ff ff is left for the receiver to append back (RFC 7692 §7.2.1).
    const offset = deflated[1] === 126 ? 4 : 2;
    const flushed = deflateRawSync(long, { finishFlush: constants.Z_SYNC_FLUSH });
    assert.deepEqual(deflated.subarray(offset), flushed.subarray(0, -4));
    assert.ok(deflated.length < frame.plain.length / 4, `${deflated.length} of ${frame.plain.length} bytes`);
  });

  it('compresses once: every later call returns the same bytes', () => {
    const frame = new OutFrame(long);
    assert.equal(frame.deflated(1024), frame.deflated(1024));
  });

  it('sends plain frames below the minimum size and when compression would not shrink them', () => {
    const short = new OutFrame('{"type":"pong"}');
    assert.equal(short.deflated(1024), short.plain);
    // 32 random base64 characters: deflate's block headers outweigh what it saves.
    const unshrinkable = textFrame(JSON.stringify(randomBytes(24).toString('base64')));
    assert.equal(deflateFrame(unshrinkable, 16), unshrinkable);
  });

  it('leaves payloads over 256 KiB plain (compression runs on the event loop)', () => {
    const big = textFrame(JSON.stringify('a'.repeat(300 * 1024)));
    assert.equal(deflateFrame(big, 1024), big);
    const fast = deflateFrame(textFrame(JSON.stringify('b'.repeat(200 * 1024))), 1024);
    assert.equal(inflated(fast).text, JSON.stringify('b'.repeat(200 * 1024)));
  });

  it('writes the 16- and 64-bit length headers of compressed payloads', () => {
    for (const size of [300, 250 * 1024]) {
      // Random hex: compresses to about half, so the result crosses 126 and 65,536 bytes.
      const json = JSON.stringify(randomBytes(size / 2).toString('hex'));
      const read = inflated(deflateFrame(textFrame(json), 16));
      assert.equal(read.compressed, true);
      assert.equal(read.text, json);
    }
  });
});
