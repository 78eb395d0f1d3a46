import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChannelKind, Message } from '../../src/protocol/frames.js';
import { mentionedNames, mentions, pushPayload, pushTopic } from '../../src/server/push/push-payload.js';
import { PushScheduler } from '../../src/server/push/push-scheduler.js';
import type { PushCandidate, PushEntry, PushStore } from '../../src/server/store/push-store.js';

const message = (channel: string, text: string, extra: Partial<Message> = {}): Message => ({
  id: `m-${text.length}`,
  channel,
  seq: 7,
  user_id: 'sender',
  username: 'Sender',
  text,
  ts: 1,
  client_msg_id: null,
  ...extra,
});

/** Schedules `m` with the given candidates; resolves with the entries queued. */
async function entriesFor(kind: ChannelKind, candidates: PushCandidate[], m: Message): Promise<PushEntry[]> {
  const queued: PushEntry[] = [];
  let asked: { mentioned: readonly string[]; members: boolean } | undefined;
  const store = {
    pushCandidates: async (q: { mentioned: readonly string[]; members: boolean }) => {
      asked = q;
      return candidates;
    },
    queuePushes: async (entries: readonly PushEntry[]) => {
      queued.push(...entries);
    },
  } as unknown as PushStore;
  const scheduler = new PushScheduler({
    store,
    channelKind: async () => kind,
    graceMs: 1000,
    queueMax: 10,
    onQueued: () => {},
    onError: (err) => {
      throw err;
    },
  });
  scheduler.messageCreated(m);
  await scheduler.idle();
  if (m.event === undefined) assert.equal(asked?.members, kind === 'dm');
  return queued;
}

describe('PushScheduler', () => {
  it('pushes a DM to its other member by default and with "mentions", never with "none"', async () => {
    const m = message('dm:x', 'hi');
    for (const [level, expected] of [
      [null, 1],
      ['mentions', 1],
      ['all', 1],
      ['none', 0],
    ] as const) {
      const got = await entriesFor('dm', [{ userId: 'bob', username: 'bob', level }], m);
      assert.equal(got.length, expected, `level ${level}`);
      if (expected === 1) assert.equal(got[0]?.urgent, true);
    }
  });

  it('pushes a public message only to "all", and a mention to anyone but "none"', async () => {
    const plain = message('general', 'hello there');
    const mention = message('general', 'hey @Bob, look');
    const bob = (level: PushCandidate['level']): PushCandidate[] => [
      { userId: 'bob', username: 'bob', level },
    ];
    assert.equal((await entriesFor('public', bob(null), plain)).length, 0);
    assert.equal((await entriesFor('public', bob('mentions'), plain)).length, 0);
    const all = await entriesFor('public', bob('all'), plain);
    assert.deepEqual(all, [
      { userId: 'bob', channelId: 'general', seq: 7, messageId: plain.id, urgent: false },
    ]);
    assert.equal((await entriesFor('public', bob(null), mention))[0]?.urgent, true);
    assert.equal((await entriesFor('public', bob('none'), mention)).length, 0);
  });

  it('ignores events triggered through the Pusher-compatible API', async () => {
    const got = await entriesFor('public', [{ userId: 'bob', username: 'bob', level: 'all' }], {
      ...message('general', '{}'),
      event: 'order-shipped',
    });
    assert.deepEqual(got, []);
  });
});

describe('push payload', () => {
  it('reads mentions as unread counts do, and finds the names a text may mention', () => {
    assert.equal(mentions('ping @bob.', 'bob'), true);
    assert.equal(mentions('ping @bobby', 'bob'), false);
    assert.equal(mentions('ping @BOB', 'bob'), true);
    assert.deepEqual(mentionedNames('hi @Bob.smith, and @ann'), ['bob', 'bob.smith', 'bob.smith,', 'ann']);
  });

  it('cuts the newest text, names a DM after its sender, and holds no text of a deleted message', () => {
    const long = 'x'.repeat(500);
    const p = pushPayload({
      channel: { id: 'dm:1', kind: 'dm', title: 'ignored' },
      messages: 3,
      urgent: true,
      latest: message('dm:1', long),
    });
    assert.equal(p.title, 'Sender');
    assert.equal([...(p.latest?.text ?? '')].length, 140);
    const gone = pushPayload({
      channel: { id: 'c', kind: 'private', title: 'Team' },
      messages: 1,
      urgent: false,
      latest: message('c', '', { deleted: true }),
    });
    assert.equal(gone.latest?.text, '');
    assert.ok(Buffer.byteLength(JSON.stringify(p)) < 3000, 'well under the 4 KiB a push may carry');
    assert.match(pushTopic('general'), /^[A-Za-z0-9_-]{32}$/);
  });
});
