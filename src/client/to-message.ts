import type { Message } from '../protocol/frames.js';

/** The stored message a frame carries, without wire-only fields. */
export function toMessage(m: Message): Message {
  return {
    id: m.id,
    channel: m.channel,
    seq: m.seq,
    user_id: m.user_id,
    username: m.username,
    text: m.text,
    ts: m.ts,
    client_msg_id: m.client_msg_id ?? null,
    ...(m.reply_to === undefined ? {} : { reply_to: m.reply_to }),
    ...(m.edited_at === undefined ? {} : { edited_at: m.edited_at }),
    ...(m.deleted === true ? { deleted: true as const } : {}),
    ...(m.reactions === undefined ? {} : { reactions: m.reactions }),
    ...(m.attachments === undefined ? {} : { attachments: m.attachments }),
  };
}
