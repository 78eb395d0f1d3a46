// The schema's column limits and their checks, shared by `KyselyStore`'s aggregates.
import { ParleyError } from '../../protocol/error-catalogue.js';

// Column limits of the schema, checked before a value reaches SQL: SQLite does not enforce
// varchar lengths and PostgreSQL/MySQL would fail the whole append batch for one long value.
// Where a column holds a field with a rule of its own, the limit is that rule's (field-rules.ts).
export { MAX_CHANNEL_ID, MAX_CLIENT_MSG_ID, MAX_TITLE, MAX_USER_ID } from '../../protocol/field-rules.js';
/** The longest username, in characters (the column; display names are shorter by rule). */
export const MAX_USERNAME = 200;
/** MySQL's TEXT holds 65,535 bytes; the same cap applies everywhere so dialects agree. */
export const MAX_TEXT_BYTES = 65_535;

export { MAX_TOPIC } from '../../protocol/field-rules.js';
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
