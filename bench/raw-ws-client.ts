import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { constants, inflateRawSync } from 'node:zlib';

/** Options of a {@link RawWsClient}. */
export interface RawWsClientOptions {
  readonly host: string;
  readonly port: number;
  /** Path and query of the upgrade request, e.g. `/ws` or `/socket.io/?EIO=4&transport=websocket`. */
  readonly path: string;
  /** Local address to connect from (127.0.0.x), to spread ephemeral ports over several IPs. */
  readonly localAddress?: string | undefined;
  /** Called for every complete text or binary frame: the payload is `buf[start, end)`. */
  readonly onFrame: (buf: Buffer, start: number, end: number) => void;
  /** Called once when the socket is gone, whatever the reason. */
  readonly onClose: (code: number) => void;
  /**
   * Offer permessage-deflate with no context takeover either way, so that every compressed
   * message inflates on its own; this client never compresses what it sends.
   */
  readonly deflate?: boolean;
}

const EMPTY = Buffer.alloc(0);
const HANDSHAKE_END = Buffer.from('\r\n\r\n');
/** What RFC 7692 §7.2.2 has a receiver append before inflating a message. */
const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * The cheapest WebSocket client that is still a correct one, for the load generator: it parses
 * server frames straight out of the TCP chunks (no copies, no per-frame events or strings),
 * answers pings, and masks what it sends with an all-zero key (legal, and free). No
 * fragmentation on send, no extensions. Both servers under test get exactly this client, so
 * the client costs the same for both.
 */
export class RawWsClient {
  readonly #socket: Socket;
  readonly #options: RawWsClientOptions;
  #pending: Buffer = EMPTY;
  #open = false;
  #closed = false;
  #fragments: Buffer[] = [];
  #onOpen: (() => void) | undefined;
  #onFail: ((err: Error) => void) | undefined;
  #compressedMessage = false;
  readonly opened: Promise<void>;
  /** TCP payload bytes received so far (handshake and frames). */
  bytesReceived = 0;
  /** Messages that arrived compressed. */
  compressedReceived = 0;

  constructor(options: RawWsClientOptions) {
    this.#options = options;
    this.opened = new Promise<void>((resolve, reject) => {
      this.#onOpen = resolve;
      this.#onFail = reject;
    });
    // An unobserved rejection must not crash the generator; callers await `opened`.
    this.opened.catch(() => {});
    const socket = connect({
      host: options.host,
      port: options.port,
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    });
    socket.setNoDelay(true);
    this.#socket = socket;
    socket.on('connect', () => {
      const key = randomBytes(16).toString('base64');
      socket.write(
        `GET ${options.path} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
          (options.deflate === true
            ? 'Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n'
            : '') +
          '\r\n',
      );
    });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#fail(new Error('socket closed')));
  }

  /** True once the handshake succeeded and until the socket closed. */
  get isOpen(): boolean {
    return this.#open && !this.#closed;
  }

  /** Sends one text frame. */
  sendText(text: string): void {
    if (!this.isOpen) return;
    const len = Buffer.byteLength(text);
    const head = len < 126 ? 6 : len < 65536 ? 8 : 14;
    const frame = Buffer.allocUnsafe(head + len);
    frame[0] = 0x81;
    if (len < 126) {
      frame[1] = 0x80 | len;
    } else if (len < 65536) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(len, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeUInt32BE(0, 2);
      frame.writeUInt32BE(len, 6);
    }
    // All-zero masking key: the payload goes out as is.
    frame.writeUInt32BE(0, head - 4);
    frame.write(text, head);
    this.#socket.write(frame);
  }

  /** Closes the socket at once (no close handshake: the benchmark does not wait for it). */
  destroy(): void {
    this.#socket.destroy();
  }

  #fail(err: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    if (!this.#open) this.#onFail?.(err);
    this.#options.onClose(1006);
  }

  #control(opcode: number, payload: Buffer): void {
    const frame = Buffer.allocUnsafe(6 + payload.length);
    frame[0] = 0x80 | opcode;
    frame[1] = 0x80 | payload.length;
    frame.writeUInt32BE(0, 2);
    payload.copy(frame, 6);
    this.#socket.write(frame);
  }

  #onData(chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    let buf = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    if (!this.#open) {
      const end = buf.indexOf(HANDSHAKE_END);
      if (end < 0) {
        this.#pending = buf;
        return;
      }
      const status = buf.toString('latin1', 0, Math.min(end, 12));
      if (status !== 'HTTP/1.1 101') {
        this.#pending = EMPTY;
        this.#fail(new Error(`handshake refused: ${buf.toString('latin1', 0, Math.min(end, 40))}`));
        return;
      }
      this.#open = true;
      this.#onOpen?.();
      buf = buf.subarray(end + 4);
    }
    let pos = 0;
    const n = buf.length;
    while (pos + 2 <= n) {
      const b0 = buf[pos]!;
      const b1 = buf[pos + 1]!;
      let len = b1 & 0x7f;
      let head = 2;
      if (len === 126) {
        if (pos + 4 > n) break;
        len = buf.readUInt16BE(pos + 2);
        head = 4;
      } else if (len === 127) {
        if (pos + 10 > n) break;
        len = buf.readUInt32BE(pos + 2) * 2 ** 32 + buf.readUInt32BE(pos + 6);
        head = 10;
      }
      if (pos + head + len > n) break;
      const start = pos + head;
      const end = start + len;
      pos = end;
      const opcode = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      if (opcode === 0x9) {
        this.#control(0xa, buf.subarray(start, end));
      } else if (opcode === 0x8) {
        const code = len >= 2 ? buf.readUInt16BE(start) : 1005;
        this.#closed = true;
        this.#socket.destroy();
        this.#options.onClose(code);
        return;
      } else if (opcode === 0x1 || opcode === 0x2 || opcode === 0x0) {
        // RSV1 on a message's first frame: it is compressed (permessage-deflate).
        if (opcode !== 0x0) this.#compressedMessage = (b0 & 0x40) !== 0;
        if (!fin || this.#fragments.length > 0) {
          this.#fragments.push(Buffer.from(buf.subarray(start, end)));
          if (fin) {
            const whole = Buffer.concat(this.#fragments);
            this.#fragments = [];
            this.#message(whole, 0, whole.length);
          }
        } else {
          this.#message(buf, start, end);
        }
      }
    }
    this.#pending = pos === n ? EMPTY : Buffer.from(buf.subarray(pos));
  }

  #message(buf: Buffer, start: number, end: number): void {
    if (!this.#compressedMessage) {
      this.#options.onFrame(buf, start, end);
      return;
    }
    this.compressedReceived++;
    const plain = inflateRawSync(Buffer.concat([buf.subarray(start, end), DEFLATE_TAIL]), {
      finishFlush: constants.Z_SYNC_FLUSH,
    });
    this.#options.onFrame(plain, 0, plain.length);
  }
}
