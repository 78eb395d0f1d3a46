import { ParleyError } from './error-catalogue.js';
import {
  isChannelId,
  isChannelName,
  isClientMsgId,
  isEmoji,
  isMessageId,
  MAX_ATTACHMENT_IDS,
  MAX_CHANNEL_ID,
  MAX_CHANNEL_NAME,
  MAX_CLIENT_MSG_ID,
  MAX_EMOJI,
  MAX_TITLE,
  MAX_USER_ID,
  MESSAGE_ID_LENGTH,
  messageTextProblem,
} from './field-rules.js';
import type { ClientFrame, ClientFrameType, Ref, Role } from './frames.js';
import { ROLES } from './frames.js';

// Imported from here before the rules had a file of their own.
export {
  CHANNEL_ID_PATTERN,
  CHANNEL_NAME_PATTERN,
  isEmoji,
  MAX_CLIENT_MSG_ID,
  MAX_EMOJI,
  MAX_USER_ID,
} from './field-rules.js';

/** The outcome of parsing one text frame: a typed frame, or an error (with the ref, if readable). */
export type ParseResult =
  | { readonly ok: true; readonly frame: ClientFrame }
  | { readonly ok: false; readonly error: ParleyError; readonly ref?: Ref };

const MAX_TOKEN = 8192;
// `ref` and `epoch` are the frame's own: echoed back, never stored.
const MAX_REF = 64;
const MAX_EPOCH = 64;
// A moderation reason, as the HTTP API's.
const MAX_REASON = 500;

class FieldError extends Error {}

type Obj = Record<string, unknown>;

function str(o: Obj, key: string, max: number, required: true): string;
function str(o: Obj, key: string, max: number, required: false): string | undefined;
function str(o: Obj, key: string, max: number, required: boolean): string | undefined {
  const v = o[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string') throw new FieldError(`"${key}" must be a string`);
  if (v.length === 0) throw new FieldError(`"${key}" must not be empty`);
  if (v.length > max) throw new FieldError(`"${key}" is longer than ${max} characters`);
  return v;
}

function seq(o: Obj, key: string): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new FieldError(`"${key}" must be a non-negative integer`);
  }
  return v;
}

function clientMsgId(o: Obj): string {
  const v = str(o, 'client_msg_id', MAX_CLIENT_MSG_ID, true);
  if (!isClientMsgId(v)) throw new FieldError('"client_msg_id" must be visible ASCII characters, no spaces');
  return v;
}

function channel(o: Obj, key = 'channel'): string {
  const v = str(o, key, MAX_CHANNEL_ID, true);
  if (!isChannelId(v)) throw new FieldError(`"${key}" is not a valid channel id`);
  return v;
}

function role(o: Obj): Role | undefined {
  const v = o.role;
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(ROLES as readonly string[]).includes(v)) {
    throw new FieldError(`"role" must be one of ${ROLES.join(', ')}`);
  }
  return v as Role;
}

/** The optional `attachments` field: a list of attachment ids (issue 16). */
function attachmentIds(o: Obj): readonly string[] | undefined {
  const v = o.attachments;
  if (v === undefined) return undefined;
  if (
    !Array.isArray(v) ||
    v.length > MAX_ATTACHMENT_IDS ||
    !v.every((id) => typeof id === 'string' && isMessageId(id))
  )
    throw new FieldError(`"attachments" must be a list of at most ${MAX_ATTACHMENT_IDS} attachment ids`);
  return v as string[];
}

function messageId(o: Obj, key = 'id'): string {
  const v = str(o, key, MESSAGE_ID_LENGTH, true);
  if (!isMessageId(v)) throw new FieldError(`"${key}" is not a message id`);
  return v;
}

function messageText(o: Obj): string {
  const text = o.text;
  if (typeof text !== 'string') throw new FieldError('"text" must be a string');
  const problem = messageTextProblem(text);
  if (problem !== undefined) throw new FieldError(`"text" ${problem}`);
  return text;
}

function readRef(o: Obj): Ref | undefined {
  const v = o.ref;
  if (v === undefined) return undefined;
  if (typeof v === 'string' && v.length <= MAX_REF) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  throw new FieldError(`"ref" must be a string of at most ${MAX_REF} characters or an integer`);
}

function withRef<T extends object>(frame: T, ref: Ref | undefined): T {
  return ref === undefined ? frame : { ...frame, ref };
}

