import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';

describe('messages: durable, ordered, resumable', () => {
  let server: TestServer;
  const clients: TestClient[] = [];
  const connect = async (id: string, name = id) => {
    const c = await TestClient.authed(server.url, await server.token(id, name));
    clients.push(c);
    return c;
  };
  const seqs = (frames: readonly Record<string, unknown>[]) => frames.map((f) => Number(f.seq));

  before(async () => {
    server = await startTestServer({
      limits: { publishPerSecond: 10_000, publishBurst: 10_000, resumeMaxGap: 50 },
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });

  it('acks a publish with id and seq, then delivers the same message to subscribers', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    await alice.request({ type: 'channel_create', channel: 'acks' });
    const sub = await bob.request({ type: 'subscribe', channel: 'acks' });
    assert.equal(sub.type, 'subscribed');
    assert.equal(sub.last_seq, 0);
    const ack = await alice.request({
      type: 'publish',
      channel: 'acks',
      text: 'hello 👋',
      client_msg_id: 'm1',
    });
    assert.equal(ack.type, 'ack');
    assert.equal(ack.seq, 1);
    assert.equal(ack.duplicate, false);
    const msg = await bob.next((f) => f.type === 'message' && f.channel === 'acks');
    assert.deepEqual(
      { id: msg.id, seq: msg.seq, user_id: msg.user_id, username: msg.username, text: msg.text, ts: msg.ts },
      { id: ack.id, seq: 1, user_id: 'alice', username: 'alice', text: 'hello 👋', ts: ack.ts },
    );
  });

  it('stores a retried client_msg_id once and acks the retry with the same message', async () => {
    const alice = await connect('alice');
    await alice.request({ type: 'channel_create', channel: 'retry' });
    const frame = { type: 'publish', channel: 'retry', text: 'once', client_msg_id: 'same' };
    const [a, b] = await Promise.all([alice.request(frame), alice.request(frame)]);
    const c = await alice.request(frame);
    assert.equal(a.id, b.id);
    assert.equal(a.id, c.id);
    assert.equal(c.duplicate, true);
    const page = await alice.request({ type: 'history', channel: 'retry' });
    assert.equal((page.messages as unknown[]).length, 1);
  });

  it('gives concurrent senders one gap-free order that every subscriber sees', async () => {
    const owner = await connect('owner');
    await owner.request({ type: 'channel_create', channel: 'race' });
    const senders = await Promise.all(['s1', 's2', 's3'].map((id) => connect(id)));
    const watchers = await Promise.all(['w1', 'w2'].map((id) => connect(id)));
    for (const w of [...watchers, ...senders]) await w.request({ type: 'subscribe', channel: 'race' });
    const perSender = 60;
    await Promise.all(
      senders.map(async (s, i) => {
        const acks = [];
        for (let n = 0; n < perSender; n++) {
          acks.push(
            s.request({ type: 'publish', channel: 'race', text: `${i}:${n}`, client_msg_id: `${i}-${n}` }),
          );
        }
        await Promise.all(acks);
      }),
    );
    const total = perSender * senders.length;
    const orders = await Promise.all(
      [...watchers, ...senders].map(async (w) => {
        const got = await w.collect((f) => f.type === 'message' && f.channel === 'race', total);
        return got.map((f) => `${f.seq}:${f.id}`);
      }),
    );
    const expected = Array.from({ length: total }, (_, i) => i + 1);
    assert.deepEqual(
      orders[0]!.map((s) => Number(s.split(':')[0])),
      expected,
    );
    for (const o of orders) assert.deepEqual(o, orders[0]);
    // Each sender's own messages keep the order they were sent in.
    const texts = watchers[0]!.messages('race').map((f) => String(f.text));
    for (let i = 0; i < senders.length; i++) {
      const mine = texts.filter((t) => t.startsWith(`${i}:`)).map((t) => Number(t.split(':')[1]));
      assert.deepEqual(
        mine,
        [...mine].sort((a, b) => a - b),
      );
    }
  });

  it('sends the latest history on subscribe, then live messages with no gap and no repeat', async () => {
    const alice = await connect('alice');
    await alice.request({ type: 'channel_create', channel: 'hist' });
    for (let i = 1; i <= 30; i++) {
      await alice.request({ type: 'publish', channel: 'hist', text: `m${i}`, client_msg_id: `h${i}` });
    }
    const bob = await connect('bob');
    // Publishing continues while bob subscribes.
    const more = Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        alice.request({ type: 'publish', channel: 'hist', text: `m${31 + i}`, client_msg_id: `h${31 + i}` }),
      ),
    );
    const sub = await bob.request({ type: 'subscribe', channel: 'hist', history: 10 });
    await more;
    const history = seqs(sub.messages as Record<string, unknown>[]);
    assert.equal(history.length, 10);
    const live = seqs(
      await bob.collect((f) => f.type === 'message' && f.channel === 'hist', 50 - history.at(-1)!),
    );
    assert.deepEqual(
      [...history, ...live],
      Array.from({ length: history.length + live.length }, (_, i) => history[0]! + i),
    );
    assert.equal([...history, ...live].at(-1), 50);
  });

  it('never serves a stale edited or deleted text on join, though joins read a cache', async () => {
    const alice = await connect('alice');
    await alice.request({ type: 'channel_create', channel: 'cached' });
    const ids: string[] = [];
    for (let i = 1; i <= 3; i++) {
      ids.push(
        String(
          (
            await alice.request({
              type: 'publish',
              channel: 'cached',
              text: `v1 ${i}`,
              client_msg_id: `c${i}`,
            })
          ).id,
        ),
      );
    }
    const first = await (await connect('bob')).request({ type: 'subscribe', channel: 'cached' });
    assert.deepEqual(
      (first.messages as { text: string }[]).map((m) => m.text),
      ['v1 1', 'v1 2', 'v1 3'],
    );
    assert.equal(
      (await alice.request({ type: 'message_edit', channel: 'cached', id: ids[1], text: 'v2' })).type,
      'message_edited',
    );
    assert.equal(
      (await alice.request({ type: 'message_delete', channel: 'cached', id: ids[2] })).type,
      'message_deleted',
    );
    const again = await (await connect('carol')).request({ type: 'subscribe', channel: 'cached' });
    const msgs = again.messages as { text: string; deleted?: boolean }[];
    assert.equal(msgs[1]!.text, 'v2');
    assert.ok(msgs[2]!.deleted === true && !msgs[2]!.text.includes('v1 3'));
    // Later joins and resumes still agree with the Store after new messages arrive.
    await alice.request({ type: 'publish', channel: 'cached', text: 'v1 4', client_msg_id: 'c4' });
    const resumed = await (await connect('dan')).request({ type: 'subscribe', channel: 'cached', since: 1 });
    assert.deepEqual(
      (resumed.messages as { text: string }[]).map((m) => m.text),
      ['v2', msgs[2]!.text, 'v1 4'],
    );
  });

  it('stores a username change when a user reconnects under a new name', async () => {
    await connect('ren', 'Old Name');
    const friend = await connect('friend');
    assert.equal(
      ((await friend.request({ type: 'dm_open', user_id: 'ren' })).channel as { title: string }).title,
      'Old Name',
    );
    await connect('ren', 'New Name');
    assert.equal(
      ((await friend.request({ type: 'dm_open', user_id: 'ren' })).channel as { title: string }).title,
      'New Name',
    );
  });

  it('pages back through history with a capped page size', async () => {
    const alice = await connect('alice');
    const page = await alice.request({ type: 'history', channel: 'hist', before: 21, limit: 5 });
    assert.deepEqual(seqs(page.messages as Record<string, unknown>[]), [16, 17, 18, 19, 20]);
    assert.equal(page.has_more, true);
    const first = await alice.request({ type: 'history', channel: 'hist', before: 3, limit: 5 });
    assert.deepEqual(seqs(first.messages as Record<string, unknown>[]), [1, 2]);
    assert.equal(first.has_more, false);
    const capped = await alice.request({ type: 'history', channel: 'hist', before: 51, limit: 100_000 });
    assert.equal((capped.messages as unknown[]).length, 50);
    const forward = await alice.request({ type: 'history', channel: 'hist', after: 45, limit: 10 });
    assert.deepEqual(seqs(forward.messages as Record<string, unknown>[]), [46, 47, 48, 49, 50]);
  });

  it('resumes a listener that dropped with exactly the missed messages, in order, once', async () => {
    const alice = await connect('alice');
    await alice.request({ type: 'channel_create', channel: 'resume' });
    const bob1 = await connect('bob');
    const sub = await bob1.request({ type: 'subscribe', channel: 'resume' });
    await alice.request({ type: 'publish', channel: 'resume', text: 'before', client_msg_id: 'r0' });
    await bob1.next((f) => f.type === 'message' && f.channel === 'resume');
    bob1.ws.terminate();
    await bob1.closed;
    for (let i = 1; i <= 10; i++) {
      await alice.request({
        type: 'publish',
        channel: 'resume',
        text: `missed ${i}`,
        client_msg_id: `r${i}`,
      });
    }
    const bob2 = await connect('bob');
    const resumed = await bob2.request({ type: 'subscribe', channel: 'resume', since: 1, epoch: sub.epoch });
    assert.equal(resumed.recovered, true);
    const missed = resumed.messages as Record<string, unknown>[];
    assert.deepEqual(seqs(missed), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.deepEqual(
      missed.map((m) => m.text),
      Array.from({ length: 10 }, (_, i) => `missed ${i + 1}`),
    );
    await alice.request({ type: 'publish', channel: 'resume', text: 'after', client_msg_id: 'r11' });
    const live = await bob2.next((f) => f.type === 'message' && f.channel === 'resume');
    assert.equal(live.seq, 12);
    assert.equal(bob2.messages('resume').length, 1);
  });

  it('resumes from a bare seq when the client has no epoch (parley listen --since N)', async () => {
    const zed = await connect('zed');
    const sub = await zed.request({ type: 'subscribe', channel: 'hist', since: 45 });
    assert.equal(sub.recovered, true);
    assert.deepEqual(seqs(sub.messages as Record<string, unknown>[]), [46, 47, 48, 49, 50]);
  });

  it('answers a resume from another epoch with recovered: false and a fresh history page', async () => {
    const carol = await connect('carol');
    const sub = await carol.request({ type: 'subscribe', channel: 'hist', since: 3, epoch: 'stale-epoch' });
    assert.equal(sub.recovered, false);
    assert.equal(sub.last_seq, 50);
    assert.deepEqual(seqs(sub.messages as Record<string, unknown>[]).slice(-1), [50]);
  });

  it('replays a gap up to resumeMaxGap and refuses a larger one rather than replay part of it', async () => {
    const alice = await connect('alice');
    const { epoch } = await alice.request({ type: 'subscribe', channel: 'hist' });
    // hist holds 50 messages; resumeMaxGap is 50.
    const within = await (await connect('dave')).request({
      type: 'subscribe',
      channel: 'hist',
      since: 0,
      epoch,
    });
    assert.equal(within.recovered, true);
    assert.equal((within.messages as unknown[]).length, 50);
    await alice.request({ type: 'publish', channel: 'hist', text: 'one more', client_msg_id: 'h51' });
    const beyond = await (await connect('erin')).request({
      type: 'subscribe',
      channel: 'hist',
      since: 0,
      epoch,
    });
    assert.equal(beyond.recovered, false);
    assert.equal(beyond.last_seq, 51);
    assert.deepEqual(
      seqs(beyond.messages as Record<string, unknown>[]),
      Array.from({ length: 50 }, (_, i) => i + 2),
    );
  });
});
