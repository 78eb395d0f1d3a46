import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  hasControlChars,
  isChannelId,
  isChannelName,
  isClientMsgId,
  isEmoji,
  isMessageId,
  isUserId,
  LOGIN_NAME_PATTERN,
  MAX_CLIENT_MSG_ID,
  MAX_EMOJI,
  MAX_USER_ID,
  messageTextProblem,
  NO_CONTROL_PATTERN,
  stripControlChars,
} from '../../src/protocol/field-rules.js';
import * as frameParser from '../../src/protocol/parse-client-frame.js';

describe('field rules', () => {
  it('takes client message ids of 1–64 visible ASCII characters', () => {
    assert.equal(isClientMsgId('c'), true);
    assert.equal(isClientMsgId('x'.repeat(MAX_CLIENT_MSG_ID)), true);
    assert.equal(isClientMsgId('x'.repeat(MAX_CLIENT_MSG_ID + 1)), false);
    assert.equal(isClientMsgId(''), false);
    assert.equal(isClientMsgId('a b'), false);
    assert.equal(isClientMsgId('é'), false);
  });

  it('takes UUID-shaped message ids only', () => {
    assert.equal(isMessageId('0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b'), true);
    assert.equal(isMessageId('0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5'), false);
    assert.equal(isMessageId('0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B'), false);
  });

  it('takes channel ids up to 100 characters and names up to 64 lowercase ones', () => {
    assert.equal(isChannelId('dm:abc_DEF.1-2'), true);
    assert.equal(isChannelId(`a${'b'.repeat(99)}`), true);
    assert.equal(isChannelId(`a${'b'.repeat(100)}`), false);
    assert.equal(isChannelId('-general'), false);
    assert.equal(isChannelName(`a${'b'.repeat(63)}`), true);
    assert.equal(isChannelName(`a${'b'.repeat(64)}`), false);
    assert.equal(isChannelName('Team'), false);
    assert.equal(isChannelName('dm:x'), false);
  });

  it('takes user ids of 1–128 characters without control characters', () => {
    assert.equal(isUserId('x'.repeat(MAX_USER_ID)), true);
    assert.equal(isUserId('x'.repeat(MAX_USER_ID + 1)), false);
    assert.equal(isUserId(''), false);
    assert.equal(isUserId('a\nb'), false);
    assert.equal(isUserId('a\u007fb'), false);
  });

  it('finds and strips control characters, and the pattern refuses them', () => {
    assert.equal(hasControlChars('fine name'), false);
    assert.equal(hasControlChars('tab\there'), true);
    assert.equal(stripControlChars('a\u0000b\u001fc\u007f'), 'abc');
    assert.equal(NO_CONTROL_PATTERN.test('fine'), true);
    assert.equal(NO_CONTROL_PATTERN.test('bad\r'), false);
  });

  it('takes reactions of 1–32 characters without spaces', () => {
    assert.equal(isEmoji('👍'), true);
    assert.equal(isEmoji(':tada:'), true);
    assert.equal(isEmoji('x'.repeat(MAX_EMOJI)), true);
    assert.equal(isEmoji('x'.repeat(MAX_EMOJI + 1)), false);
    assert.equal(isEmoji('a b'), false);
    assert.equal(isEmoji(''), false);
    assert.equal(isEmoji(7), false);
  });

  it('says what is wrong with a message text', () => {
    assert.equal(messageTextProblem('hi'), undefined);
    assert.equal(messageTextProblem(' \n '), 'must not be blank');
    assert.equal(messageTextProblem('a\u0000b'), 'must not contain NUL characters');
  });

  it('takes login names of 3–32 characters starting with a letter or digit', () => {
    assert.equal(LOGIN_NAME_PATTERN.test('al'), false);
    assert.equal(LOGIN_NAME_PATTERN.test('ali'), true);
    assert.equal(LOGIN_NAME_PATTERN.test(`a${'b'.repeat(31)}`), true);
    assert.equal(LOGIN_NAME_PATTERN.test(`a${'b'.repeat(32)}`), false);
    assert.equal(LOGIN_NAME_PATTERN.test('_alice'), false);
  });

  it('are still exported by the frame parser for those who import them from there', () => {
    assert.equal(frameParser.MAX_USER_ID, MAX_USER_ID);
    assert.equal(frameParser.MAX_CLIENT_MSG_ID, MAX_CLIENT_MSG_ID);
    assert.equal(frameParser.MAX_EMOJI, MAX_EMOJI);
    assert.equal(frameParser.isEmoji, isEmoji);
    assert.ok(frameParser.CHANNEL_ID_PATTERN.test('general'));
    assert.ok(frameParser.CHANNEL_NAME_PATTERN.test('general'));
  });
});
