import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';

describe('bad input gets an error code, and the server and other clients carry on', () => {
  let server: TestServer;
  const clients: TestClient[] = [];
  const connect = async (id: string) => {
    const c = await TestClient.authed(server.url, await server.token(id, id));
    clients.push(c);
    return c;
  };
  const alive = async (c: TestClient) => assert.equal((await c.request({ type: 'ping' })).type, 'pong');

  before(async () => {
    server = await startTestServer({
      limits: {
        maxPayloadBytes: 16 * 1024,
        maxMessageChars: 1000,
        publishPerSecond: 5,
        publishBurst: 5,
        framesPerSecond: 50,
        framesBurst: 50,
      },
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });

  it('answers malformed JSON with invalid_json and keeps the connection', async () => {
    const c = await connect('json');
    c.send('{"type": "publish", "channel": ');
    assert.equal((await c.next((f) => f.type === 'error')).code, 'invalid_json');
    await alive(c);
  });

  it('answers an unknown type with unknown_type and wrong field types with bad_request', async () => {
    const c = await connect('types');
    assert.equal((await c.request({ type: 'teleport' })).code, 'unknown_type');
    const bad = await c.request({
      type: 'publish',
      channel: 'general',
      text: { html: '<b>' },
      client_msg_id: 'x',
    });
    assert.equal(bad.code, 'bad_request');
    assert.match(String(bad.message), /text/);
    await alive(c);
  });

  it('refuses binary frames and a second auth without dropping the connection', async () => {
    const c = await connect('binary');
    c.send(Buffer.from([1, 2, 3]));
    assert.equal((await c.next((f) => f.type === 'error')).code, 'bad_request');
    assert.equal(
      (await c.request({ type: 'auth', token: await server.token('binary', 'b') })).code,
      'bad_request',
    );
    await alive(c);
  });

  it('refuses a message over maxMessageChars with message_too_long and stores nothing', async () => {
    const c = await connect('long');
    await c.request({ type: 'subscribe', channel: 'general' });
    const before = await c.request({ type: 'history', channel: 'general', limit: 1 });
    const r = await c.request({
      type: 'publish',
      channel: 'general',
      text: 'x'.repeat(1001),
      client_msg_id: 'l1',
    });
    assert.equal(r.code, 'message_too_long');
    const afterPage = await c.request({ type: 'history', channel: 'general', limit: 1 });
    assert.deepEqual(afterPage.messages, before.messages);
    await alive(c);
  });

  it('closes a socket that sends a frame over maxPayloadBytes with 1009, leaving others connected', async () => {
    const other = await connect('bystander');
    const c = await connect('huge');
    c.send(
      JSON.stringify({ type: 'publish', channel: 'general', text: 'x'.repeat(20_000), client_msg_id: 'h' }),
    );
    assert.equal(await c.closed, 1009);
    await alive(other);
  });

  it('rate-limits publishes with rate_limited and retry_after_ms, and accepts them again later', async () => {
    const c = await connect('flood');
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        c.request({ type: 'publish', channel: 'general', text: `f${i}`, client_msg_id: `f${i}` }),
      ),
    );
    const limited = replies.filter((r) => r.code === 'rate_limited');
    assert.equal(replies.filter((r) => r.type === 'ack').length, 5);
    assert.equal(limited.length, 5);
    const wait = Number(limited[0]!.retry_after_ms);
    assert.ok(wait > 0 && wait <= 1000);
    await new Promise((r) => setTimeout(r, wait + 50));
    assert.equal(
      (await c.request({ type: 'publish', channel: 'general', text: 'later', client_msg_id: 'f-later' }))
        .type,
      'ack',
    );
  });

  it('closes a connection that floods frames far past the limit with 4004', async () => {
    const c = await connect('frames');
    for (let i = 0; i < 400; i++) c.send({ type: 'ping', ref: i });
    assert.equal(await c.closed, 4004);
    // Dropped frames are answered with rate_limited and their own ref, each once.
    const answered = c.frames.filter(
      (f) => f.type === 'pong' || (f.type === 'error' && f.code === 'rate_limited'),
    );
    const refs = answered.map((f) => f.ref);
    assert.equal(new Set(refs).size, refs.length);
    const limited = answered.filter((f) => f.type === 'error');
    assert.ok(limited.length > 0);
    assert.ok(limited.every((f) => typeof f.ref === 'number' && Number(f.retry_after_ms) > 0));
  });

  it('keeps every stored message after all of the above', async () => {
    const c = await connect('checker');
    const page = await c.request({ type: 'history', channel: 'general', limit: 100 });
    const texts = (page.messages as { text: string }[]).map((m) => m.text);
    assert.deepEqual(
      texts.filter((t) => /^f\d$/.test(t)),
      ['f0', 'f1', 'f2', 'f3', 'f4'],
    );
    assert.ok(texts.includes('later'));
  });
});

