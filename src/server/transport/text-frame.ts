/**
 * The complete WebSocket text frame of a JSON payload as a server sends it (RFC 6455 §5.2:
 * FIN, opcode 1, unmasked), header and payload in one Buffer. A broadcast is framed once and
 * the same bytes are written to every recipient's socket.
 */
export function textFrame(json: string): Buffer {
  const length = Buffer.byteLength(json);
  const header = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  // Small frames come from Node's shared pool: no allocation of their own.
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81;
  if (header === 2) {
    frame[1] = length;
  } else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(json, header, 'utf8');
  return frame;
}
