import type { Message } from '../../../protocol/frames.js';
import type { WireEncoder } from '../../core/delivery.js';
import type { DeliveryEvent } from '../../core/events.js';
import { OutFrame } from '../../transport/ws/text-frame.js';
import { channelKind, type PusherChannelNames } from './pusher-channel-names.js';

/** The event name Pusher subscribers get for a message posted through Parley itself. */
export const PARLEY_MESSAGE_EVENT = 'parley:message';

/** The JSON text of one Pusher event frame (`data` is always a string, as Pusher sends it). */
export function pusherFrame(
  event: string,
  channel: string | undefined,
  data: string,
  extra?: { readonly user_id?: string | undefined; readonly parley_seq?: number },
): string {
  return JSON.stringify({
    event,
    ...(channel === undefined ? {} : { channel }),
    data,
    ...(extra?.user_id === undefined ? {} : { user_id: extra.user_id }),
    ...(extra?.parley_seq === undefined ? {} : { parley_seq: extra.parley_seq }),
  });
}

/**
 * The frame of a stored message: a triggered event as it was triggered (name and data), a
 * Parley message as `parley:message`. Each carries `parley_seq`, which stock clients ignore and
 * the resume plugin keeps.
 */
export function messageFrame(m: Message, channel: string): string {
  if (m.event !== undefined) return pusherFrame(m.event, channel, m.text, { parley_seq: m.seq });
  const data = JSON.stringify({
    id: m.id,
    seq: m.seq,
    user_id: m.user_id,
    username: m.username,
    text: m.text,
    ts: m.ts,
    ...(m.reply_to === undefined ? {} : { reply_to: m.reply_to }),
  });
  return pusherFrame(PARLEY_MESSAGE_EVENT, channel, data, { parley_seq: m.seq });
}

/** A presence member as Pusher's member events carry it: `{ user_id, user_info }`. */
export function memberData(user: { readonly id: string; readonly info?: string }): string {
  // The info is JSON text the app signed; it goes out as the object it is.
  const info = user.info === undefined ? '' : `,"user_info":${user.info}`;
  return `{"user_id":${JSON.stringify(user.id)}${info}}`;
}

/**
 * Pusher's encoder: stored messages, presence changes on `presence-` channels and client events
 * as Pusher frames, framed once per event for every Pusher subscriber. What Pusher has no frame
 * for (typing, edits, deletions, reactions, channel updates, Parley's per-user events) is not
 * sent.
 */
export class PusherEncoder implements WireEncoder<OutFrame> {
  readonly wire = 'pusher';
  readonly #names: PusherChannelNames;

  constructor(names: PusherChannelNames) {
    this.#names = names;
  }

  encode(event: DeliveryEvent): OutFrame | undefined {
    switch (event.kind) {
      case 'message': {
        const channel = this.#names.nameOf(event.message.channel);
        return channel === undefined ? undefined : new OutFrame(messageFrame(event.message, channel));
      }
      case 'presence': {
        const channel = this.#names.nameOf(event.channel);
        if (channel === undefined || channelKind(channel) !== 'presence') return undefined;
        const name =
          event.event === 'join' ? 'pusher_internal:member_added' : 'pusher_internal:member_removed';
        const data =
          event.event === 'join' ? memberData(event.user) : JSON.stringify({ user_id: event.user.id });
        return new OutFrame(pusherFrame(name, channel, data));
      }
      case 'signal': {
        const channel = this.#names.nameOf(event.channel);
        if (channel === undefined) return undefined;
        return new OutFrame(pusherFrame(event.name, channel, event.data, { user_id: event.user_id }));
      }
      default:
        return undefined;
    }
  }
}
