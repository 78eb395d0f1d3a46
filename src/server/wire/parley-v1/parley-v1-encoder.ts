import type { ServerFrame, UserInfo } from '../../../protocol/frames.js';
import type { WireEncoder } from '../../core/delivery.js';
import type { ChannelSignal, DeliveryEvent } from '../../core/events.js';
import { OutFrame } from '../../transport/ws/text-frame.js';

/** A domain event Parley v1 carries. */
export type V1Event = Exclude<DeliveryEvent, ChannelSignal>;

/** The Parley v1 frame of a domain event (docs/protocol.md), as live delivery and replies carry it. */
export function v1Frame(event: V1Event): ServerFrame {
  switch (event.kind) {
    case 'message': {
      const m = event.message;
      // A live message is new: no edits, deletion or reactions to carry yet.
      return {
        type: 'message',
        id: m.id,
        channel: m.channel,
        seq: m.seq,
        user_id: m.user_id,
        username: m.username,
        text: m.text,
        ts: m.ts,
        client_msg_id: m.client_msg_id,
        ...(m.reply_to === undefined ? {} : { reply_to: m.reply_to }),
        ...(m.event === undefined ? {} : { event: m.event }),
        ...(m.attachments === undefined ? {} : { attachments: m.attachments }),
      };
    }
    case 'edited':
      return {
        type: 'message_edited',
        channel: event.channel,
        id: event.id,
        seq: event.seq,
        text: event.text,
        edited_at: event.edited_at,
        by: event.by,
      };
    case 'deleted':
      return { type: 'message_deleted', channel: event.channel, id: event.id, seq: event.seq, by: event.by };
    case 'reaction':
      return {
        type: 'reaction',
        channel: event.channel,
        id: event.id,
        seq: event.seq,
        emoji: event.emoji,
        user_id: event.user_id,
        added: event.added,
        count: event.count,
      };
    case 'presence':
      return { type: 'presence', channel: event.channel, event: event.event, user: userInfo(event.user) };
    case 'typing':
      return { type: 'typing', channel: event.channel, user: userInfo(event.user) };
    case 'channel_updated':
      return {
        type: 'channel_updated',
        channel: event.channel,
        title: event.title,
        topic: event.topic,
        archived: event.archived,
      };
    case 'moderated':
      return {
        type: 'moderation',
        channel: event.channel,
        action: event.action,
        user_id: event.user_id,
        until: event.until,
        by: event.by,
        ...(event.slow_mode_seconds === undefined ? {} : { slow_mode_seconds: event.slow_mode_seconds }),
      };
    case 'member':
      return { type: 'member', channel: event.channel, user_id: event.user_id, role: event.role };
    case 'read_position':
      return { type: 'read_position', channel: event.channel, seq: event.seq };
    case 'unsubscribed':
      return { type: 'unsubscribed', channel: event.channel, reason: event.reason };
    default: {
      const never: never = event;
      throw new Error(`no v1 frame for ${JSON.stringify(never)}`);
    }
  }
}

/** A user as v1 shows them: id and name (what an app attached for another wire stays out). */
export function userInfo(user: UserInfo): UserInfo {
  return { id: user.id, username: user.username };
}

/**
 * Parley v1's encoder: every domain event as one JSON text frame, framed once per event.
 * Signals (another wire's client events) are not part of v1.
 */
export const parleyV1Encoder: WireEncoder<OutFrame> = {
  wire: 'parley-v1',
  encode: (event) => (event.kind === 'signal' ? undefined : new OutFrame(JSON.stringify(v1Frame(event)))),
};
