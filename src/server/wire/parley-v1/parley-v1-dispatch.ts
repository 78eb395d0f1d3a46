import { ParleyError } from '../../../protocol/error-catalogue.js';
import type { ClientFrame, ErrorFrame, Ref, ServerFrame } from '../../../protocol/frames.js';
import type { ChatService } from '../../core/chat-service.js';
import type { Subscribed } from '../../core/subscriptions.js';
import { v1Frame } from './parley-v1-encoder.js';

/** What the dispatch needs of a v1 session. */
export interface V1Peer {
  readonly id: string;
  /** Frames and writes one server frame. */
  sendFrame(frame: ServerFrame): void;
  /** Logs a failure that is not the peer's fault. */
  logError(err: unknown, what: string): void;
}

/** Writes `frame` as the answer to the request `ref` (when the request had one). */
export function reply(peer: V1Peer, ref: Ref | undefined, frame: ServerFrame): void {
  peer.sendFrame(ref === undefined ? frame : ({ ...frame, ref } as ServerFrame));
}

/**
 * Writes the error frame for `err` (a ParleyError's code and message and details; anything
 * else is logged and answered `internal`).
 */
export function replyError(peer: V1Peer, ref: Ref | undefined, err: unknown, channel?: string): void {
  let error: ParleyError;
  if (err instanceof ParleyError) error = err;
  else {
    peer.logError(err, 'request failed');
    error = new ParleyError('internal', 'internal error');
  }
  const frame: ErrorFrame = {
    type: 'error',
    ...(ref === undefined ? {} : { ref }),
    code: error.code,
    message: error.message,
    ...(channel === undefined ? {} : { channel }),
    ...(error.details ?? {}),
  };
  peer.sendFrame(frame);
}

/** The frames of an open session that the core answers, besides auth, refresh and ping. */
export type CoreFrame = Exclude<ClientFrame, { readonly type: 'auth' | 'refresh' | 'ping' }>;

/**
 * Parley v1's dispatch: one parsed client frame → one core call → its reply, ack or error frame,
 * all written here. `session` is the core's view of the same connection.
 */
export async function dispatch(
  chat: ChatService,
  peer: V1Peer,
  session: Parameters<ChatService['sessionOpened']>[0],
  frame: CoreFrame,
): Promise<void> {
  const ref = frame.ref;
  try {
    switch (frame.type) {
      case 'subscribe':
        // Written from inside the core's call: the reply must precede the first live message.
        await chat.subscriptions.subscribe(session, frame, (state) =>
          reply(peer, ref, subscribedFrame(state)),
        );
        return;
      case 'unsubscribe':
        await chat.subscriptions.unsubscribe(session, frame.channel);
        reply(peer, ref, { type: 'unsubscribed', channel: frame.channel, reason: 'requested' });
        return;
      case 'publish': {
        // The chain waits only until the message is queued for commit, so one connection's
        // publishes keep their order and still share group commits.
        const { committed } = await chat.messages.publish(
          session,
          {
            channel: frame.channel,
            text: frame.text,
            clientMsgId: frame.client_msg_id,
            replyTo: frame.reply_to,
            attachments: frame.attachments,
          },
          ({ message, duplicate }) =>
            reply(peer, ref, {
              type: 'ack',
              channel: message.channel,
              id: message.id,
              seq: message.seq,
              ts: message.ts,
              client_msg_id: frame.client_msg_id,
              duplicate,
            }),
        );
        committed.catch((err: unknown) => replyError(peer, ref, err, frame.channel));
        return;
      }
      case 'history': {
        const page = await chat.messages.history(session, frame);
        reply(peer, ref, { type: 'history', ...page });
        return;
      }
      case 'typing':
        await chat.subscriptions.typing(session, frame.channel);
        return;
      case 'presence': {
        const users = await chat.subscriptions.presence(session, frame.channel);
        reply(peer, ref, { type: 'presence_list', channel: frame.channel, users });
        return;
      }
      case 'channel_create':
        reply(peer, ref, { type: 'channel', channel: await chat.channels.create(session, frame) });
        return;
      case 'member_add': {
        const changed = await chat.channels.setMember(
          session,
          frame.channel,
          frame.user_id,
          frame.role ?? 'member',
        );
        reply(peer, ref, v1Frame(changed));
        return;
      }
      case 'member_remove':
        reply(peer, ref, v1Frame(await chat.channels.removeMember(session, frame.channel, frame.user_id)));
        return;
      case 'moderate': {
        const kind = frame.action === 'ban' || frame.action === 'unban' ? 'ban' : 'mute';
        let until: number | null = null;
        if (frame.action === 'ban' || frame.action === 'mute') {
          const input = {
            ...(frame.until === undefined ? {} : { until: frame.until }),
            ...(frame.reason === undefined ? {} : { reason: frame.reason }),
          };
          until = (await chat.moderation.sanction(session, frame.channel, frame.user_id, kind, input)).until;
        } else {
          await chat.moderation.lift(session, frame.channel, frame.user_id, kind);
        }
        const done = { ban: 'banned', unban: 'unbanned', mute: 'muted', unmute: 'unmuted' } as const;
        reply(peer, ref, {
          type: 'moderation',
          channel: frame.channel,
          action: done[frame.action],
          user_id: frame.user_id,
          until,
          by: session.user.id,
        });
        return;
      }
      case 'dm_open':
        reply(peer, ref, { type: 'channel', channel: await chat.channels.openDm(session, frame.user_id) });
        return;
      case 'message_edit':
        reply(peer, ref, v1Frame(await chat.messages.edit(session, frame.channel, frame.id, frame.text)));
        return;
      case 'message_delete':
        reply(peer, ref, v1Frame(await chat.messages.delete(session, frame.channel, frame.id)));
        return;
      case 'react':
        reply(peer, ref, v1Frame(await chat.messages.react(session, frame.channel, frame.id, frame.emoji)));
        return;
      case 'read':
        reply(peer, ref, v1Frame(await chat.messages.markRead(session, frame.channel, frame.seq)));
        return;
      default: {
        const never: never = frame;
        throw new ParleyError('unknown_type', `unknown frame ${JSON.stringify(never).slice(0, 40)}`);
      }
    }
  } catch (err) {
    replyError(peer, ref, err, 'channel' in frame ? frame.channel : undefined);
  }
}

function subscribedFrame(state: Subscribed): ServerFrame {
  return { type: 'subscribed', ...state };
}
