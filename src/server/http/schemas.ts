import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { ParleyError } from '../../protocol/error-catalogue.js';
import {
  CHANNEL_ID_PATTERN,
  CHANNEL_NAME_PATTERN,
  CLIENT_MSG_ID_PATTERN,
  isClientMsgId,
  isEmoji,
  LOGIN_NAME_PATTERN,
  MAX_ATTACHMENT_IDS,
  MAX_CHANNEL_NAME,
  MAX_CLIENT_MSG_ID,
  MAX_DISPLAY_NAME,
  MAX_EMOJI,
  MAX_PASSWORD,
  MAX_TITLE,
  MAX_TOPIC,
  MAX_USER_ID,
  MESSAGE_ID_PATTERN,
  MIN_PASSWORD,
  messageTextProblem,
  NO_CONTROL_PATTERN,
} from '../../protocol/field-rules.js';
import { ROLES } from '../../protocol/frames.js';

// The field rules are src/protocol/field-rules.ts; these schemas word them for HTTP clients.

const text = z.string().superRefine((t, ctx) => {
  const problem = messageTextProblem(t);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});
const clientMsgId = z
  .string()
  .min(1)
  .max(MAX_CLIENT_MSG_ID)
  .regex(CLIENT_MSG_ID_PATTERN, 'must be visible ASCII');
const messageId = z.string().regex(MESSAGE_ID_PATTERN, 'is not a message id');
// Attachment ids are UUIDs too; the node's own per-message limit is checked by the core.
const attachments = z
  .array(z.string().regex(MESSAGE_ID_PATTERN, 'is not an attachment id'))
  .max(MAX_ATTACHMENT_IDS);
const displayName = z
  .string()
  .min(1)
  .max(MAX_DISPLAY_NAME)
  .regex(NO_CONTROL_PATTERN, 'must not contain control characters');
const title = z
  .string()
  .min(1)
  .max(MAX_TITLE)
  .regex(NO_CONTROL_PATTERN, 'must not contain control characters');
const topic = z.string().max(MAX_TOPIC);
const role = z.enum(ROLES as [string, ...string[]]).transform((r) => r as (typeof ROLES)[number]);
// A kick's reason is sent to the user's connections as their close reason.
const MAX_REASON = 100;
// Refresh tokens are 43 characters (32 random bytes, base64url); this only bounds the hashing.
const MAX_REFRESH_TOKEN = 200;

/** A user id (a path parameter or a body field): 1–128 characters, no control characters. */
export const UserId = z
  .string()
  .min(1)
  .max(MAX_USER_ID)
  .regex(NO_CONTROL_PATTERN, 'must not contain control characters');

/** `POST /api/auth/register` and `/login`: a login name and a password. */
export const Credentials = z.strictObject({
  username: z
    .string()
    .regex(LOGIN_NAME_PATTERN, '3–32 of A-Z, a-z, 0-9, "_", "." and "-", starting with a letter or digit'),
  password: z.string().min(MIN_PASSWORD, `must be at least ${MIN_PASSWORD} characters`).max(MAX_PASSWORD),
});

/** `POST /api/auth/refresh` and `/logout`. */
export const RefreshBody = z.strictObject({ refresh_token: z.string().min(1).max(MAX_REFRESH_TOKEN) });

/** `POST /api/channels`. */
export const CreateChannel = z.strictObject({
  id: z.string().regex(CHANNEL_NAME_PATTERN, `1–${MAX_CHANNEL_NAME} of a-z, 0-9, "-" and "_"`),
  title: title.optional(),
  topic: topic.optional(),
  private: z.boolean().optional(),
});

/** `POST /api/server/channels`: a channel with an optional owner. */
export const ServerCreateChannel = CreateChannel.extend({ owner: UserId.optional() });

/** `PATCH /api/channels/:id` (and the server API's). */
export const PatchChannel = z
  .strictObject({
    title: title.optional(),
    topic: topic.optional(),
    archived: z.boolean().optional(),
    // Checked against the configured maximum by the route (moderation-routes.ts).
    slow_mode_seconds: z.number().optional(),
  })
  .refine((p) => Object.keys(p).length > 0, 'give title, topic, archived or slow_mode_seconds');

/** `PUT …/members/:userId`. */
export const SetMember = z.strictObject({ role: role.optional() });

/** `POST /api/dms`. */
export const OpenDm = z.strictObject({ user_id: UserId });

/** `POST /api/channels/:id/messages`. */
export const PostMessage = z.strictObject({
  text,
  client_msg_id: clientMsgId.optional(),
  reply_to: messageId.optional(),
  attachments: attachments.optional(),
});

/** `POST /api/server/messages`. */
export const ServerPostMessage = z.strictObject({
  channel: z.string().regex(CHANNEL_ID_PATTERN, 'is not a channel id'),
  text,
  user_id: UserId.optional(),
  username: displayName.optional(),
  idempotency_key: clientMsgId.optional(),
  reply_to: messageId.optional(),
  attachments: attachments.optional(),
});

/** `PATCH /api/channels/:id/messages/:msgId`. */
export const EditMessage = z.strictObject({ text });

/** `POST …/messages/:msgId/reactions`. */
export const React = z.strictObject({
  emoji: z.string().refine(isEmoji, `must be 1–${MAX_EMOJI} characters without spaces`),
});

/** `PUT /api/channels/:id/read`. */
export const MarkRead = z.strictObject({ seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) });

/** `PUT /api/server/users/:userId`. */
export const PutUser = z.strictObject({ username: displayName });

/** `POST /api/server/users/:userId/logout` and `/ban`. */
export const Disconnect = z.strictObject({
  reason: z.string().max(MAX_REASON).regex(NO_CONTROL_PATTERN).optional(),
});

/** Checks a value against a schema; `bad_request` naming the first field that is wrong. */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? 'body' : `"${issue.path.join('.')}"`;
  throw new ParleyError('bad_request', `${where}: ${issue?.message ?? 'is invalid'}`);
}

/** A non-negative integer query parameter (`before`, `limit` …), or undefined when absent. */
export function seqParam(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new ParleyError('bad_request', `"${name}" must be a non-negative integer`);
  }
  return n;
}

/** The `Idempotency-Key` header (a client message id), or undefined when absent or empty. */
export function idempotencyKey(req: IncomingMessage): string | undefined {
  const key = req.headers['idempotency-key'];
  if (typeof key !== 'string' || key === '') return undefined;
  if (!isClientMsgId(key)) {
    throw new ParleyError(
      'bad_request',
      `Idempotency-Key must be 1–${MAX_CLIENT_MSG_ID} visible ASCII characters`,
    );
  }
  return key;
}
