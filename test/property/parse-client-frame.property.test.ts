import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isErrorCode, ParleyError } from '../../src/protocol/error-catalogue.js';
import {
  CHANNEL_ID_PATTERN,
  CHANNEL_NAME_PATTERN,
  isChannelId,
  isChannelName,
  isClientMsgId,
  isEmoji,
  isMessageId,
  MAX_CLIENT_MSG_ID,
  MAX_TITLE,
  MAX_USER_ID,
  messageTextProblem,
} from '../../src/protocol/field-rules.js';
import { type ClientFrame, type ClientFrameType, ROLES } from '../../src/protocol/frames.js';
import { type ParseResult, parseClientFrame } from '../../src/protocol/parse-client-frame.js';

// The v1 client frame parser against arbitrary input: it never throws, every refusal carries a
// catalogue code (and the frame's ref when it had a readable one), everything it accepts obeys
// the field rules, and every frame of the documented shapes comes back as it was sent.

const TYPES: readonly ClientFrameType[] = [
  'auth',
  'refresh',
  'ping',
  'subscribe',
  'unsubscribe',
  'publish',
  'message_edit',
  'message_delete',
  'react',
  'read',
  'history',
  'typing',
  'presence',
  'channel_create',
  'member_add',
  'member_remove',
  'dm_open',
  'moderate',
];

/** The codes the parser's doc comment promises for refusals. */
const PARSE_CODES = new Set(['invalid_json', 'bad_request', 'unknown_type']);

/** Parses `text`, failing the property if the parser throws. */
function parse(text: string): ParseResult {
  try {
    return parseClientFrame(text);
  } catch (err) {
    assert.fail(`parseClientFrame threw ${String(err)} on ${JSON.stringify(text).slice(0, 200)}`);
  }
}

/** What is wrong with an accepted frame, by the field rules, or undefined. */
function ruleProblem(frame: ClientFrame): string | undefined {
  const ref = frame.ref;
  if (ref !== undefined && !(typeof ref === 'string' ? ref.length <= 64 : Number.isSafeInteger(ref)))
    return 'ref';
  const seqOk = (v: number | undefined) => v === undefined || (Number.isSafeInteger(v) && v >= 0);
  switch (frame.type) {
    case 'auth':
    case 'refresh':
      return frame.token.length >= 1 && frame.token.length <= 8192 ? undefined : 'token';
    case 'ping':
      return undefined;
    case 'subscribe':
      if (!isChannelId(frame.channel)) return 'channel';
      if (!seqOk(frame.history) || !seqOk(frame.since)) return 'history/since';
      return frame.epoch === undefined || (frame.epoch.length >= 1 && frame.epoch.length <= 64)
        ? undefined
        : 'epoch';
    case 'unsubscribe':
    case 'typing':
    case 'presence':
      return isChannelId(frame.channel) ? undefined : 'channel';
    case 'publish':
      if (!isChannelId(frame.channel)) return 'channel';
      if (messageTextProblem(frame.text) !== undefined) return 'text';
      if (!isClientMsgId(frame.client_msg_id)) return 'client_msg_id';
      return frame.reply_to === undefined || isMessageId(frame.reply_to) ? undefined : 'reply_to';
    case 'message_edit':
      if (messageTextProblem(frame.text) !== undefined) return 'text';
      return isChannelId(frame.channel) && isMessageId(frame.id) ? undefined : 'channel/id';
    case 'message_delete':
      return isChannelId(frame.channel) && isMessageId(frame.id) ? undefined : 'channel/id';
    case 'react':
      return isChannelId(frame.channel) && isMessageId(frame.id) && isEmoji(frame.emoji)
        ? undefined
        : 'react';
    case 'read':
      return isChannelId(frame.channel) && seqOk(frame.seq) ? undefined : 'read';
    case 'history':
      if (!isChannelId(frame.channel)) return 'channel';
      if (!seqOk(frame.before) || !seqOk(frame.after) || !seqOk(frame.limit)) return 'numbers';
      if (frame.limit === 0) return 'limit';
      return frame.before !== undefined && frame.after !== undefined ? 'before and after' : undefined;
    case 'channel_create':
      if (!isChannelName(frame.channel)) return 'channel';
      if (frame.private !== undefined && typeof frame.private !== 'boolean') return 'private';
      return frame.title === undefined || (frame.title.length >= 1 && frame.title.length <= MAX_TITLE)
        ? undefined
        : 'title';
    case 'member_add':
      if (frame.role !== undefined && !ROLES.includes(frame.role)) return 'role';
      return isChannelId(frame.channel) && frame.user_id.length >= 1 && frame.user_id.length <= MAX_USER_ID
        ? undefined
        : 'member';
    case 'member_remove':
      return isChannelId(frame.channel) && frame.user_id.length >= 1 && frame.user_id.length <= MAX_USER_ID
        ? undefined
        : 'member';
    case 'dm_open':
      return frame.user_id.length >= 1 && frame.user_id.length <= MAX_USER_ID ? undefined : 'user_id';
    case 'moderate':
      if (!['ban', 'unban', 'mute', 'unmute'].includes(frame.action)) return 'action';
      if (frame.until !== undefined && !(Number.isSafeInteger(frame.until) && frame.until > 0))
        return 'until';
      if (frame.reason !== undefined && (frame.reason.length < 1 || frame.reason.length > 500))
        return 'reason';
      return isChannelId(frame.channel) && frame.user_id.length >= 1 && frame.user_id.length <= MAX_USER_ID
        ? undefined
        : 'member';
  }
}

