import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type WebSocket from 'ws';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { loadConfig } from '../../src/server/config.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';

// Issue #14: what hostile clients can make the server hold is bounded (docs/operations.md,
// "Memory under hostile clients"); bench/hostile-memory.ts measures it.

const NO_RATE_LIMITS = {
  publishPerSecond: 100_000,
  publishBurst: 100_000,
  framesPerSecond: 100_000,
  framesBurst: 100_000,
};

/** A raw TCP connection to the server, recording what it receives, closed after the test. */
class RawConnection {
  readonly socket: Socket;
  received = '';
  readonly closed: Promise<void>;

  constructor(port: number, localAddress = '127.0.0.1') {
    this.socket = connect({ host: '127.0.0.1', port, localAddress });
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => {
      this.received += d;
    });
    // A reset from the server is one way of being closed ('close' follows the error).
    this.socket.on('error', () => {});
    this.closed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the server did not close the connection')), 10_000);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async connected(): Promise<this> {
    await once(this.socket, 'connect', { signal: AbortSignal.timeout(5000) });
    return this;
  }
}

/** What the server answers a GET of `path` on a fresh connection ("" if closed unanswered). */
async function get(port: number, path: string, localAddress?: string): Promise<string> {
  const conn = await new RawConnection(port, localAddress).connected();
  conn.socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  await conn.closed;
  return conn.received;
}

function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return once(ws, 'close', { signal: AbortSignal.timeout(20_000) }).then(([code, reason]) => ({
    code: code as number,
    reason: String(reason),
  }));
}

describe('non-reading WebSocket clients', () => {
  let server: TestServer;
  const clients: TestClient[] = [];
  before(async () => {
    server = await startTestServer({ limits: { sendQueueMaxBytes: 64 * 1024, ...NO_RATE_LIMITS } });
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await server.close();
  });

  it('closes a subscriber that stops reading with 4001 "slow consumer" once over its send budget, while the others get every message', async () => {
    const slow = await TestClient.as(server, 'slow', clients);
    const fast = await TestClient.as(server, 'fast', clients);
    const publisher = await TestClient.as(server, 'publisher', clients);
    await slow.request({ type: 'subscribe', channel: 'general', history: 0 });
    await fast.request({ type: 'subscribe', channel: 'general', history: 0 });
    const slowClosed = closeOf(slow.ws);
    // Stop reading (ws pauses its TCP socket): the kernel's buffers fill first, then the
    // server's send queue for this socket.
    slow.ws.pause();
    const text = 'y'.repeat(3500);
    let published = 0;
    // Bounded: 40 batches of 100 messages of 3.5 KB (14 MB) are far more than the kernel's
    // buffers and the 64-KiB budget; it stops as soon as the server has cut the slow socket.
    for (let batch = 0; batch < 40 && server.server.chat.sessionCount === 3; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          publisher.request(
            { type: 'publish', channel: 'general', text, client_msg_id: `b${batch}-${i}` },
            20_000,
          ),
        ),
      );
      published += 100;
    }
    await until(() => server.server.chat.sessionCount === 2, 'the server to drop the slow subscriber');
    slow.ws.resume();
    assert.deepEqual(await slowClosed, { code: CloseCode.SlowConsumer, reason: 'slow consumer' });

    // The fast subscriber got every message, in order, and still gets new ones.
    const last = await publisher.request({
      type: 'publish',
      channel: 'general',
      text: 'after',
      client_msg_id: 'after',
    });
    const lastSeq = last.seq as number;
    await fast.next((f) => f.type === 'message' && f.seq === lastSeq, 20_000);
    const seqs = fast.frames.filter((f) => f.type === 'message').map((f) => f.seq as number);
    assert.equal(seqs.length, published + 1);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => (seqs[0] as number) + i),
    );
  });

  it('closes a client with 4001 that pipelines history requests and never reads the replies', async () => {
    const writer = await TestClient.as(server, 'writer', clients);
    const long = 'z'.repeat(3900);
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        writer.request({ type: 'publish', channel: 'general', text: long, client_msg_id: `p${i}` }),
      ),
    );
    const reader = await TestClient.as(server, 'reader', clients);
    const closed = closeOf(reader.ws);
    const before = server.server.chat.sessionCount;
    reader.ws.pause();
    // Each reply is ~200 KB; 100 of them are 20 MB the server must not hold.
    for (let i = 0; i < 100; i++)
      reader.send({ type: 'history', channel: 'general', limit: 50, ref: `h${i}` });
    await until(() => server.server.chat.sessionCount === before - 1, 'the server to drop the reader');
    reader.ws.resume();
    assert.equal((await closed).code, CloseCode.SlowConsumer);
    // The writer is unaffected.
    assert.equal((await writer.request({ type: 'ping' })).type, 'pong');
  });
});

