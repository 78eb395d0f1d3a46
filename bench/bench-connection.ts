import type { ServerKind } from './generator-protocol.js';
import { RawWsClient } from './raw-ws-client.js';

/** Where a connection reports what it receives; owned by the load generator. */
export interface ConnectionSink {
  /** A benchmark message arrived: its step and send time (µs on the generator's clock). */
  delivery(conn: BenchConnection, step: number, sentUs: number): void;
  /** A publish was acknowledged (Parley). */
  ack(step: number, sentUs: number): void;
  error(conn: BenchConnection, text: string): void;
  closed(conn: BenchConnection, code: number): void;
}

/** How a connection subscribes (Parley only: history size, or a resume point). */
export interface JoinOptions {
  readonly history: number;
  readonly since?: number | undefined;
  readonly epoch?: string | undefined;
}

/** What the `subscribed` frame said (Parley), for history and resume checks. */
export interface Subscribed {
  readonly recovered: boolean;
  readonly epoch: string;
  readonly seqs: readonly number[];
}

/** The marker at the start of every benchmark text: `~b~<step>~<send µs>~`. */
const MARK = Buffer.from('~b~');
const CMID = Buffer.from('"client_msg_id":"b');
const SEQ = Buffer.from('"seq":');
const TILDE = 0x7e;
const UNDERSCORE = 0x5f;

/**
 * One benchmark connection to Parley or Socket.IO over {@link RawWsClient}: joins one room,
 * publishes, and recognises deliveries by looking for the marker in the raw frame — no
 * JSON.parse on the hot path (only setup frames are parsed).
 */
export class BenchConnection {
  readonly index: number;
  readonly room: string;
  readonly user: string;
  /** Counted in the step's expected and delivered numbers. */
  readonly counted: boolean;
  /** Parses `seq` of each delivery (resumers only: it costs). */
  readonly trackSeq: boolean;
  lastSeq = 0;
  epoch = '';
  ready = false;
  readonly #server: ServerKind;
  readonly #sink: ConnectionSink;
  readonly #ws: RawWsClient;
  readonly #token: string;
  readonly #join: JoinOptions;
  #resolve: ((s: Subscribed | undefined) => void) | undefined;
  #reject: ((e: Error) => void) | undefined;
  /** Resolves once subscribed (Parley) / joined (Socket.IO). */
  readonly joined: Promise<Subscribed | undefined>;

