import { once } from 'node:events';
import WebSocket from 'ws';
import { APP, pusherSdk } from '../support/pusher-server.js';
import {
  type WireConnection,
  type WireEvent,
  type WireMessage,
  WireRefusal,
  wireContract,
} from './wire-contract.js';

interface Frame {
  readonly event: string;
  readonly channel?: string;
  readonly data?: unknown;
  readonly parley_seq?: number;
}

function toMessage(f: Frame): WireMessage | undefined {
  if (f.parley_seq === undefined || typeof f.data !== 'string') return undefined;
  if (f.event !== 'parley:message') return { seq: f.parley_seq, text: f.data, userId: '' };
  const m = JSON.parse(f.data) as { seq: number; text: string; user_id: string };
  return { seq: m.seq, text: m.text, userId: m.user_id };
}

function toEvent(f: Frame): WireEvent | undefined {
  const channel = f.channel ?? '';
  const message = toMessage(f);
  if (message !== undefined) return { kind: 'message', channel, message };
  if (f.event === 'pusher_internal:member_added' || f.event === 'pusher_internal:member_removed') {
    const { user_id: userId } = JSON.parse(f.data as string) as { user_id: string };
    return { kind: 'presence', channel, event: f.event.endsWith('added') ? 'join' : 'leave', userId };
  }
  return undefined;
}

const PUBLISH =
  'Pusher clients do not publish stored messages: their client events are relayed, never stored';

wireContract(
  'Pusher',
  {
    env: {
      PARLEY_PUSHER_APP_ID: APP.id,
      PARLEY_PUSHER_APP_KEY: APP.key,
      PARLEY_PUSHER_APP_SECRET: APP.secret,
      PARLEY_PUSHER_CLIENT_EVENTS: 'on',
    },
    async connect(server, user): Promise<WireConnection> {
      const ws = new WebSocket(
        `ws://127.0.0.1:${server.port}/app/${APP.key}?protocol=7&client=js&version=8.6.0`,
      );
      const frames: Frame[] = [];
      // Frames before this index were the answer to a subscribe (its replay), not live events.
      const replayed = new Set<Frame>();
      let waiters: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
      ws.on('message', (d) => {
        const f = JSON.parse(d.toString()) as Frame;
        frames.push(f);
        waiters = waiters.filter((w) => {
          if (!w.pred(f)) return true;
          w.resolve(f);
          return false;
        });
      });
      const next = (pred: (f: Frame) => boolean, timeoutMs = 5000) =>
        new Promise<Frame>((resolve, reject) => {
          const found = frames.find(pred);
          if (found !== undefined) return resolve(found);
          const timer = setTimeout(
            () => reject(new Error(`no frame; got ${JSON.stringify(frames.slice(-4))}`)),
            timeoutMs,
          );
          waiters.push({
            pred,
            resolve: (f) => {
              clearTimeout(timer);
              resolve(f);
            },
          });
        });
      const closed = new Promise<{ code: number; reconnect: boolean }>((resolve) =>
        ws.once('close', (code) => resolve({ code, reconnect: !(code >= 4000 && code < 4100) })),
      );
      await once(ws, 'open');
      const hello = await next((f) => f.event === 'pusher:connection_established');
      const socketId = (JSON.parse(hello.data as string) as { socket_id: string }).socket_id;
      // Signed in as the user, so that disconnecting the user reaches this connection.
      const sdk = pusherSdk(server.port);
      const signin = sdk.authenticateUser(socketId, { id: user.id, name: user.username });
      ws.send(JSON.stringify({ event: 'pusher:signin', data: signin }));
      await next((f) => f.event === 'pusher:signin_success');
      const live = () => frames.filter((f) => !replayed.has(f)).flatMap((f) => toEvent(f) ?? []);
      return {
        get events() {
          return live();
        },
        async subscribe(channel, since) {
          const from = frames.length;
          ws.send(
            JSON.stringify({
              event: 'pusher:subscribe',
              data: since === undefined ? { channel, parley_history: 50 } : { channel, parley_since: since },
            }),
          );
          const reply = await next(
            (f) =>
              f.channel === channel &&
              (f.event === 'pusher_internal:subscription_succeeded' ||
                f.event === 'pusher:subscription_error'),
          );
          if (reply.event === 'pusher:subscription_error') {
            throw new WireRefusal(String((JSON.parse(reply.data as string) as { status: number }).status));
          }
          const resumed = await next((f) => f.event === 'parley:resumed' && f.channel === channel);
          const { last_seq: lastSeq } = JSON.parse(resumed.data as string) as { last_seq: number };
          if (lastSeq > (since ?? 0)) {
            await next((f) => f.channel === channel && toMessage(f)?.seq === lastSeq);
          }
          const history: WireMessage[] = [];
          for (const f of frames.slice(from)) {
            const m = f.channel === channel ? toMessage(f) : undefined;
            if (m === undefined || m.seq > lastSeq) continue;
            replayed.add(f);
            history.push(m);
          }
          return { history };
        },
        publish() {
          return Promise.reject(new Error(PUBLISH));
        },
        typing() {},
        async next(pred, timeoutMs = 5000) {
          const f = await next((frame) => {
            if (replayed.has(frame)) return false;
            const e = toEvent(frame);
            return e !== undefined && pred(e);
          }, timeoutMs);
          return toEvent(f) as WireEvent;
        },
        async sendMalformed() {
          const from = frames.length;
          ws.send('{"event": ');
          const error = await next((f) => f.event === 'pusher:error' && frames.indexOf(f) >= from);
          return String((error.data as { message: string }).message);
        },
        async roundTrip() {
          const from = frames.length;
          ws.send(JSON.stringify({ event: 'pusher:ping', data: {} }));
          await next((f) => f.event === 'pusher:pong' && frames.indexOf(f) >= from);
        },
        closed,
        async close() {
          ws.close();
          await closed;
        },
      };
    },
  },
  [
    {
      reason: PUBLISH,
      tests: [
        'what one connection publishes reaches the others in order, acknowledged with its seq',
        'a retried publish is stored once',
        'pushes edits and deletions to subscribers',
      ],
    },
    {
      reason:
        'a Pusher subscription is proved by the app’s signature, not by membership: there is no removal',
      tests: ['a member removed from a private channel stops receiving it at once'],
    },
    {
      reason: 'Pusher has presence on presence- channels only (tested in test/pusher/)',
      tests: ['announces a user coming online in the channel to the others'],
    },
    {
      reason: 'Pusher has no typing frames; its client events are the equivalent (tested in test/pusher/)',
      tests: ['relays typing to the others, never back to the typist'],
    },
  ],
);
