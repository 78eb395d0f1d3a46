import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ParleyError } from '../../src/protocol/error-catalogue.js';
import type { UserInfo } from '../../src/protocol/frames.js';
import { MemoryBus } from '../../src/server/bus/memory-bus.js';
import { DEFAULT_LIMITS, type Limits } from '../../src/server/config.js';
import { SYSTEM_USER } from '../../src/server/core/actor.js';
import { ChatService } from '../../src/server/core/chat-service.js';
import type { CloseReason, WireEncoder } from '../../src/server/core/delivery.js';
import type { DeliveryEvent } from '../../src/server/core/events.js';
import type { Subscription } from '../../src/server/core/hub.js';
import type { Session } from '../../src/server/core/session.js';
import type { Subscribed } from '../../src/server/core/subscriptions.js';
import { MemoryPresence } from '../../src/server/presence/memory-presence.js';
import { openStore } from '../../src/server/store/open-store.js';
import type { Store } from '../../src/server/store/store.js';
import { until } from '../support/until.js';

// The chat rules, tested on the core alone: a memory bus and presence, SQLite in memory, and
// sessions that record the domain events written to them. No port, no frame decoder.

const identity: WireEncoder<DeliveryEvent> = { wire: 'recording', encode: (event) => event };

let sessionIds = 0;

/** A session of a pretend wire: records what the core writes and how it closed it. */
class RecordingSession implements Session {
  readonly id = `s${++sessionIds}`;
  readonly subscriptions = new Map<string, Subscription>();
  readonly typingAt = new Map<string, number>();
  readonly encoder = identity;
  readonly events: DeliveryEvent[] = [];
  closedWith: CloseReason | undefined;
  constructor(readonly user: UserInfo) {}
  get userId(): string {
    return this.user.id;
  }
  write(event: DeliveryEvent): void {
    this.events.push(event);
  }
  close(reason: CloseReason): void {
    this.closedWith = reason;
  }
  seqs(channel: string): number[] {
    return this.events.flatMap((e) =>
      e.kind === 'message' && e.message.channel === channel ? [e.message.seq] : [],
    );
  }
}

