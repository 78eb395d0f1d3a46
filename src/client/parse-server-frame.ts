import type { Message, Ref, ServerFrame, UserInfo } from '../protocol/frames.js';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isSeq(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isRef(v: unknown): v is Ref | undefined {
  return v === undefined || typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v));
}

function isUser(v: unknown): v is UserInfo {
  return isObj(v) && typeof v.id === 'string' && typeof v.username === 'string';
}

function isUsers(v: unknown): v is readonly UserInfo[] {
  return Array.isArray(v) && v.every(isUser);
}

/** True when `v` has every field of a stored message with the right type. */
function isMessage(v: unknown): v is Message {
  return (
    isObj(v) &&
    typeof v.id === 'string' &&
    typeof v.channel === 'string' &&
    isSeq(v.seq) &&
    v.seq > 0 &&
    typeof v.user_id === 'string' &&
    typeof v.username === 'string' &&
    typeof v.text === 'string' &&
    typeof v.ts === 'number' &&
    (v.client_msg_id === null || v.client_msg_id === undefined || typeof v.client_msg_id === 'string')
  );
}

function isMessages(v: unknown): v is readonly Message[] {
  return Array.isArray(v) && v.every(isMessage);
}

// Checks the fields the client reads; extra fields are allowed so newer servers stay compatible.
const CHECKS: { readonly [K in ServerFrame['type']]: (o: Obj) => boolean } = {
  welcome: (o) => isUser(o.user) && typeof o.expires_at === 'number' && isObj(o.limits),
  refreshed: (o) => typeof o.expires_at === 'number',
  token_expiring: (o) => typeof o.expires_at === 'number',
  pong: () => true,
  ack: (o) =>
    typeof o.channel === 'string' &&
    typeof o.id === 'string' &&
    isSeq(o.seq) &&
    typeof o.ts === 'number' &&
    typeof o.client_msg_id === 'string' &&
    typeof o.duplicate === 'boolean',
  message: isMessage,
  subscribed: (o) =>
    typeof o.channel === 'string' &&
    typeof o.epoch === 'string' &&
    isSeq(o.last_seq) &&
    typeof o.recovered === 'boolean' &&
    isMessages(o.messages) &&
    isUsers(o.presence),
  unsubscribed: (o) =>
    typeof o.channel === 'string' &&
    (o.reason === 'requested' || o.reason === 'removed' || o.reason === 'banned'),
  history: (o) => typeof o.channel === 'string' && isMessages(o.messages) && typeof o.has_more === 'boolean',
  presence: (o) =>
    typeof o.channel === 'string' && (o.event === 'join' || o.event === 'leave') && isUser(o.user),
  presence_list: (o) => typeof o.channel === 'string' && isUsers(o.users),
  typing: (o) => typeof o.channel === 'string' && isUser(o.user),
  channel: (o) => isObj(o.channel) && typeof o.channel.id === 'string',
  member: (o) => typeof o.channel === 'string' && typeof o.user_id === 'string',
  message_edited: (o) =>
    typeof o.channel === 'string' && typeof o.id === 'string' && isSeq(o.seq) && typeof o.text === 'string',
  message_deleted: (o) => typeof o.channel === 'string' && typeof o.id === 'string' && isSeq(o.seq),
  reaction: (o) =>
    typeof o.channel === 'string' &&
    typeof o.id === 'string' &&
    typeof o.emoji === 'string' &&
    typeof o.added === 'boolean' &&
    isSeq(o.count),
  read_position: (o) => typeof o.channel === 'string' && isSeq(o.seq),
  channel_updated: (o) => typeof o.channel === 'string' && typeof o.title === 'string',
  moderation: (o) => typeof o.channel === 'string' && typeof o.action === 'string',
  error: (o) => typeof o.code === 'string' && typeof o.message === 'string',
};

/**
 * Parses one text frame from the server into a typed frame, or returns undefined when it is
 * not JSON, has an unknown `type`, or lacks a field the client relies on. Never throws.
 */
export function parseServerFrame(data: unknown): ServerFrame | undefined {
  if (typeof data !== 'string') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (!isObj(value) || typeof value.type !== 'string' || !isRef(value.ref)) return undefined;
  const check = Object.hasOwn(CHECKS, value.type) ? CHECKS[value.type as ServerFrame['type']] : undefined;
  if (check === undefined || !check(value)) return undefined;
  return value as unknown as ServerFrame;
}
