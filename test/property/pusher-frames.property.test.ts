import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import WebSocket from 'ws';
import { APP, type PusherTestServer, startPusherServer } from '../support/pusher-server.js';

// The Pusher wire has no parser of its own: PusherSession.message parses each frame inline. So
// its parsing is exercised through a real socket: whatever a client sends, the session answers
// with frames of Pusher's shape (refusals as pusher:error), keeps the connection and carries on.

interface Frame {
  readonly event: unknown;
  readonly data?: unknown;
  readonly channel?: unknown;
}

/** One raw Pusher socket whose frames are read in order, each within 5 s. */
async function rawSocket(srv: PusherTestServer) {
  const ws = new WebSocket(
    `ws://127.0.0.1:${srv.parley.port}/app/${APP.key}?protocol=7&client=js&version=8.6.0`,
  );
  const frames: unknown[] = [];
  const arrivals = new EventEmitter();
  ws.on('message', (data, isBinary) => {
    assert.equal(isBinary, false, 'the server sent a binary frame');
    frames.push(JSON.parse(data.toString()));
    arrivals.emit('frame');
  });
  let closedWith: number | undefined;
  ws.once('close', (code) => {
    closedWith = code;
    arrivals.emit('frame');
  });
  await once(ws, 'open');
  return {
    ws,
    get closedWith() {
      return closedWith;
    },
    /** The frames up to and including the next one that passes `pred`. */
    async until(pred: (f: Frame) => boolean): Promise<Frame[]> {
      for (let waits = 0; waits < 1000; waits++) {
        const i = frames.findIndex((f) => typeof f === 'object' && f !== null && pred(f as Frame));
        if (i >= 0) return frames.splice(0, i + 1) as Frame[];
        assert.equal(closedWith, undefined, `the server closed the connection with ${closedWith}`);
        await once(arrivals, 'frame', { signal: AbortSignal.timeout(5000) });
      }
      assert.fail(`no such frame in 1000 frames; got ${JSON.stringify(frames).slice(0, 500)}`);
    },
  };
}

/** A frame of Pusher's shape: an object with a string event; errors with a code and a message. */
function checkShape(f: Frame): void {
  assert.equal(typeof f, 'object');
  assert.equal(typeof f.event, 'string', JSON.stringify(f));
  if (f.event === 'pusher:error') {
    const data = f.data as { code?: unknown; message?: unknown };
    assert.ok(data.code === null || Number.isInteger(data.code), JSON.stringify(f));
    assert.equal(typeof data.message, 'string');
  }
}

const anyValue = fc.jsonValue({ maxDepth: 2 });
const channelName = fc.oneof(
  fc.constantFrom(
    'open-1',
    'private-x',
    'presence-x',
    'private-encrypted-x',
    'cache-x',
    '#server-to-user-1',
    '',
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 210 }),
  anyValue,
);
// Anything but pusher:ping, which the property itself uses to know a frame was handled.
const event = fc.oneof(
  fc.constantFrom(
    'pusher:subscribe',
    'pusher:unsubscribe',
    'pusher:signin',
    'pusher:pong',
    'client-x',
    'pusher:nonsense',
    'client-',
  ),
  fc.string({ maxLength: 30 }).filter((e) => e !== 'pusher:ping'),
);
const frame = fc.oneof(
  // Objects with an event and data of every kind.
  fc
    .record(
      {
        event,
        data: fc.oneof(
          anyValue,
          fc.record(
            {
              channel: channelName,
              auth: fc.oneof(fc.string(), anyValue),
              channel_data: fc.oneof(fc.string(), anyValue),
              user_data: fc.oneof(fc.string(), anyValue),
              parley_since: anyValue,
              parley_history: anyValue,
            },
            { requiredKeys: [] },
          ),
        ),
        channel: channelName,
      },
      { requiredKeys: ['event'] },
    )
    .map((f) => JSON.stringify(f)),
  // Anything at all: text, JSON values, objects without a string event.
  fc.string({ unit: 'binary', maxLength: 100 }),
  anyValue.map((v) => JSON.stringify(v) ?? 'null').filter((t) => !t.includes('"pusher:ping"')),
);

describe('Pusher frames, for arbitrary input on a real socket', () => {
  let srv: PusherTestServer;
  before(async () => {
    srv = await startPusherServer({ limits: { framesPerSecond: 100_000, framesBurst: 100_000 } });
  });
  after(() => srv.close());

  it('answers every frame in Pusher’s shape, refusals as pusher:error, and keeps the connection', async () => {
    const c = await rawSocket(srv);
    checkShape((await c.until((f) => f.event === 'pusher:connection_established'))[0] as Frame);
    await fc.assert(
      fc.asyncProperty(frame, fc.boolean(), async (text, binary) => {
        c.ws.send(binary ? Buffer.from(text) : text, { binary });
        // Frames are handled in order: once the ping's pong is back, the frame before it was too.
        c.ws.send('{"event":"pusher:ping","data":{}}');
        const answered = await c.until((f) => f.event === 'pusher:pong');
        for (const f of answered) checkShape(f);
        assert.equal(c.closedWith, undefined);
      }),
      { numRuns: 150 },
    );
    c.ws.close();
  });
});
