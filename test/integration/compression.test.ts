import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket, { type PerMessageDeflateOptions } from 'ws';
import { startTestServer, type TestServer } from '../support/start-server.js';

type Frame = Record<string, unknown> & { type: string };

/** A client that counts the bytes its socket reads, to see what came compressed. */
class CountingClient {
  readonly ws: WebSocket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<number>;
  #socket: Socket | undefined;
  #ref = 0;

  constructor(url: string, deflate: boolean | PerMessageDeflateOptions) {
    this.ws = new WebSocket(url, {
      perMessageDeflate: deflate,
      createConnection: ((options: NetConnectOpts) => {
        this.#socket = connect(options);
        return this.#socket;
      }) as typeof connect,
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code) => resolve(code)));
    this.ws.on('message', (data) => this.frames.push(JSON.parse(data.toString()) as Frame));
  }

  get bytesRead(): number {
    return this.#socket?.bytesRead ?? 0;
  }

  get bytesWritten(): number {
    return this.#socket?.bytesWritten ?? 0;
  }

  async next(pred: (f: Frame) => boolean, from = 0): Promise<Frame> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const found = this.frames.slice(from).find(pred);
      if (found !== undefined) return found;
      if (Date.now() > deadline)
        throw new Error(`no such frame; got ${JSON.stringify(this.frames).slice(-300)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async request(frame: Record<string, unknown>): Promise<Frame> {
    const ref = `r${++this.#ref}`;
    const from = this.frames.length;
    this.ws.send(JSON.stringify({ ...frame, ref }));
    return this.next((f) => f.ref === ref, from);
  }
}

describe('WebSocket compression (PARLEY_COMPRESSION=on)', () => {
  let server: TestServer;
  const clients: CountingClient[] = [];
  const open = async (id: string, deflate: boolean | PerMessageDeflateOptions) => {
    const c = new CountingClient(server.url, deflate);
    clients.push(c);
    await once(c.ws, 'open', { signal: AbortSignal.timeout(5000) });
    assert.equal((await c.request({ type: 'auth', token: await server.token(id, id) })).type, 'welcome');
    assert.equal((await c.request({ type: 'subscribe', channel: 'general', history: 0 })).type, 'subscribed');
    return c;
  };
  // ~3,000 bytes that deflate to a few hundred.
  const longText = (n: number) =>
    `message ${n}: ${'a chat message that says the same thing twice. '.repeat(60)}`;

  before(async () => {
    server = await startTestServer({
      env: { PARLEY_COMPRESSION: 'on', PARLEY_COMPRESSION_MIN_BYTES: '512' },
      limits: { maxPayloadBytes: 16 * 1024 },
    });
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await server.close();
  });

  it('sends a long broadcast compressed to clients that asked, plain to the others, the same text to all', async () => {
    const deflating = [await open('z1', true), await open('z2', true)];
    const plain = await open('p1', false);
    // A client that limits the server's window gets plain frames (one shared compression
    // uses the full window); one that asks for the full window explicitly gets them compressed.
    const smallWindow = await open('w1', { serverMaxWindowBits: 10 });
    const fullWindow = await open('w2', { serverMaxWindowBits: 15 });
    assert.equal(deflating[0]?.ws.extensions, 'permessage-deflate');
    assert.equal(plain.ws.extensions, '');
    assert.equal(smallWindow.ws.extensions, 'permessage-deflate');

    const everyone = [...deflating, plain, smallWindow, fullWindow];
    const before = everyone.map((c) => c.bytesRead);
    const starts = everyone.map((c) => c.frames.length);
    const text = longText(1);
    // The publisher's own frame goes out compressed too (ws compresses above 1 KiB): the
    // server inflates it.
    const ack = await deflating[0]?.request({
      type: 'publish',
      channel: 'general',
      text,
      client_msg_id: 'c1',
    });
    assert.equal(ack?.type, 'ack');
    const got = await Promise.all(
      everyone.map((c, i) => c.next((f) => f.type === 'message' && f.client_msg_id === 'c1', starts[i])),
    );
    for (const m of got) assert.equal(m.text, text);
    const read = everyone.map((c, i) => c.bytesRead - (before[i] ?? 0));
    const [z1, z2, p1, w1, w2] = read as [number, number, number, number, number];
    assert.ok(z2 < text.length / 4, `a compressed delivery read ${z2} bytes for ${text.length} characters`);
    assert.ok(w2 < text.length / 4, `with server_max_window_bits=15: ${w2} bytes`);
    assert.ok(z1 < text.length / 3, `message and ack read ${z1} bytes`);
    assert.ok(p1 > text.length && w1 > text.length, `plain deliveries read ${p1} and ${w1} bytes`);
  });

  it('compresses replies too: a history page of long messages', async () => {
    const c = await open('h1', true);
    const texts = [2, 3, 4, 5].map(longText);
    for (const [i, text] of texts.entries())
      assert.equal(
        (await c.request({ type: 'publish', channel: 'general', text, client_msg_id: `h${i}` })).type,
        'ack',
      );
    const before = c.bytesRead;
    const page = await c.request({ type: 'history', channel: 'general', limit: 4 });
    const messages = page.messages as { text: string }[];
    assert.deepEqual(
      messages.map((m) => m.text),
      texts,
    );
    const read = c.bytesRead - before;
    assert.ok(
      read < texts.join('').length / 4,
      `a page of ${texts.join('').length} characters read as ${read} bytes`,
    );
  });

  it('closes with 1009 a message that inflates beyond PARLEY_MAX_PAYLOAD_BYTES; others carry on, nothing stored is lost', async () => {
    const bomb = await open('bomb', true);
    const witness = await open('witness', true);
    const last = await witness.request({ type: 'history', channel: 'general', limit: 1 });
    // 100 KB of one letter deflates to about 100 bytes: small on the wire, too big inflated.
    bomb.ws.send(
      JSON.stringify({ type: 'publish', channel: 'general', text: 'x'.repeat(100_000), client_msg_id: 'b' }),
    );
    assert.equal(await bomb.closed, 1009);
    const page = await witness.request({ type: 'history', channel: 'general', limit: 1 });
    assert.deepEqual(page.messages, last.messages);
    assert.equal((await witness.request({ type: 'ping' })).type, 'pong');
  });
});

