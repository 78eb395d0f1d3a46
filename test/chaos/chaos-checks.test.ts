import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/client/index.js';
import type { WebhookAttempt } from '../support/webhook-receiver.js';
import {
  checkAcksStored,
  checkChannelHistory,
  checkMessageWebhooks,
  checkPresence,
  checkReceived,
  presenceTransitions,
} from './chaos-checks.js';

function msg(seq: number, over: Partial<Message> = {}): Message {
  return {
    id: `m${seq}`,
    channel: 'c',
    seq,
    user_id: 'u',
    username: 'u',
    text: `t${seq}`,
    ts: 1000 + seq,
    client_msg_id: `k${seq}`,
    ...over,
  };
}

function attempt(type: string, deliveryId: string, n: number, status: number, body: unknown): WebhookAttempt {
  return { deliveryId, type, attempt: n, headers: {}, body: JSON.stringify(body), status };
}

const created = (deliveryId: string, m: Message) => ({
  id: deliveryId,
  type: 'message.created',
  created_at: m.ts,
  data: { message: m },
});

describe('the chaos checks', () => {
  it('pass a clean history and name the seq of a gap, a repeat and a twice-stored client_msg_id', () => {
    assert.deepEqual(checkChannelHistory('c', [msg(1), msg(2), msg(3)]), []);
    const problems = checkChannelHistory('c', [
      msg(1),
      msg(3),
      msg(3, { id: 'x' }),
      msg(4, { client_msg_id: 'k1' }),
    ]);
    assert.match(
      problems.join('\n'),
      /position 2 holds seq 3 \(id m3\) after seq 1: a gap \(seq 2 missing\)/,
    );
    assert.match(problems.join('\n'), /position 3 holds seq 3 \(id x\) after seq 3: a repeat/);
    assert.match(problems.join('\n'), /client_msg_id k1 of u stored twice: c#1 \(id m1\) and c#4 \(id m4\)/);
  });

  it('name an acked message missing from the history, or stored under another seq', () => {
    const stored = new Map([['c', [msg(1), msg(2)]]]);
    const ack = (id: string, seq: number, key: string) => ({
      publisher: 'p',
      ack: { id, seq, channel: 'c', ts: 1, client_msg_id: key, duplicate: false },
    });
    assert.deepEqual(checkAcksStored([ack('m1', 1, 'k1'), ack('m2', 2, 'k2')], stored), []);
    const problems = checkAcksStored([ack('m9', 9, 'k9'), ack('m2', 5, 'k2')], stored).join('\n');
    assert.match(problems, /client_msg_id k9 \(c#9, id m9\): no such message/);
    assert.match(problems, /client_msg_id k2 \(c#5, id m2\): the history has it as c#2/);
  });

  it('name the missing, duplicated, reordered and altered messages of a subscriber', () => {
    const stored = [msg(1), msg(2), msg(3), msg(4), msg(5)];
    assert.deepEqual(checkReceived('s', 'c', stored, stored), []);
    const problems = checkReceived('s', 'c', stored, [
      msg(1),
      msg(3),
      msg(3),
      msg(2),
      msg(5, { text: 'other' }),
    ]).join('\n');
    assert.match(problems, /got seq 3 \(id m3\) at position 3, after seq 3: a duplicate/);
    assert.match(problems, /got seq 2 \(id m2\) at position 4, after seq 3: out of order/);
    assert.match(problems, /seq 5 differs from the history in text \(other ≠ t5\)/);
    assert.match(problems, /never got 1 stored: seq 4 \(id m4\)/);
  });

  it('require one delivery id per message, kept across attempts, and an accepted attempt', () => {
    const stored = [msg(1), msg(2), msg(3)];
    const ok = [
      attempt('message.created', 'd1', 1, 503, created('d1', msg(1))),
      attempt('message.created', 'd1', 2, 204, created('d1', msg(1))),
      attempt('message.created', 'd2', 1, 204, created('d2', msg(2))),
      attempt('message.created', 'd3', 1, 204, created('d3', msg(3))),
    ];
    assert.deepEqual(checkMessageWebhooks(stored, ok), []);
    const problems = checkMessageWebhooks(stored, [
      attempt('message.created', 'd1', 1, 503, created('d1', msg(1))),
      attempt('message.created', 'd1b', 2, 204, created('d1b', msg(1))),
      attempt('message.created', 'd2', 1, 500, created('d2', msg(2))),
    ]).join('\n');
    assert.match(problems, /c#1 \(id m1\): 2 delivery ids \(d1, d1b\)/);
    assert.match(problems, /c#2 \(id m2\): never accepted; attempts #1 → 500/);
    assert.match(problems, /c#3 \(id m3\): never attempted/);
  });

  it('order presence by the events’ time, count each event once, and want online, offline… ending offline', () => {
    const ev = (type: string, id: string, user: string, at: number, status = 204) =>
      attempt(type, id, 1, status, {
        id,
        type,
        created_at: at,
        data: { user: { id: user, username: user } },
      });
    const attempts = [
      // The offline is accepted before its online's retry: the order is the events' own.
      ev('user.online', 'a1', 'ann', 10, 503),
      ev('user.offline', 'a2', 'ann', 20),
      ev('user.online', 'a1', 'ann', 10),
      ev('user.offline', 'a2', 'ann', 20),
      ev('user.online', 'b1', 'bob', 10),
      ev('user.online', 'b2', 'bob', 30),
      ev('user.offline', 'b3', 'bob', 40),
      ev('user.online', 'c1', 'cid', 10),
    ];
    const problems = checkPresence(
      ['ann', 'bob', 'cid', 'dan'],
      presenceTransitions(attempts),
      (at) => `@${at}`,
    );
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(
      problems[0]!,
      /^bob: event 2 is user.online \(delivery b2\) where user.offline was due; all: online @10, online @30, offline @40/,
    );
    assert.match(problems[1]!, /^cid: still online after every connection closed/);
    assert.match(problems[2]!, /^dan: no user.online or user.offline accepted/);
  });
});