describe('connection floods', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ limits: { connectPerSecondPerIp: 1, connectBurstPerIp: 3 } });
  });
  after(() => server.close());

  it('refuses new connections from one address past the per-IP rate with HTTP 429', async () => {
    const opened = await Promise.allSettled(Array.from({ length: 6 }, () => TestClient.open(server.url)));
    const ok = opened.filter((r) => r.status === 'fulfilled');
    const refused = opened.filter((r) => r.status === 'rejected');
    assert.equal(ok.length, 3);
    assert.match(String((refused[0] as PromiseRejectedResult).reason), /429/);
    for (const r of ok) (r as PromiseFulfilledResult<TestClient>).value.close();
  });

  it('behind a trusted proxy, counts each client by X-Forwarded-For', async () => {
    const proxied = await startTestServer({
      limits: { connectPerSecondPerIp: 1, connectBurstPerIp: 3 },
      env: { PARLEY_TRUSTED_PROXIES: 'loopback' },
    });
    try {
      const from = (ip: string) => TestClient.open(proxied.url, { 'X-Forwarded-For': ip });
      const first = await Promise.allSettled(Array.from({ length: 4 }, () => from('198.51.100.1')));
      assert.equal(first.filter((r) => r.status === 'fulfilled').length, 3, 'the burst of one client');
      const other = await from('198.51.100.2');
      for (const r of [...first, { status: 'fulfilled', value: other } as const]) {
        if (r.status === 'fulfilled') r.value.close();
      }
    } finally {
      await proxied.close();
    }
  });
});

describe('slow consumers', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      limits: {
        sendQueueMaxBytes: 64 * 1024,
        publishPerSecond: 100_000,
        publishBurst: 100_000,
        framesPerSecond: 100_000,
        framesBurst: 100_000,
      },
    });
  });
  after(() => server.close());

  it('closes with 4001 when a subscriber stops reading and its send queue passes the limit', async () => {
    const slow = await TestClient.authed(server.url, await server.token('slow', 'slow'));
    const fast = await TestClient.authed(server.url, await server.token('fast', 'fast'));
    await slow.request({ type: 'subscribe', channel: 'general' });
    await fast.request({ type: 'subscribe', channel: 'general' });
    // Stop reading: the kernel buffers fill, then the server's send queue.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const text = 'y'.repeat(3500);
    let closedWith: number | undefined;
    void slow.closed.then((code) => {
      closedWith = code;
    });
    const serverSawClose = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (server.server.chat.sessionCount === 1) {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    for (let batch = 0; batch < 40 && server.server.chat.sessionCount > 1; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          fast.request(
            { type: 'publish', channel: 'general', text, client_msg_id: `s${batch}-${i}` },
            20_000,
          ),
        ),
      );
    }
    await serverSawClose;
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await slow.closed;
    assert.equal(closedWith, 4001);
    // The fast client is unaffected and got every message.
    await fast.request({ type: 'ping' });
    fast.close();
  });
});

describe('heartbeat', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ limits: { heartbeatMs: 50 } });
  });
  after(() => server.close());

  it('keeps a client that answers pings and closes one that does not with 4005', async () => {
    const answering = await TestClient.authed(server.url, await server.token('hb-a', 'a'));
    const silent = new WebSocket(server.url, { autoPong: false } as WebSocket.ClientOptions);
    await once(silent, 'open', { signal: AbortSignal.timeout(5000) });
    silent.send(JSON.stringify({ type: 'auth', token: await server.token('hb-s', 's') }));
    const [code] = (await once(silent, 'close', { signal: AbortSignal.timeout(5000) })) as [number];
    assert.equal(code, 4005);
    // The answering client went through the same heartbeats and is still served.
    assert.equal((await answering.request({ type: 'ping' })).type, 'pong');
    answering.close();
  });
});
