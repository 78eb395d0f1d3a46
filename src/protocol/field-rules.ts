/**
 * The rules of Parley's fields, written once: the frame parser, the HTTP schemas and the token
 * verifier check the same limits with these. Each caller words its own error message (the
 * messages are part of what clients see). No dependencies: the SDK and the page import this.
 */

/** The longest channel id (`general`, `team-7`, `dm:…`). */
export const MAX_CHANNEL_ID = 100;
/** Channel ids on the wire: `general`, `team-7`, `dm:…`. */
export const CHANNEL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9:_.-]{0,99}$/;
/** The longest name a user may give a new channel. */
export const MAX_CHANNEL_NAME = 64;
/** Names a user may give a new channel: lowercase, digits, `-` and `_`, up to 64 characters. */
export const CHANNEL_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** The longest `client_msg_id` (and HTTP idempotency key) accepted. */
export const MAX_CLIENT_MSG_ID = 64;
/**
 * What a `client_msg_id` may contain: visible ASCII only, no spaces (MySQL would treat "k" and
 * "k " as one key) and nothing a log or terminal could misrender.
 */
export const CLIENT_MSG_ID_PATTERN = /^[\x21-\x7e]+$/;

/** The length of a message id (a UUID). */
export const MESSAGE_ID_LENGTH = 36;
/** Message ids are UUIDs (36 characters). */
export const MESSAGE_ID_PATTERN = /^[0-9a-f-]{36}$/;

/** The longest user id accepted (on the wire, in tokens and in the server API). */
export const MAX_USER_ID = 128;
/** The longest display name (`username`) accepted from the server API or kept from a token. */
export const MAX_DISPLAY_NAME = 100;
/** The longest channel title. */
export const MAX_TITLE = 200;
/** The longest channel topic. */
export const MAX_TOPIC = 500;
/** The longest reaction accepted (an emoji with modifiers, or a short :name:). */
export const MAX_EMOJI = 32;
/** The longest event name of a message triggered through the Pusher-compatible API (Pusher's limit). */
export const MAX_EVENT_NAME = 200;

/** Login names of local accounts: 3–32 of `A-Z a-z 0-9 _ . -`, starting with a letter or digit. */
export const LOGIN_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$/;
/** The shortest password of a local account. */
export const MIN_PASSWORD = 8;
/** The longest password of a local account (argon2 hashes anything; this bounds the work). */
export const MAX_PASSWORD = 256;

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROLS = /[\u0000-\u001f\u007f]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const SPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f]/;

/**
 * A string with no control characters (U+0000–U+001F, U+007F): they have no place in ids or
 * names shown to other users.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
export const NO_CONTROL_PATTERN = /^[^\u0000-\u001f\u007f]*$/;

/** True when the string contains a control character (U+0000–U+001F, U+007F). */
export function hasControlChars(value: string): boolean {
  return CONTROL.test(value);
}

/** The string with its control characters removed. */
export function stripControlChars(value: string): string {
  return value.replace(CONTROLS, '');
}

/** True for a channel id (at most 100 characters, see `CHANNEL_ID_PATTERN`). */
export function isChannelId(value: string): boolean {
  return CHANNEL_ID_PATTERN.test(value);
}

/** True for a name a user may give a new channel (see `CHANNEL_NAME_PATTERN`). */
export function isChannelName(value: string): boolean {
  return CHANNEL_NAME_PATTERN.test(value);
}

/** True for a `client_msg_id`: 1–64 visible ASCII characters. */
export function isClientMsgId(value: string): boolean {
  return value.length <= MAX_CLIENT_MSG_ID && CLIENT_MSG_ID_PATTERN.test(value);
}

/** Most attachment ids one message frame may list (the server's own limit may be lower). */
export const MAX_ATTACHMENT_IDS = 20;

/** True for a message id (see `MESSAGE_ID_PATTERN`). */
export function isMessageId(value: string): boolean {
  return MESSAGE_ID_PATTERN.test(value);
}

/** True for a user id: 1–128 characters, no control characters. */
export function isUserId(value: string): boolean {
  return value.length > 0 && value.length <= MAX_USER_ID && !hasControlChars(value);
}

/** A reaction: 1–32 characters with no spaces or control characters. */
export function isEmoji(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= MAX_EMOJI &&
    !SPACE_OR_CONTROL.test(value)
  );
}

/**
 * What is wrong with a message text, worded for "`"text"` …", or undefined when it may be sent:
 * it must not be blank and must not contain NUL characters (its length is the server's
 * `maxMessageChars`, checked where the limit is known).
 */
export function messageTextProblem(text: string): string | undefined {
  if (text.trim().length === 0) return 'must not be blank';
  if (text.includes('\u0000')) return 'must not contain NUL characters';
  return undefined;
}
