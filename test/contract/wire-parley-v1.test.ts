import { isReconnectable } from '../../src/protocol/close-codes.js';
import type { Message } from '../../src/protocol/frames.js';
import { TestClient } from '../support/test-client.js';
import { type WireConnection, type WireEvent, WireRefusal, wireContract } from './wire-contract.js';

type Frame = TestClient['frames'][number];

function toEvent(f: Frame): WireEvent | undefined {
  const channel = f.channel as string;
  switch (f.type) {
    case 'message':
      return { kind: 'message', channel, message: { seq: f.seq, text: f.text, userId: f.user_id } };
    case 'presence':
      return { kind: 'presence', channel, event: f.event, userId: f.user.id };
    case 'typing':
      return { kind: 'typing', channel, userId: f.user.id };
    case 'message_edited':
      return { kind: 'edited', channel, seq: f.seq, text: f.text };
    case 'message_deleted':
      return { kind: 'deleted', channel, seq: f.seq };
    case 'unsubscribed':
      return f.reason === 'removed' ? { kind: 'removed', channel } : undefined;
    default:
      return undefined;
  }
}

const fromMessage = (m: Message) => ({ seq: m.seq, text: m.text, userId: m.user_id });

wireContract('Parley v1', {
  async connect(server, user): Promise<WireConnection> {
    const client = await TestClient.authed(server.url, await server.token(user.id, user.username));
    const events = () => client.frames.flatMap((f) => toEvent(f) ?? []);
    return {
      get events() {
        return events();
      },
      async subscribe(channel, since) {
        const reply = await client.request({
          type: 'subscribe',
          channel,
          ...(since === undefined ? {} : { since }),
        });
        if (reply.type === 'error') throw new WireRefusal(reply.code);
        return { history: (reply.messages as Message[]).map(fromMessage) };
      },
      async publish(channel, text, clientMsgId) {
        const reply = await client.request({ type: 'publish', channel, text, client_msg_id: clientMsgId });
        if (reply.type !== 'ack') throw new Error(`not acknowledged: ${JSON.stringify(reply)}`);
        return { seq: reply.seq };
      },
      typing(channel) {
        client.send({ type: 'typing', channel });
      },
      async next(pred, timeoutMs = 5000) {
        const frame = await client.next((f) => {
          const e = toEvent(f);
          return e !== undefined && pred(e);
        }, timeoutMs);
        return toEvent(frame) as WireEvent;
      },
      async sendMalformed() {
        const from = client.frames.length;
        client.send('{"type": "publish", "channel": ');
        const reply = await client.next((f) => f.type === 'error', 5000, from);
        return reply.code as string;
      },
      async roundTrip() {
        const reply = await client.request({ type: 'ping' });
        if (reply.type !== 'pong') throw new Error(`no pong: ${JSON.stringify(reply)}`);
      },
      closed: client.closed.then((code) => ({ code, reconnect: isReconnectable(code) })),
      async close() {
        client.close();
        await client.closed;
      },
    };
  },
});