const PARSERS: { readonly [K in ClientFrameType]: (o: Obj, ref: Ref | undefined) => ClientFrame } = {
  auth: (o, ref) => withRef({ type: 'auth', token: str(o, 'token', MAX_TOKEN, true) }, ref),
  refresh: (o, ref) => withRef({ type: 'refresh', token: str(o, 'token', MAX_TOKEN, true) }, ref),
  ping: (_o, ref) => withRef({ type: 'ping' }, ref),
  subscribe: (o, ref) => {
    const history = seq(o, 'history');
    const since = seq(o, 'since');
    const epoch = str(o, 'epoch', MAX_EPOCH, false);
    return withRef(
      {
        type: 'subscribe',
        channel: channel(o),
        ...(history === undefined ? {} : { history }),
        ...(since === undefined ? {} : { since }),
        ...(epoch === undefined ? {} : { epoch }),
      },
      ref,
    );
  },
  unsubscribe: (o, ref) => withRef({ type: 'unsubscribe', channel: channel(o) }, ref),
  publish: (o, ref) => {
    const text = messageText(o);
    const replyTo = o.reply_to === undefined ? undefined : messageId(o, 'reply_to');
    const attachments = attachmentIds(o);
    return withRef(
      {
        type: 'publish',
        channel: channel(o),
        text,
        client_msg_id: clientMsgId(o),
        ...(replyTo === undefined ? {} : { reply_to: replyTo }),
        ...(attachments === undefined ? {} : { attachments }),
      },
      ref,
    );
  },
  message_edit: (o, ref) =>
    withRef({ type: 'message_edit', channel: channel(o), id: messageId(o), text: messageText(o) }, ref),
  message_delete: (o, ref) => withRef({ type: 'message_delete', channel: channel(o), id: messageId(o) }, ref),
  react: (o, ref) => {
    if (!isEmoji(o.emoji)) throw new FieldError(`"emoji" must be 1–${MAX_EMOJI} characters without spaces`);
    return withRef({ type: 'react', channel: channel(o), id: messageId(o), emoji: o.emoji }, ref);
  },
  read: (o, ref) => {
    const s = seq(o, 'seq');
    if (s === undefined) throw new FieldError('"seq" is required');
    return withRef({ type: 'read', channel: channel(o), seq: s }, ref);
  },
  history: (o, ref) => {
    const before = seq(o, 'before');
    const after = seq(o, 'after');
    const limit = seq(o, 'limit');
    if (limit === 0) throw new FieldError('"limit" must be at least 1');
    if (before !== undefined && after !== undefined) {
      throw new FieldError('give "before" or "after", not both');
    }
    return withRef(
      {
        type: 'history',
        channel: channel(o),
        ...(before === undefined ? {} : { before }),
        ...(after === undefined ? {} : { after }),
        ...(limit === undefined ? {} : { limit }),
      },
      ref,
    );
  },
  typing: (o, ref) => withRef({ type: 'typing', channel: channel(o) }, ref),
  presence: (o, ref) => withRef({ type: 'presence', channel: channel(o) }, ref),
  channel_create: (o, ref) => {
    const name = str(o, 'channel', MAX_CHANNEL_NAME, true);
    if (!isChannelName(name)) {
      throw new FieldError(
        '"channel" must be 1–64 of a-z, 0-9, "-" and "_", starting with a letter or digit',
      );
    }
    const priv = o.private;
    if (priv !== undefined && typeof priv !== 'boolean') throw new FieldError('"private" must be a boolean');
    const title = str(o, 'title', MAX_TITLE, false);
    return withRef(
      {
        type: 'channel_create',
        channel: name,
        ...(priv === undefined ? {} : { private: priv }),
        ...(title === undefined ? {} : { title }),
      },
      ref,
    );
  },
  member_add: (o, ref) => {
    const r = role(o);
    return withRef(
      {
        type: 'member_add',
        channel: channel(o),
        user_id: str(o, 'user_id', MAX_USER_ID, true),
        ...(r === undefined ? {} : { role: r }),
      },
      ref,
    );
  },
  member_remove: (o, ref) =>
    withRef(
      { type: 'member_remove', channel: channel(o), user_id: str(o, 'user_id', MAX_USER_ID, true) },
      ref,
    ),
  dm_open: (o, ref) => withRef({ type: 'dm_open', user_id: str(o, 'user_id', MAX_USER_ID, true) }, ref),
  moderate: (o, ref) => {
    const action = o.action;
    if (action !== 'ban' && action !== 'unban' && action !== 'mute' && action !== 'unmute')
      throw new FieldError('"action" must be one of ban, unban, mute, unmute');
    const until = o.until;
    if (until !== undefined && (typeof until !== 'number' || !Number.isSafeInteger(until) || until <= 0))
      throw new FieldError('"until" must be a time in ms since the epoch');
    const reason = str(o, 'reason', MAX_REASON, false);
    return withRef(
      {
        type: 'moderate',
        channel: channel(o),
        user_id: str(o, 'user_id', MAX_USER_ID, true),
        action,
        ...(until === undefined ? {} : { until }),
        ...(reason === undefined ? {} : { reason }),
      },
      ref,
    );
  },
};

/**
 * Parses one text frame from a client into a typed frame. Never throws: malformed JSON gives
 * `invalid_json`, an unknown `type` gives `unknown_type`, a bad field gives `bad_request`.
 */
export function parseClientFrame(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: new ParleyError('invalid_json', 'frame is not valid JSON') };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: new ParleyError('bad_request', 'frame must be a JSON object') };
  }
  const o = value as Obj;
  let ref: Ref | undefined;
  try {
    ref = readRef(o);
  } catch (err) {
    return { ok: false, error: new ParleyError('bad_request', (err as Error).message) };
  }
  const type = o.type;
  if (typeof type !== 'string') {
    return withRef({ ok: false, error: new ParleyError('bad_request', 'frame has no "type"') }, ref);
  }
  const parse = Object.hasOwn(PARSERS, type) ? PARSERS[type as ClientFrameType] : undefined;
  if (parse === undefined) {
    return withRef(
      { ok: false, error: new ParleyError('unknown_type', `unknown frame type "${type.slice(0, 40)}"`) },
      ref,
    );
  }
  try {
    return { ok: true, frame: parse(o, ref) };
  } catch (err) {
    if (err instanceof FieldError) {
      return withRef({ ok: false, error: new ParleyError('bad_request', `${type}: ${err.message}`) }, ref);
    }
    throw err;
  }
}
