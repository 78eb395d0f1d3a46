// The schema's column limits and their checks, shared by `KyselyStore`'s aggregates.
import { ParleyError } from '../../protocol/error-catalogue.js';

// Column limits of the schema, checked before a value reaches SQL: SQLite does not enforce
// varchar lengths and PostgreSQL/MySQL would fail the whole append batch for one long value.
/** The longest channel id, in characters. */
export const MAX_CHANNEL_ID = 100;
/** The longest user id, in characters. */
export const MAX_USER_ID = 128;
/** The longest username, in characters. */
export const MAX_USERNAME = 200;
/** The longest channel title, in characters. */
export const MAX_TITLE = 200;
/** The longest client message id, in characters. */
export const MAX_CLIENT_MSG_ID = 64;
/** MySQL's TEXT holds 65,535 bytes; the same cap applies everywhere so dialects agree. */
export const MAX_TEXT_BYTES = 65_535;

/** The longest channel topic, in characters. */
export const MAX_TOPIC = 500;
/** The longest login name, in characters. */
export const MAX_LOGIN = 64;

/** Throws `bad_request` when `value` has more code points than its column holds. */
export function checkLength(field: string, value: string, max: number): void {
  // Columns count characters (code points); .length counts UTF-16 units, so it can only
  // over-count: check it first, and count code points only for the rare long value.
  if (value.length > max && [...value].length > max) {
    throw new ParleyError('bad_request', `${field} is longer than ${max} characters`);
  }
}

/** Throws `bad_request` for text no dialect can store exactly. */
export function checkText(text: string): void {
  if (text.length * 3 > MAX_TEXT_BYTES && Buffer.byteLength(text, 'utf8') > MAX_TEXT_BYTES) {
    throw new ParleyError('bad_request', `message text is longer than ${MAX_TEXT_BYTES} bytes`);
  }
  // PostgreSQL text cannot hold U+0000.
  if (text.includes('\u0000')) throw new ParleyError('bad_request', 'message text contains a NUL character');
}
