import type { Socket } from 'node:net';
import type { RawData, WebSocket } from 'ws';
import { AfterPoll } from './after-poll.js';
import { deflateFrame, type OutFrame, textFrame } from './text-frame.js';

const OPEN = 1;
// What a queued frame costs besides its bytes, counted against the send budget: Node's entry
// for the write (a corked write, or one queued behind a write the kernel has not taken) and
// libuv's buffer descriptor, ~60 bytes as measured (bench/hostile-memory.ts). Uncounted, a
// backlog of small frames (typing events, acks) would hold a quarter to half again its bytes.
const WRITE_COST_BYTES = 64;
const OWNER = Symbol('parley socket');
type Owned = WebSocket & { [OWNER]?: WsSocket };
// Everything written to one socket in a loop turn leaves in one write: the socket is corked at
// the turn's first send and uncorked, with every other socket corked in that turn, once the
// turn's I/O callbacks have run.
const afterPoll = new AfterPoll();

/** What a wire's session hears from its socket. */
export interface SocketListener {
  /** A complete message from the peer (already inflated, within the payload cap). */
  message(data: RawData, isBinary: boolean): void;
  /** The socket closed (for whatever reason, once). */
  closed(): void;
  /** What earlier loop turns left unsent passed the send-queue limit; the socket stays open. */
  overflow(): void;
}

/** How a WsSocket writes. */
export interface WsSocketOptions {
  /** Unsent bytes (what earlier loop turns left) beyond which `overflow` is reported. */
  readonly sendQueueMaxBytes: number;
  /**
   * Smallest payload sent compressed, when the peer negotiated permessage-deflate with a full
   * server window; undefined = plain frames only.
   */
  readonly compressMinBytes: number | undefined;
}

/**
 * One WebSocket's bytes out: pre-framed messages written straight to its TCP socket, corked per
 * loop turn, the send-queue bound judged at each turn's first write, the shared compressed bytes for
 * a peer that negotiated them. And the few things in: messages, pongs, the close. Uses only
 * ws's public API; the TCP socket is the one the gateway upgraded.
 */
export class WsSocket {
  readonly #ws: WebSocket;
  // Frames are written to the net.Socket ws reads from (ws exposes no cork of its own, and
  // frames its own sends per socket); ws writes only its control frames there. Never call
  // ws.send on it: ws would compress and queue that message on its own, out of order with these.
  readonly #socket: Socket;
  readonly #sendQueueMaxBytes: number;
  readonly #compressMin: number | undefined;
  #listener: SocketListener | undefined;
  #corked = false;
  /** This turn's charge against the send budget: the backlog at its start, plus own replies. */
  #charged = 0;
  /** Frames written and not yet handed to the kernel. */
  #unflushed = 0;
  // Called as each frame leaves for the kernel; made at the first write (one per socket).
  #flushed: (() => void) | undefined;
  #closing = false;
  /** False once a ping went unanswered. */
  #alive = true;

  constructor(ws: WebSocket, socket: Socket, options: WsSocketOptions) {
    this.#ws = ws;
    this.#socket = socket;
    this.#sendQueueMaxBytes = options.sendQueueMaxBytes;
    this.#compressMin = options.compressMinBytes;
    // Listeners shared by every socket, which finds its WsSocket through OWNER, instead of
    // four closures (and their context) held by every idle connection.
    (ws as Owned)[OWNER] = this;
    ws.on('message', WsSocket.#socketMessage);
    ws.on('close', WsSocket.#socketClose);
    ws.on('error', WsSocket.#socketError);
    ws.on('pong', WsSocket.#socketPong);
  }

  // `function`s: the emitter calls a listener with `this` = the socket.
  static readonly #socketMessage = function (this: WebSocket, data: RawData, isBinary: boolean): void {
    const socket = (this as Owned)[OWNER];
    if (socket !== undefined) socket.#listener?.message(data, isBinary);
  };

  static readonly #socketClose = function (this: WebSocket): void {
    const socket = (this as Owned)[OWNER];
    if (socket !== undefined) socket.#listener?.closed();
  };

  // Socket errors are followed by a close; the close is what a session acts on.
  static readonly #socketError = function (this: WebSocket): void {};

  static readonly #socketPong = function (this: WebSocket): void {
    const socket = (this as Owned)[OWNER];
    if (socket !== undefined) socket.#alive = true;
  };

  // Shared by every socket (with the socket as its argument), not a closure each.
  static readonly #uncork = (s: WsSocket): void => {
    s.#corked = false;
    s.#socket.uncork();
  };

