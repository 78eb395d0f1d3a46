import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { APP, type PusherTestServer, pusherSdk, startPusherServer } from '../support/pusher-server.js';

interface Frame {
  readonly event: string;
  readonly channel?: string;
  readonly data?: unknown;
}

/** A raw WebSocket to the Pusher endpoint, recording frames. */
async function raw(srv: PusherTestServer, path = `/app/${APP.key}?protocol=7&client=js&version=8.6.0`) {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.parley.port}${path}`);
  const frames: Frame[] = [];
  const waiters: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  ws.on('message', (d) => {
    const f = JSON.parse(d.toString()) as Frame;
    frames.push(f);
    for (const w of waiters.splice(0))
      if (w.pred(f)) w.resolve(f);
      else waiters.push(w);
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await once(ws, 'open');
  const next = (pred: (f: Frame) => boolean) =>
    new Promise<Frame>((resolve, reject) => {
      const found = frames.find(pred);
      if (found !== undefined) return resolve(found);
      const timer = setTimeout(() => reject(new Error(`no frame; got ${JSON.stringify(frames)}`)), 5000);
      waiters.push({
        pred,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      });
    });
  return {
    ws,
    frames,
    closed,
    next,
    send: (f: unknown) => ws.send(typeof f === 'string' ? f : JSON.stringify(f)),
  };
}

// The exact frames and codes of the protocol, on a raw socket.
describe('Pusher protocol frames', () => {
  let srv: PusherTestServer;
  before(async () => {
    srv = await startPusherServer({ limits: { framesPerSecond: 50, framesBurst: 50 } });
  });
  after(() => srv.close());

  it('opens with connection_established: a digits.digits socket id and the activity timeout, as a JSON string', async () => {
    const c = await raw(srv);
    const hello = await c.next((f) => f.event === 'pusher:connection_established');
    assert.equal(typeof hello.data, 'string');
    const data = JSON.parse(hello.data as string) as { socket_id: string; activity_timeout: number };
    assert.match(data.socket_id, /^\d+\.\d+$/);
    assert.equal(data.activity_timeout, 120);
    c.ws.close();
  });

  it('refuses an unknown key with 4001, a missing protocol with 4008 and protocol 99 with 4007 (do not reconnect)', async () => {
    const cases: [string, number][] = [
      ['/app/no-such-key?protocol=7', 4001],
      [`/app/${APP.key}`, 4008],
      [`/app/${APP.key}?protocol=99`, 4007],
    ];
    for (const [path, code] of cases) {
      const c = await raw(srv, path);
      const error = await c.next((f) => f.event === 'pusher:error');
      assert.equal((error.data as { code: number }).code, code);
      assert.equal(await c.closed, code);
    }
  });

  it('answers pusher:ping with pusher:pong', async () => {
    const c = await raw(srv);
    c.send({ event: 'pusher:ping', data: {} });
    await c.next((f) => f.event === 'pusher:pong');
    c.ws.close();
  });

  it('answers malformed JSON and unknown events with pusher:error and keeps the connection', async () => {
    const c = await raw(srv);
    await c.next((f) => f.event === 'pusher:connection_established');
    c.send('{"event": ');
    await c.next((f) => f.event === 'pusher:error');
    c.send({ event: 'pusher:nonsense', data: {} });
    await c.next(
      (f) =>
        f.event === 'pusher:error' && String((f.data as { message: string }).message).includes('nonsense'),
    );
    c.send({ event: 'pusher:ping', data: {} });
    await c.next((f) => f.event === 'pusher:pong');
    c.ws.close();
  });

  it('refuses client events on public channels and rate-limits them with 4301 on private ones', async () => {
    const c = await raw(srv);
    const hello = await c.next((f) => f.event === 'pusher:connection_established');
    const socketId = (JSON.parse(hello.data as string) as { socket_id: string }).socket_id;
    c.send({ event: 'pusher:subscribe', data: { channel: 'open-1' } });
    await c.next((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === 'open-1');
    c.send({ event: 'client-x', channel: 'open-1', data: {} });
    await c.next(
      (f) =>
        f.event === 'pusher:error' && String((f.data as { message: string }).message).includes('private'),
    );
    const auth = pusherSdk(srv.parley.port).authorizeChannel(socketId, 'private-rl').auth;
    c.send({ event: 'pusher:subscribe', data: { channel: 'private-rl', auth } });
    await c.next((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === 'private-rl');
    for (let i = 0; i < 12; i++) c.send({ event: 'client-x', channel: 'private-rl', data: { i } });
    const limited = await c.next(
      (f) => f.event === 'pusher:error' && (f.data as { code: number }).code === 4301,
    );
    assert.equal((limited.data as { code: number }).code, 4301);
    c.ws.close();
  });

  it('closes a flooding connection with 4100 (reconnect after a pause)', async () => {
    const c = await raw(srv);
    for (let i = 0; i < 200; i++) c.send({ event: 'pusher:ping', data: {} });
    assert.equal(await c.closed, 4100);
  });

  it('answers a subscription with a wrong signature with pusher:subscription_error (status 401)', async () => {
    const c = await raw(srv);
    await c.next((f) => f.event === 'pusher:connection_established');
    c.send({
      event: 'pusher:subscribe',
      data: { channel: 'private-x', auth: `${APP.key}:${'0'.repeat(64)}` },
    });
    const error = await c.next((f) => f.event === 'pusher:subscription_error');
    assert.equal(error.channel, 'private-x');
    assert.deepEqual(JSON.parse(error.data as string), {
      type: 'AuthError',
      error: 'invalid signature',
      status: 401,
    });
    c.ws.close();
  });

  it('closes with 4200 (reconnect now) when the node shuts down', async () => {
    const other = await startPusherServer();
    const c = await raw(other);
    await c.next((f) => f.event === 'pusher:connection_established');
    await other.close();
    assert.equal(await c.closed, 4200);
  });
});