describe('half-open connections and slow requests', () => {
  let server: TestServer;
  const raw: RawConnection[] = [];
  before(async () => {
    server = await startTestServer({
      limits: { httpHeadersTimeoutMs: 300, httpRequestTimeoutMs: 600, httpConnectionsPerIp: 4 },
    });
  });
  after(async () => {
    for (const r of raw) r.socket.destroy();
    await server.close();
  });

  async function open(localAddress?: string): Promise<RawConnection> {
    const conn = new RawConnection(server.port, localAddress);
    raw.push(conn);
    return conn.connected();
  }

  it('answers 408 and closes a connection that sends half a WebSocket handshake and sits', async () => {
    const conn = await open();
    conn.socket.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\n`);
    await conn.closed;
    assert.match(conn.received, /^HTTP\/1\.1 408 /);
  });

  it('answers 408 and closes a connection that sends nothing', async () => {
    const conn = await open();
    await conn.closed;
    assert.match(conn.received, /^HTTP\/1\.1 408 /);
  });

  it('answers 408 and closes a request whose headers come a byte at a time', async () => {
    const conn = await open();
    conn.socket.write('GET /healthz HTTP/1.1\r\nX-Slow: ');
    // Bounded: at most 200 bytes, one every 20 ms, until the server closes.
    const drip = setInterval(() => {
      if (conn.socket.writable && conn.received === '') conn.socket.write('a');
    }, 20);
    try {
      await conn.closed;
    } finally {
      clearInterval(drip);
    }
    assert.match(conn.received, /^HTTP\/1\.1 408 /);
  });

  it('cuts a POST whose body comes a byte at a time with 408', async () => {
    const conn = await open();
    conn.socket.write(
      'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"username":"',
    );
    const drip = setInterval(() => {
      if (conn.socket.writable && conn.received === '') conn.socket.write('a');
    }, 20);
    try {
      await conn.closed;
    } finally {
      clearInterval(drip);
    }
    assert.match(conn.received, /^HTTP\/1\.1 408 /);
  });

  it('keeps serving HTTP and WebSocket clients after all of that', async () => {
    assert.match(await get(server.port, '/healthz'), /^HTTP\/1\.1 200 /);
    const client = await TestClient.authed(server.url, await server.token('after', 'after'));
    try {
      const ack = await client.request({
        type: 'publish',
        channel: 'general',
        text: 'still here',
        client_msg_id: 'x',
      });
      assert.equal(ack.type, 'ack');
    } finally {
      client.ws.terminate();
    }
  });
});

describe('HTTP connections per client address', () => {
  let server: TestServer;
  const raw: RawConnection[] = [];
  before(async () => {
    server = await startTestServer({ limits: { httpConnectionsPerIp: 4 } });
  });
  after(async () => {
    for (const r of raw) r.socket.destroy();
    await server.close();
  });

  it('holds at most httpConnectionsPerIp from one address and closes the next unanswered; WebSockets stop counting once upgraded', async () => {
    const sockets = await Promise.all(
      Array.from({ length: 4 }, async (_, i) =>
        TestClient.authed(server.url, await server.token(`ws${i}`, `ws${i}`)),
      ),
    );
    try {
      const idle = await Promise.all(
        Array.from({ length: 4 }, () => {
          const conn = new RawConnection(server.port);
          raw.push(conn);
          return conn.connected();
        }),
      );
      assert.equal(await get(server.port, '/healthz'), '', 'the fifth is closed unanswered');
      // Another address is not affected.
      assert.match(await get(server.port, '/healthz', '127.0.0.2'), /^HTTP\/1\.1 200 /);
      // Once one closes, the address is served again.
      const first = idle[0] as RawConnection;
      first.socket.destroy();
      await first.closed;
      // The server learns of the close a moment after the client: bounded retries.
      await until(
        async () => /^HTTP\/1\.1 200 /.test(await get(server.port, '/healthz')),
        'a connection from the address to be served again',
      );
      // The WebSockets were never counted and still work.
      for (const s of sockets) assert.equal((await s.request({ type: 'ping' })).type, 'pong');
    } finally {
      for (const s of sockets) s.ws.terminate();
    }
  });
});

describe('HTTP limits in the configuration', () => {
  it('refuses a header timeout longer than the request timeout, naming both variables', () => {
    assert.throws(
      () => loadConfig({ PARLEY_JWT_SECRET: 'k'.repeat(32), PARLEY_HTTP_HEADERS_TIMEOUT_MS: '40000' }),
      /PARLEY_HTTP_HEADERS_TIMEOUT_MS must not exceed PARLEY_HTTP_REQUEST_TIMEOUT_MS/,
    );
  });
});