  /** Sets the one listener (the wire's session). */
  listen(listener: SocketListener): void {
    this.#listener = listener;
  }

  /** Writes a broadcast frame: the same OutFrame, plain or compressed, for every recipient. */
  send(frame: OutFrame): void {
    this.#write(this.#compressMin === undefined ? frame.plain : frame.deflated(this.#compressMin), false);
  }

  /** Frames and writes one message of this socket's own (a reply). */
  sendText(json: string): void {
    const plain = textFrame(json);
    this.#write(this.#compressMin === undefined ? plain : deflateFrame(plain, this.#compressMin), true);
  }

  // The send budget (docs/operations.md, "Memory under hostile clients"): at a turn's first
  // send, what earlier loop turns left unsent, each frame's bytes plus WRITE_COST_BYTES, must be at
  // most sendQueueMaxBytes, or the socket is reported over budget and takes nothing more.
  // Within a turn, broadcast frames pile up by design (bounded by a commit batch, and the same
  // bytes are shared by every socket, not copied). The socket's own replies, which nothing
  // shares, are charged on top of that backlog and start only while it is within the budget:
  // a peer that pipelines history requests and never reads holds at most the budget plus one
  // reply.
  #write(frame: Buffer, own: boolean): void {
    if (this.#closing) return;
    const socket = this.#socket;
    if (!this.#corked) {
      const backlog = socket.writableLength + this.#unflushed * WRITE_COST_BYTES;
      if (backlog > this.#sendQueueMaxBytes) {
        this.#listener?.overflow();
        return;
      }
      this.#charged = backlog;
      this.#corked = true;
      socket.cork();
      afterPoll.push(WsSocket.#uncork, this);
    }
    if (own) {
      if (this.#charged > this.#sendQueueMaxBytes) {
        this.#listener?.overflow();
        return;
      }
      this.#charged += frame.length + WRITE_COST_BYTES;
    }
    // A closing socket takes no more data frames (ws.send would refuse them too).
    if (this.#ws.readyState !== OPEN) return;
    this.#flushed ??= () => {
      this.#unflushed--;
    };
    this.#unflushed++;
    socket.write(frame, this.#flushed);
  }

  /** Sends a close frame; cuts the socket if it has not closed 2 s later (a full send buffer). */
  close(code: number, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#ws.close(code, closeReason(reason));
    const kill = setTimeout(() => this.#ws.terminate(), 2000);
    kill.unref();
    this.#ws.once('close', () => clearTimeout(kill));
  }

  /** Calls `fn` once the socket is fully closed. */
  onClosed(fn: () => void): void {
    if (this.#ws.readyState === this.#ws.CLOSED) fn();
    else this.#ws.once('close', fn);
  }

  /** Pings the peer; false when the previous ping went unanswered. */
  ping(): boolean {
    if (!this.#alive) return false;
    this.#alive = false;
    this.#ws.ping();
    return true;
  }

  /** Counts as a sign of life (a wire whose peer pings at the application level). */
  markAlive(): void {
    this.#alive = true;
  }
}

// A close frame's reason is at most 123 bytes (RFC 6455 §5.5); ws throws on a longer one (a
// ban reason of 100 accented characters is ~200). Cut it on a character boundary.
function closeReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let cut = '';
  for (const ch of reason) {
    if (Buffer.byteLength(cut + ch) > 123) break;
    cut += ch;
  }
  return cut;
}
