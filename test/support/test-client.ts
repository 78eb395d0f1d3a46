import { once } from 'node:events';
import WebSocket from 'ws';
import type { ServerFrame } from '../../src/protocol/frames.js';

type Frame = ServerFrame & Record<string, unknown>;

/** A raw protocol client for tests: records every frame and waits for the ones asked for. */
export class TestClient {
  readonly ws: WebSocket;
  readonly frames: Frame[] = [];
  /** Resolves with the close code once the socket closes. */
  readonly closed: Promise<number>;
  #waiters: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void; from: number }[] = [];
  #ref = 0;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      this.frames.push(frame);
      const index = this.frames.length - 1;
      this.#waiters = this.#waiters.filter((w) => {
        if (index >= w.from && w.pred(frame)) {
          w.resolve(frame);
          return false;
        }
        return true;
      });
    });
  }

  /** Opens a socket (no auth). */
  static async open(url: string, headers?: Record<string, string>): Promise<TestClient> {
    const ws = new WebSocket(url, headers === undefined ? undefined : { headers });
    const client = new TestClient(ws);
    await once(ws, 'open', { signal: AbortSignal.timeout(5000) });
    return client;
  }

  /**
   * Opens a socket to a test server as user `id` (username: `id` in capitals), authenticated,
   * and adds it to `clients` (for closing after the tests).
   */
  static async as(
    server: { readonly url: string; token(userId: string, username: string): Promise<string> },
    id: string,
    clients: TestClient[],
  ): Promise<TestClient> {
    const client = await TestClient.authed(server.url, await server.token(id, id.toUpperCase()));
    clients.push(client);
    return client;
  }

  /** Opens a socket and authenticates with `token`; resolves after `welcome`. */
  static async authed(url: string, token: string): Promise<TestClient> {
    const client = await TestClient.open(url);
    client.send({ type: 'auth', token });
    const reply = await client.next((f) => f.type === 'welcome' || f.type === 'error');
    if (reply.type !== 'welcome') throw new Error(`auth failed: ${JSON.stringify(reply)}`);
    return client;
  }

  /** Sends a frame (an object is JSON-encoded; a string or Buffer goes as is). */
  send(frame: object | string | Buffer): void {
    this.ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
  }

  /** Sends a request with a fresh ref and waits for the reply (or error) carrying it. */
  async request(frame: Record<string, unknown>, timeoutMs = 5000): Promise<Frame> {
    const ref = `r${++this.#ref}`;
    const reply = this.next((f) => f.ref === ref, timeoutMs);
    this.send({ ...frame, ref });
    return reply;
  }

  /** The first frame (already received, or coming) that matches; from index `from` on. */
  next(pred: (f: Frame) => boolean, timeoutMs = 5000, from = 0): Promise<Frame> {
    const found = this.frames.slice(from).find(pred);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timed out waiting for a frame; got ${JSON.stringify(this.frames.slice(-5))}`));
      }, timeoutMs);
      const done = (f: Frame) => {
        clearTimeout(timer);
        resolve(f);
      };
      this.#waiters.push({ pred, resolve: done, from });
    });
  }

  /** Waits until `count` frames match `pred`; returns them. */
  async collect(pred: (f: Frame) => boolean, count: number, timeoutMs = 10_000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = this.frames.filter(pred);
      if (got.length >= count) return got.slice(0, count);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`got ${got.length} of ${count} frames`);
      await this.next(pred, remaining, this.frames.length).catch(() => undefined);
    }
  }

  /** Messages received live in a channel, in arrival order. */
  messages(channel: string): Frame[] {
    return this.frames.filter((f) => f.type === 'message' && f.channel === channel);
  }

  close(): void {
    this.ws.close();
  }
}