  constructor(o: {
    readonly server: ServerKind;
    readonly port: number;
    readonly index: number;
    readonly room: string;
    readonly user: string;
    readonly token: string;
    readonly localAddress: string | undefined;
    readonly counted: boolean;
    readonly trackSeq: boolean;
    readonly join: JoinOptions;
    readonly sink: ConnectionSink;
    readonly deflate?: boolean;
  }) {
    this.index = o.index;
    this.room = o.room;
    this.user = o.user;
    this.counted = o.counted;
    this.trackSeq = o.trackSeq;
    this.#server = o.server;
    this.#sink = o.sink;
    this.#token = o.token;
    this.#join = o.join;
    this.joined = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.joined.catch(() => {});
    this.#ws = new RawWsClient({
      host: '127.0.0.1',
      port: o.port,
      path:
        o.server === 'parley'
          ? '/ws'
          : o.server === 'parley-pusher'
            ? '/app/bench-key?protocol=7&client=js&version=8.6.0'
            : '/socket.io/?EIO=4&transport=websocket',
      localAddress: o.localAddress,
      deflate: o.deflate === true,
      onFrame:
        o.server === 'parley'
          ? (b, s, e) => this.#parley(b, s, e)
          : o.server === 'parley-pusher'
            ? (b, s, e) => this.#pusher(b, s, e)
            : (b, s, e) => this.#socketio(b, s, e),
      onClose: (code) => {
        const wasReady = this.ready;
        this.ready = false;
        this.#reject?.(new Error(`closed (${code}) before joining`));
        if (wasReady) this.#sink.closed(this, code);
      },
    });
    this.#ws.opened.then(
      () => {
        if (o.server === 'parley') this.#ws.sendText(JSON.stringify({ type: 'auth', token: this.#token }));
      },
      (err: Error) => this.#reject?.(err),
    );
  }

  /** False for a Pusher subscriber: Pusher clients publish no stored messages. */
  get canPublish(): boolean {
    return this.#server !== 'parley-pusher';
  }

  get isOpen(): boolean {
    return this.#ws.isOpen;
  }

  /** TCP payload bytes received so far. */
  get bytesReceived(): number {
    return this.#ws.bytesReceived;
  }

  /** Publishes one benchmark message to this connection's room. */
  publish(step: number, sentUs: number, n: number, padding: string): void {
    const text = `~b~${step}~${sentUs}~${padding}`;
    if (this.#server === 'parley') {
      this.#ws.sendText(
        `{"type":"publish","channel":"${this.room}","text":"${text}","client_msg_id":"b${step}_${sentUs}_${n}"}`,
      );
    } else {
      this.#ws.sendText(`42["pub","${this.room}","${text}"]`);
    }
  }

  destroy(): void {
    this.#ws.destroy();
  }

  #joinedNow(s: Subscribed | undefined): void {
    this.ready = true;
    this.#resolve?.(s);
    this.#resolve = undefined;
    this.#reject = undefined;
  }

  #parley(buf: Buffer, s: number, e: number): void {
    // Every server frame starts with `{"type":"`; the 10th byte tells the type apart.
    const c = buf[s + 9];
    if (c === 0x6d && buf[s + 11] === 0x73) {
      // "message"
      this.#delivery(buf, s, e);
      return;
    }
    if (c === 0x61) {
      // "ack": client_msg_id is `b<step>_<µs>_<n>`
      const i = buf.indexOf(CMID, s);
      if (i < 0 || i >= e) return;
      let p = i + CMID.length;
      let step = 0;
      for (; buf[p] !== UNDERSCORE && p < e; p++) step = step * 10 + buf[p]! - 48;
      let t = 0;
      for (p++; buf[p] !== UNDERSCORE && p < e; p++) t = t * 10 + buf[p]! - 48;
      this.#sink.ack(step, t);
      return;
    }
    if (this.ready) {
      if (c === 0x65) this.#sink.error(this, buf.toString('utf8', s, Math.min(e, s + 200)));
      return;
    }
    const frame = JSON.parse(buf.toString('utf8', s, e)) as {
      type: string;
      code?: string;
      message?: string;
      epoch?: string;
      recovered?: boolean;
      messages?: { seq: number }[];
    };
    if (frame.type === 'welcome') {
      this.#ws.sendText(
        JSON.stringify({
          type: 'subscribe',
          channel: this.room,
          history: this.#join.history,
          ...(this.#join.since === undefined ? {} : { since: this.#join.since, epoch: this.#join.epoch }),
        }),
      );
    } else if (frame.type === 'subscribed') {
      const seqs = (frame.messages ?? []).map((m) => m.seq);
      this.epoch = frame.epoch ?? '';
      this.lastSeq = Math.max(this.lastSeq, seqs.at(-1) ?? 0);
      this.#joinedNow({ recovered: frame.recovered === true, epoch: this.epoch, seqs });
    } else if (frame.type === 'error') {
      this.#reject?.(new Error(`${frame.code}: ${frame.message}`));
      this.#ws.destroy();
    }
  }

  // A Pusher subscriber: subscribes to its room (a public channel) once connected; deliveries
  // are found by their marker, like Parley's.
  #pusher(buf: Buffer, s: number, e: number): void {
    if (this.ready) {
      if (buf.indexOf(MARK, s) >= 0) this.#delivery(buf, s, e);
      else if (buf.toString('latin1', s, Math.min(e, s + 22)) === '{"event":"pusher:ping"') {
        this.#ws.sendText('{"event":"pusher:pong","data":{}}');
      }
      return;
    }
    const frame = JSON.parse(buf.toString('utf8', s, e)) as { event: string; data?: unknown };
    if (frame.event === 'pusher:connection_established') {
      this.#ws.sendText(JSON.stringify({ event: 'pusher:subscribe', data: { channel: this.room } }));
    } else if (frame.event === 'pusher_internal:subscription_succeeded') {
      this.#joinedNow(undefined);
    } else if (frame.event === 'pusher:error' || frame.event === 'pusher:subscription_error') {
      this.#reject?.(new Error(`pusher: ${JSON.stringify(frame.data)}`));
      this.#ws.destroy();
    }
  }

  #socketio(buf: Buffer, s: number, e: number): void {
    const c0 = buf[s];
    if (c0 === 0x34 && buf[s + 1] === 0x32) {
      // 42: an event. `msg` carries the marker; `joined` ends the setup.
      if (buf[s + 4] === 0x6d) this.#delivery(buf, s, e);
      else if (!this.ready && buf.toString('latin1', s, s + 11) === '42["joined"') this.#joinedNow(undefined);
      return;
    }
    if (c0 === 0x32 && e - s === 1) {
      this.#ws.sendText('3'); // Engine.IO ping → pong
      return;
    }
    if (c0 === 0x30) {
      // Engine.IO open → Socket.IO CONNECT to the main namespace, with the room in the auth.
      this.#ws.sendText(`40${JSON.stringify({ room: this.room, user: this.user })}`);
      return;
    }
    if (c0 === 0x34 && buf[s + 1] === 0x34) {
      const text = buf.toString('utf8', s, Math.min(e, s + 200));
      if (this.ready) this.#sink.error(this, text);
      else this.#reject?.(new Error(`connect refused: ${text}`));
    }
  }

  #delivery(buf: Buffer, s: number, e: number): void {
    const i = buf.indexOf(MARK, s);
    if (i < 0 || i >= e) return;
    let p = i + 3;
    let step = 0;
    for (; buf[p] !== TILDE && p < e; p++) step = step * 10 + buf[p]! - 48;
    let t = 0;
    for (p++; buf[p] !== TILDE && p < e; p++) t = t * 10 + buf[p]! - 48;
    if (this.trackSeq) {
      const j = buf.indexOf(SEQ, s);
      if (j >= 0 && j < e) {
        let seq = 0;
        for (let q = j + SEQ.length; buf[q]! >= 48 && buf[q]! <= 57; q++) seq = seq * 10 + buf[q]! - 48;
        if (seq > this.lastSeq) this.lastSeq = seq;
      }
    }
    this.#sink.delivery(this, step, t);
  }
}
