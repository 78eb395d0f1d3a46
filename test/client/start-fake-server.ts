import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import type { ClientFrame, Message, ServerFrame, WelcomeFrame } from '../../src/protocol/frames.js';

/** How long a test waits for the client to do something before failing. */
export const WAIT_MS = 2000;

/**
 * One client connection to the fake server, driven by the test: frames from the client are
 * queued and read in order with `next`; `ping` is answered by itself so liveness checks never
 * get in the way.
 */
export class FakeConnection {
  readonly socket: WebSocket;
  readonly #frames: ClientFrame[] = [];
  readonly #events = new EventEmitter();

  constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ClientFrame;
      if (frame.type === 'ping') {
        this.send({ type: 'pong', ts: Date.now(), ...(frame.ref === undefined ? {} : { ref: frame.ref }) });
        return;
      }
      this.#frames.push(frame);
      this.#events.emit('frame');
    });
  }

  /** The next frame from the client, which must be of `type`. */
  async next<T extends ClientFrame['type']>(
    type: T,
    timeoutMs = WAIT_MS,
  ): Promise<Extract<ClientFrame, { type: T }>> {
    const signal = AbortSignal.timeout(timeoutMs);
    while (this.#frames.length === 0) await once(this.#events, 'frame', { signal });
    const frame = this.#frames.shift();
    assert.equal(frame?.type, type, `expected a ${type} frame, got ${JSON.stringify(frame)}`);
    return frame as Extract<ClientFrame, { type: T }>;
  }

  /** Sends `frame` to the client. */
  send(frame: ServerFrame): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** Closes the connection with `code`. */
  close(code: number, reason = ''): void {
    this.socket.close(code, reason);
  }

  /** Reads the `auth` frame and answers `welcome`; returns the auth frame. */
  async accept(overrides: Partial<WelcomeFrame> = {}): Promise<Extract<ClientFrame, { type: 'auth' }>> {
    const auth = await this.next('auth');
    this.send({
      type: 'welcome',
      ...(auth.ref === undefined ? {} : { ref: auth.ref }),
      user: { id: 'u1', username: 'ann' },
      session_id: 's1',
      heartbeat_ms: 25_000,
      expires_at: Date.now() + 3_600_000,
      limits: { max_message_chars: 4000, max_payload_bytes: 65536, history_page_max: 100 },
      ...overrides,
    });
    return auth;
  }
}

/** A scripted stand-in for a Parley server on 127.0.0.1, built on the real `ws` server. */
export interface FakeServer {
  /** `ws://127.0.0.1:PORT/ws`. */
  readonly url: string;
  /** Every connection so far, oldest first. */
  readonly connections: readonly FakeConnection[];
  /** The next connection not yet taken by a test (waits for it). */
  nextConnection(timeoutMs?: number): Promise<FakeConnection>;
  close(): Promise<void>;
}

/** Starts a fake server on an ephemeral port. */
export async function startFakeServer(): Promise<FakeServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' });
  await once(wss, 'listening');
  const connections: FakeConnection[] = [];
  const events = new EventEmitter();
  let taken = 0;
  wss.on('connection', (socket) => {
    connections.push(new FakeConnection(socket));
    events.emit('connection');
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    connections,
    async nextConnection(timeoutMs = WAIT_MS) {
      const signal = AbortSignal.timeout(timeoutMs);
      while (connections.length <= taken) await once(events, 'connection', { signal });
      const connection = connections[taken];
      taken += 1;
      assert.ok(connection);
      return connection;
    },
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/** A stored message of `channel` at `seq`. */
export function message(channel: string, seq: number, text = `m${seq}`): Message {
  return {
    id: `${channel}-${seq}`,
    channel,
    seq,
    user_id: 'u2',
    username: 'bob',
    text,
    ts: 1_700_000_000_000 + seq,
    client_msg_id: null,
  };
}