/** The ref a frame object carries when the parser can read it back. */
function readableRef(value: unknown): string | number | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const ref = (value as { ref?: unknown }).ref;
  if (typeof ref === 'string' && ref.length <= 64) return ref;
  if (typeof ref === 'number' && Number.isSafeInteger(ref)) return ref;
  return undefined;
}

/** The properties every parse of arbitrary input must have. */
function checkSafe(text: string): void {
  const result = parse(text);
  if (result.ok) {
    assert.ok(TYPES.includes(result.frame.type), `accepted type ${result.frame.type}`);
    assert.equal(ruleProblem(result.frame), undefined, `accepted ${text.slice(0, 200)}`);
    return;
  }
  assert.ok(result.error instanceof ParleyError);
  assert.ok(isErrorCode(result.error.code), `code ${result.error.code}`);
  assert.ok(PARSE_CODES.has(result.error.code), `code ${result.error.code}`);
  assert.ok(result.error.message.length > 0 && result.error.message.length <= 200);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return;
  }
  const ref = readableRef(value);
  if (ref !== undefined) assert.equal(result.ref, ref);
}

const RUNS = { numRuns: 300 };

// Field values near and across the rules, for building frames of every type.
const fieldValue = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.string({ unit: 'binary', maxLength: 70 }),
  fc.stringMatching(CHANNEL_ID_PATTERN),
  fc.stringMatching(CHANNEL_NAME_PATTERN),
  fc.uuid(),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    'a b',
    '😀',
    'x'.repeat(65),
    'x'.repeat(129),
    'owner',
    'root',
    '__proto__',
  ),
  fc.integer({ min: -2, max: 5 }),
  fc.constantFrom(1.5, -0, 2 ** 53, Number.MAX_SAFE_INTEGER, true, false, null),
  fc.array(fc.nat(), { maxLength: 2 }),
  fc.constant({}),
);
const FIELDS = [
  'ref',
  'token',
  'channel',
  'history',
  'since',
  'epoch',
  'text',
  'client_msg_id',
  'reply_to',
  'id',
  'emoji',
  'seq',
  'before',
  'after',
  'limit',
  'private',
  'title',
  'user_id',
  'role',
] as const;
const frameLike = fc.record({
  type: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...TYPES) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'toString',
        '__proto__',
        'constructor',
        'hasOwnProperty',
        '',
        'PUBLISH',
        'auth ',
      ),
    },
    { weight: 1, arbitrary: fieldValue },
  ),
  fields: fc.dictionary(fc.constantFrom(...FIELDS), fieldValue, { maxKeys: 8 }),
});

describe('parseClientFrame, for arbitrary input', () => {
  it('never throws on arbitrary strings, and refuses with a catalogue code', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'binary-ascii' })),
        (text) => checkSafe(text),
      ),
      RUNS,
    );
  });

  it('never throws on arbitrary bytes, read as the session reads them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => checkSafe(Buffer.from(bytes).toString())),
      RUNS,
    );
  });

  it('never throws on arbitrary JSON values, and keeps a readable ref on refusals', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), (value) => checkSafe(JSON.stringify(value) ?? 'null')),
      RUNS,
    );
  });

  it('never throws on objects of every frame type with fields right and wrong, and accepts only what the rules allow', () => {
    fc.assert(
      fc.property(frameLike, ({ type, fields }) => {
        const value = { ...fields, type };
        checkSafe(JSON.stringify(value));
      }),
      { numRuns: 1500 },
    );
  });

  it('keeps a frame whose "__proto__" member is its own (JSON.parse makes it one), harmlessly', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TYPES), fieldValue, (type, proto) => {
        checkSafe(
          `{"type":${JSON.stringify(type)},"__proto__":${JSON.stringify(proto) ?? 'null'},"channel":"general"}`,
        );
      }),
      { numRuns: 100 },
    );
  });
});