describe('chat core', () => {
  let store: Store;
  let chat: ChatService;
  const errors: unknown[] = [];
  let n = 0;
  const fresh = (p: string) => `${p}${++n}`;
  const limits: Limits = { ...DEFAULT_LIMITS, offlineGraceMs: 10 };

  before(async () => {
    store = await openStore('sqlite::memory:');
    await store.migrate();
    chat = new ChatService({
      store,
      bus: new MemoryBus(),
      presence: new MemoryPresence(),
      limits,
      observer: { error: (err) => errors.push(err) },
    });
    await chat.start();
  });
  after(async () => {
    chat.close();
    await store.close();
    assert.deepEqual(errors, [], 'no error reported to the observer');
  });

  async function session(id: string): Promise<RecordingSession> {
    const s = new RecordingSession({ id, username: id.toUpperCase() });
    await chat.sessionOpened(s);
    return s;
  }

  async function subscribe(s: RecordingSession, channel: string, since?: number): Promise<Subscribed> {
    let state: Subscribed | undefined;
    await chat.subscriptions.subscribe(s, { channel, since }, (announced) => {
      assert.equal(s.seqs(channel).length, 0, 'announced before any live message');
      state = announced;
    });
    assert.ok(state !== undefined, 'announced');
    return state;
  }

  async function channel(options: { private?: boolean; members?: string[] } = {}): Promise<string> {
    const id = fresh('c');
    await chat.channels.create(
      { user: SYSTEM_USER, system: true },
      { channel: id, private: options.private },
    );
    for (const m of options.members ?? []) {
      await store.upsertUser({ id: m, username: m.toUpperCase() });
      await chat.channels.setMember({ user: SYSTEM_USER, system: true }, id, m, 'member');
    }
    return id;
  }

  const system = { user: SYSTEM_USER, system: true } as const;
  const post = (channelId: string, text: string) =>
    chat.messages.post(system, { channel: channelId, text, clientMsgId: null });

  it('gives a subscriber the history, then every live message once, in seq order', async () => {
    const c = await channel();
    await post(c, 'one');
    await post(c, 'two');
    const ann = await session(fresh('ann'));
    const state = await subscribe(ann, c);
    assert.deepEqual(
      state.messages.map((m) => m.text),
      ['one', 'two'],
    );
    assert.equal(state.last_seq, 2);
    await post(c, 'three');
    await post(c, 'four');
    assert.deepEqual(ann.seqs(c), [3, 4]);
  });

  it('resumes after a seq with exactly what came after it', async () => {
    const c = await channel();
    for (const t of ['a', 'b', 'c', 'd']) await post(c, t);
    const ann = await session(fresh('ann'));
    const state = await subscribe(ann, c, 2);
    assert.equal(state.recovered, true);
    assert.deepEqual(
      state.messages.map((m) => m.seq),
      [3, 4],
    );
  });

  it('acknowledges a publish once committed, before subscribers see it; a retry returns the same message', async () => {
    const c = await channel();
    const ann = await session(fresh('ann'));
    await subscribe(ann, c);
    const order: string[] = [];
    const acks: { seq: number; duplicate: boolean }[] = [];
    for (let i = 0; i < 2; i++) {
      const { committed } = await chat.messages.publish(
        ann,
        { channel: c, text: 'hi', clientMsgId: 'k1' },
        (r) => {
          order.push(`ack (delivered so far: ${ann.seqs(c).length})`);
          acks.push({ seq: r.message.seq, duplicate: r.duplicate });
        },
      );
      await committed;
    }
    assert.deepEqual(acks, [
      { seq: 1, duplicate: false },
      { seq: 1, duplicate: true },
    ]);
    assert.equal(order[0], 'ack (delivered so far: 0)');
    assert.deepEqual(ann.seqs(c), [1], 'delivered once');
  });

  it('refuses a private channel to a non-member exactly as a channel that does not exist', async () => {
    const c = await channel({ private: true, members: [fresh('owner')] });
    const eve = await session(fresh('eve'));
    const refusal = (err: unknown) => err instanceof ParleyError && err.code === 'forbidden';
    await assert.rejects(subscribe(eve, c), refusal);
    await assert.rejects(subscribe(eve, 'no-such-channel'), refusal);
    await assert.rejects(chat.messages.post(eve, { channel: c, text: 'x', clientMsgId: null }), refusal);
    await assert.rejects(chat.messages.history(eve, { channel: c }), refusal);
  });

  it('ends a removed member’s subscription to a private channel at once, telling each of their sessions', async () => {
    const bob = fresh('bob');
    const c = await channel({ private: true, members: [bob] });
    const [tab1, tab2] = [await session(bob), await session(bob)];
    await subscribe(tab1, c);
    await subscribe(tab2, c);
    await chat.channels.removeMember(system, c, bob);
    for (const tab of [tab1, tab2]) {
      await until(() => tab.subscriptions.size === 0, 'the subscription to end');
      assert.ok(tab.events.some((e) => e.kind === 'member' && e.role === null));
      assert.ok(tab.events.some((e) => e.kind === 'unsubscribed' && e.channel === c));
    }
    await post(c, 'after');
    assert.deepEqual(tab1.seqs(c), []);
  });

  it('keeps a removed member’s subscription to a public channel (public channels stay readable)', async () => {
    const bob = fresh('bob');
    const c = await channel({ members: [bob] });
    const tab = await session(bob);
    await subscribe(tab, c);
    await chat.channels.removeMember(system, c, bob);
    await post(c, 'still here');
    assert.deepEqual(tab.seqs(c), [1]);
  });

  it('relays typing to the other subscribers only, at most once per interval', async () => {
    const c = await channel();
    const [ann, bob] = [await session(fresh('ann')), await session(fresh('bob'))];
    await subscribe(ann, c);
    await subscribe(bob, c);
    await chat.subscriptions.typing(ann, c);
    await chat.subscriptions.typing(ann, c);
    assert.equal(bob.events.filter((e) => e.kind === 'typing').length, 1);
    assert.equal(ann.events.filter((e) => e.kind === 'typing').length, 0);
  });

  it('announces a join to the others and a leave when the user’s last session there ends', async () => {
    const c = await channel();
    const ann = await session(fresh('ann'));
    await subscribe(ann, c);
    const bobId = fresh('bob');
    const [bob1, bob2] = [await session(bobId), await session(bobId)];
    const state = await subscribe(bob1, c);
    assert.deepEqual(state.presence.map((u) => u.id).sort(), [ann.user.id, bobId].sort());
    await subscribe(bob2, c);
    const presence = () =>
      ann.events.filter((e) => e.kind === 'presence').map((e) => e.kind === 'presence' && e.event);
    assert.deepEqual(presence(), ['join'], 'one join for two tabs');
    await chat.sessionClosed(bob1);
    assert.deepEqual(presence(), ['join'], 'still online in the other tab');
    await chat.sessionClosed(bob2);
    assert.deepEqual(presence(), ['join', 'leave']);
  });

  it('limits a user’s publishing across their sessions, and says when to retry', async () => {
    const c = await channel();
    const id = fresh('ann');
    const [tab1, tab2] = [await session(id), await session(id)];
    const publish = (s: RecordingSession, i: number) =>
      chat.messages.publish(s, { channel: c, text: `m${i}`, clientMsgId: `k${i}` }, () => {});
    const committed: Promise<void>[] = [];
    for (let i = 0; i < limits.publishBurst; i++)
      committed.push((await publish(i % 2 ? tab1 : tab2, i)).committed);
    await Promise.all(committed);
    await assert.rejects(
      publish(tab1, -1),
      (err: unknown) =>
        err instanceof ParleyError &&
        err.code === 'rate_limited' &&
        typeof err.details?.retry_after_ms === 'number' &&
        err.details.retry_after_ms > 0,
    );
  });

  it('closes every session of a disconnected user as kicked', async () => {
    const id = fresh('ann');
    const [tab1, tab2] = [await session(id), await session(id)];
    const other = await session(fresh('bob'));
    await chat.disconnectUser(id, 'banned');
    assert.equal(tab1.closedWith, 'kicked');
    assert.equal(tab2.closedWith, 'kicked');
    assert.equal(other.closedWith, undefined);
  });

  it('tells every session of the user where they read up to', async () => {
    const c = await channel();
    for (const t of ['a', 'b', 'c']) await post(c, t);
    const id = fresh('ann');
    const [tab1, tab2] = [await session(id), await session(id)];
    const moved = await chat.messages.markRead(tab1, c, 99);
    assert.equal(moved.seq, 3, 'capped at the last seq');
    for (const tab of [tab1, tab2]) {
      assert.deepEqual(
        tab.events.filter((e) => e.kind === 'read_position'),
        [{ kind: 'read_position', channel: c, seq: 3 }],
      );
    }
  });

  it('refuses a second subscription to the same channel, and posts to an archived channel', async () => {
    const c = await channel();
    const ann = await session(fresh('ann'));
    await subscribe(ann, c);
    await assert.rejects(
      subscribe(ann, c),
      (err: unknown) => err instanceof ParleyError && err.code === 'conflict',
    );
    await chat.channels.update(system, c, { archived: true });
    assert.ok(ann.events.some((e) => e.kind === 'channel_updated' && e.archived));
    await assert.rejects(
      chat.messages.post(ann, { channel: c, text: 'x', clientMsgId: null }),
      (err: unknown) => err instanceof ParleyError && err.code === 'forbidden',
    );
  });
});
