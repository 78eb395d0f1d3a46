import type { Attachment, Message } from '../../protocol/frames.js';

/** The columns an append writes, in the order of its INSERT. */
export const MESSAGE_COLUMNS = [
  'id',
  'channel_id',
  'seq',
  'user_id',
  'username',
  'text',
  'timestamp',
  'client_msg_id',
  'reply_to',
  'event',
  'attachments',
] as const satisfies readonly (keyof NewMessageRow)[];

/** One new `messages` row, as an append inserts it. */
export interface NewMessageRow {
  readonly id: string;
  readonly channel_id: string;
  readonly seq: number;
  readonly user_id: string;
  readonly username: string;
  readonly text: string;
  readonly timestamp: number;
  readonly client_msg_id: string | null;
  readonly reply_to: string | null;
  readonly event: string | null;
  /** The attachment records as JSON (`Attachment[]`), or null when none. */
  readonly attachments: string | null;
}

/** The columns a message is read from (PostgreSQL's `search` column is left out). */
export const MESSAGE_SELECT = [...MESSAGE_COLUMNS, 'edited_at', 'deleted_at'] as const;

/**
 * A `messages` row as every driver returns it: BIGINT columns are numbers, or strings (pg
 * always, mysql2 above 2^53).
 */
export interface MessageRow {
  readonly id: string;
  readonly channel_id: string;
  readonly seq: number | string;
  readonly user_id: string;
  readonly username: string;
  readonly text: string;
  readonly timestamp: number | string;
  readonly client_msg_id: string | null;
  readonly reply_to: string | null;
  readonly event: string | null;
  readonly attachments: string | null;
  readonly edited_at: number | string | null;
  readonly deleted_at: number | string | null;
}

/** A row's BIGINT value as a number; throws when it is not a safe integer. */
export function toInt(value: number | string | bigint): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n))
    throw new Error(`database returned a non-integer where one was expected: ${value}`);
  return n;
}

/** The wire `Message` of a row; a deleted message has empty text. */
export function toMessage(row: MessageRow): Message {
  const deleted = row.deleted_at !== null;
  return {
    id: row.id,
    channel: row.channel_id,
    seq: toInt(row.seq),
    user_id: row.user_id,
    username: row.username,
    text: deleted ? '' : row.text,
    ts: toInt(row.timestamp),
    client_msg_id: row.client_msg_id,
    ...(row.reply_to === null ? {} : { reply_to: row.reply_to }),
    ...(row.event === null ? {} : { event: row.event }),
    ...(row.edited_at === null ? {} : { edited_at: toInt(row.edited_at) }),
    ...(deleted ? { deleted: true as const } : {}),
    // A deleted message's files are gone (the attachment sweep removes them).
    ...(row.attachments === null || deleted
      ? {}
      : { attachments: JSON.parse(row.attachments) as Attachment[] }),
  };
}
