import { constants, deflateRawSync } from 'node:zlib';

// FIN + opcode 1 (text); with RSV1, a message compressed by permessage-deflate (RFC 7692 §6).
const TEXT = 0x81;
const TEXT_DEFLATED = 0xc1;
// Compression runs on the event loop: payloads above FAST_BYTES use zlib's fastest level, and
// above MAX_BYTES (long history pages) none, so one reply costs a few milliseconds at most.
const FAST_BYTES = 16 * 1024;
const MAX_BYTES = 256 * 1024;

/**
 * The complete WebSocket text frame of a JSON payload as a server sends it (RFC 6455 §5.2:
 * FIN, opcode 1, unmasked), header and payload in one Buffer. A broadcast is framed once and
 * the same bytes are written to every recipient's socket.
 */
export function textFrame(json: string): Buffer {
  const length = Buffer.byteLength(json);
  // Small frames come from Node's shared pool: no allocation of their own.
  const frame = Buffer.allocUnsafe(headerLength(length) + length);
  frame.write(json, writeHeader(frame, TEXT, length), 'utf8');
  return frame;
}

/**
 * One server frame for every recipient: the plain frame, and the same message compressed
 * with permessage-deflate for the sockets that negotiated it, made at most once whatever the
 * number of such sockets. Sharing the compressed bytes is valid because each message is
 * compressed on its own, with a fresh 32-KiB window and nothing of earlier messages, so they
 * inflate the same on every socket (Parley negotiates `server_no_context_takeover`, which
 * also tells clients they need keep no window between messages).
 */
export class OutFrame {
  readonly plain: Buffer;
  #deflated: Buffer | undefined;

  constructor(json: string) {
    this.plain = textFrame(json);
  }

  /**
   * The frame compressed (RSV1 set) when its payload is at least `minBytes` long (and at most
   * 256 KiB) and shrinks; else the plain frame, which a permessage-deflate socket also reads (RSV1 is per message).
   * The first call decides; `minBytes` is one setting of the node, the same for every call.
   */
  deflated(minBytes: number): Buffer {
    this.#deflated ??= deflateFrame(this.plain, minBytes);
    return this.#deflated;
  }
}

/** `frame` (a plain text frame from `textFrame`) compressed, or itself when that does not pay. */
export function deflateFrame(frame: Buffer, minBytes: number): Buffer {
  const offset = frame[1] === 126 ? 4 : frame[1] === 127 ? 10 : 2;
  const payload = frame.subarray(offset);
  if (payload.length < minBytes || payload.length > MAX_BYTES) return frame;
  // RFC 7692 §7.2.1: compress, end with an empty stored block (a sync flush writes one), then
  // drop its last four octets 00 00 ff ff, which the receiver appends back.
  const compressed = deflateRawSync(payload, {
    finishFlush: constants.Z_SYNC_FLUSH,
    level: payload.length > FAST_BYTES ? constants.Z_BEST_SPEED : constants.Z_DEFAULT_COMPRESSION,
  });
  const length = compressed.length - 4;
  if (length >= payload.length) return frame;
  const out = Buffer.allocUnsafe(headerLength(length) + length);
  compressed.copy(out, writeHeader(out, TEXT_DEFLATED, length), 0, length);
  return out;
}

function headerLength(payloadLength: number): number {
  return payloadLength < 126 ? 2 : payloadLength < 0x10000 ? 4 : 10;
}

// Writes the unmasked header of a frame whose payload is `length` bytes; returns its length.
function writeHeader(frame: Buffer, first: number, length: number): number {
  frame[0] = first;
  if (length < 126) {
    frame[1] = length;
    return 2;
  }
  if (length < 0x10000) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
    return 4;
  }
  frame[1] = 127;
  frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
  frame.writeUInt32BE(length >>> 0, 6);
  return 10;
}