describe('WebSocket compression: offers the server cannot accept', () => {
  it('connects a client whose extension offer is malformed or unacceptable, without compression', async () => {
    const server = await startTestServer({ env: { PARLEY_COMPRESSION: 'on' } });
    try {
      for (const offer of [
        'permessage-deflate; foo',
        'permessage-deflate, permessage-deflate; server_max_window_bits=16',
        'permessage-deflate;;',
      ]) {
        // ws's client would refuse to send these: a raw handshake, as a browser-like peer could.
        const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
        await once(socket, 'connect');
        socket.write(
          'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
            `Sec-WebSocket-Extensions: ${offer}\r\n\r\n`,
        );
        const [head] = (await once(socket, 'data', { signal: AbortSignal.timeout(5000) })) as [Buffer];
        const response = head.toString('latin1');
        assert.match(response, /^HTTP\/1\.1 101 /, `${offer}: ${response.split('\r\n')[0]}`);
        assert.doesNotMatch(response, /Sec-WebSocket-Extensions/i, offer);
        socket.destroy();
      }
      // A well-formed offer is still accepted by the same server.
      const ws = new WebSocket(server.url, { perMessageDeflate: true });
      await once(ws, 'open', { signal: AbortSignal.timeout(5000) });
      assert.equal(ws.extensions, 'permessage-deflate');
      ws.terminate();
    } finally {
      await server.close();
    }
  });
});

describe('WebSocket compression is off by default', () => {
  it('negotiates no extension, so every frame is plain', async () => {
    const server = await startTestServer();
    try {
      const ws = new WebSocket(server.url, { perMessageDeflate: true });
      await once(ws, 'open', { signal: AbortSignal.timeout(5000) });
      assert.equal(ws.extensions, '');
      ws.terminate();
    } finally {
      await server.close();
    }
  });
});