// Valid values of each documented field.
const channelId = fc.stringMatching(CHANNEL_ID_PATTERN);
const channelName = fc.stringMatching(CHANNEL_NAME_PATTERN);
const messageId = fc.uuid();
const seq = fc.maxSafeNat();
const ref = fc.oneof(fc.string({ maxLength: 64 }), fc.maxSafeInteger());
const text = fc
  .string({
    unit: fc.oneof(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
      fc.constantFrom('\n', '\t', ' '),
    ),
    minLength: 1,
    maxLength: 200,
  })
  .filter((t) => messageTextProblem(t) === undefined);
const clientMsgId = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  minLength: 1,
  maxLength: MAX_CLIENT_MSG_ID,
});
const emoji = fc.string({ unit: 'grapheme-composite', minLength: 1, maxLength: 16 }).filter(isEmoji);
const nonEmpty = (max: number) => fc.string({ unit: 'binary', minLength: 1, maxLength: Math.floor(max / 2) });
const userId = nonEmpty(MAX_USER_ID);

/** A frame of `type` with these required fields and these optional ones, `ref` optional too. */
function shape<T extends Record<string, fc.Arbitrary<unknown>>>(
  type: ClientFrameType,
  required: T,
  optional: Record<string, fc.Arbitrary<unknown>> = {},
): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .record(
      { ...required, ...optional, ref },
      { requiredKeys: Object.keys(required) as (keyof T & string)[] },
    )
    .map((fields) => ({ type, ...fields }));
}

const validFrame: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  shape('auth', { token: nonEmpty(300) }),
  shape('refresh', { token: nonEmpty(300) }),
  shape('ping', {}),
  shape('subscribe', { channel: channelId }, { history: seq, since: seq, epoch: nonEmpty(64) }),
  shape('unsubscribe', { channel: channelId }),
  shape('publish', { channel: channelId, text, client_msg_id: clientMsgId }, { reply_to: messageId }),
  shape('message_edit', { channel: channelId, id: messageId, text }),
  shape('message_delete', { channel: channelId, id: messageId }),
  shape('react', { channel: channelId, id: messageId, emoji }),
  shape('read', { channel: channelId, seq }),
  fc.oneof(
    shape('history', { channel: channelId }, { before: seq, limit: fc.integer({ min: 1, max: 1000 }) }),
    shape('history', { channel: channelId }, { after: seq, limit: fc.integer({ min: 1, max: 1000 }) }),
  ),
  shape('typing', { channel: channelId }),
  shape('presence', { channel: channelId }),
  shape('channel_create', { channel: channelName }, { private: fc.boolean(), title: nonEmpty(MAX_TITLE) }),
  shape('member_add', { channel: channelId, user_id: userId }, { role: fc.constantFrom(...ROLES) }),
  shape('member_remove', { channel: channelId, user_id: userId }),
  shape('dm_open', { user_id: userId }),
  shape(
    'moderate',
    { channel: channelId, user_id: userId, action: fc.constantFrom('ban', 'unban', 'mute', 'unmute') },
    { until: fc.integer({ min: 1, max: 8_640_000_000_000 }), reason: nonEmpty(500) },
  ),
);

describe('parseClientFrame, for frames of the documented shapes', () => {
  it('gives back every field of every valid frame: parse(JSON.stringify(f)) is f', () => {
    fc.assert(
      fc.property(validFrame, (frame) => {
        const result = parse(JSON.stringify(frame));
        assert.ok(result.ok, result.ok ? '' : `${result.error.code}: ${result.error.message}`);
        assert.deepStrictEqual(result.frame, frame);
        assert.equal(ruleProblem(result.frame), undefined);
      }),
      { numRuns: 1000 },
    );
  });

  it('ignores members it does not know, keeping the frame as documented', () => {
    fc.assert(
      fc.property(
        validFrame,
        fc.dictionary(
          fc.string({ minLength: 1, maxLength: 8 }).map((k) => `x_${k}`),
          fc.jsonValue({ maxDepth: 1 }),
          { maxKeys: 3 },
        ),
        (frame, extra) => {
          const result = parse(JSON.stringify({ ...extra, ...frame }));
          assert.ok(result.ok);
          assert.deepStrictEqual(result.frame, frame);
        },
      ),
      RUNS,
    );
  });
});
