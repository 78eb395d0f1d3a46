import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { UserInfo } from '../../src/protocol/frames.js';
import { MemoryBus } from '../../src/server/bus/memory-bus.js';
import { DEFAULT_LIMITS } from '../../src/server/config.js';
import { SYSTEM_USER } from '../../src/server/core/actor.js';
import { ChatService } from '../../src/server/core/chat-service.js';
import type { CloseReason, WireEncoder } from '../../src/server/core/delivery.js';
import type { DeliveryEvent } from '../../src/server/core/events.js';
import type { Subscription } from '../../src/server/core/hub.js';
import type { Session } from '../../src/server/core/session.js';
import type { Subscribed } from '../../src/server/core/subscriptions.js';
import { MemoryPresence } from '../../src/server/presence/memory-presence.js';
import type { Presence } from '../../src/server/presence/presence.js';
import { openStore } from '../../src/server/store/open-store.js';
import type { Store } from '../../src/server/store/store.js';

// Channel events that come while a subscribe is pending (between its request and its reply)
// reach the subscriber after the reply, in order, or are reflected in the reply. The pending
// window is held open by a Store or Presence whose next read of one kind answers only when
// the test says so.

const identity: WireEncoder<DeliveryEvent> = { wire: 'recording', encode: (event) => event };

/** What a recording session was written, the reply to its subscribe included. */
type Written = DeliveryEvent | { readonly kind: 'subscribed'; readonly state: Subscribed };

let sessionIds = 0;

/** A session of a pretend wire: records the reply and the events the core writes to it. */
class RecordingSession implements Session {
  readonly id = `s${++sessionIds}`;
  readonly subscriptions = new Map<string, Subscription>();
  readonly typingAt = new Map<string, number>();
  readonly encoder = identity;
  readonly written: Written[] = [];
  closedWith: CloseReason | undefined;
  constructor(readonly user: UserInfo) {}
  get userId(): string {
    return this.user.id;
  }
  write(event: DeliveryEvent): void {
    this.written.push(event);
  }
  close(reason: CloseReason): void {
    this.closedWith ??= reason;
  }
  /** What came after the reply, in order. */
  afterReply(): Written[] {
    const at = this.written.findIndex((w) => w.kind === 'subscribed');
    assert.ok(at >= 0, 'the subscribe was answered');
    return this.written.slice(at + 1);
  }
}

/** A read held open: it has run, and its answer waits for `release`. */
interface Held {
  /** Resolves once the held call has read (and waits). */
  readonly reached: Promise<void>;
  release(): void;
}

/**
 * `target` behind a proxy whose next call of a held method runs at once but answers only when
 * released: a slow reply from the database or from Redis.
 */
function holdable<T extends object>(target: T): { readonly proxy: T; hold(method: keyof T & string): Held } {
  const holds = new Map<PropertyKey, { reached: () => void; released: Promise<void> }>();
  const proxy = new Proxy(target, {
    get(obj, prop) {
      const value: unknown = Reflect.get(obj, prop, obj);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const hold = holds.get(prop);
        if (hold === undefined) return value.apply(obj, args);
        holds.delete(prop);
        return (async () => {
          const answer: unknown = await value.apply(obj, args);
          hold.reached();
          await hold.released;
          return answer;
        })();
      };
    },
  });
  return {
    proxy,
    hold(method) {
      let reached!: () => void;
      let release!: () => void;
      const reachedP = new Promise<void>((resolve) => {
        reached = resolve;
      });
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      holds.set(method, { reached, released });
      return { reached: reachedP, release };
    },
  };
}

describe('events while a subscribe is pending', () => {
  let realStore: Store;
  let stores: ReturnType<typeof holdable<Store>>;
  let presences: ReturnType<typeof holdable<Presence>>;
  let chat: ChatService;
  const errors: unknown[] = [];
  let n = 0;
  const fresh = (p: string) => `${p}${++n}`;
  const system = { user: SYSTEM_USER, system: true } as const;
  const PENDING_MAX = 20;

  before(async () => {
    realStore = await openStore('sqlite::memory:');
    await realStore.migrate();
    stores = holdable(realStore);
    presences = holdable<Presence>(new MemoryPresence());
    chat = new ChatService({
      store: stores.proxy,
      bus: new MemoryBus(),
      presence: presences.proxy,
      limits: { ...DEFAULT_LIMITS, offlineGraceMs: 10 },
      observer: { error: (err) => errors.push(err) },
      hub: { pendingMax: PENDING_MAX },
    });
    await chat.start();
  });
  after(async () => {
    chat.close();
    await realStore.close();
    assert.deepEqual(errors, [], 'no error reported to the observer');
  });

  async function session(prefix: string): Promise<RecordingSession> {
    const id = fresh(prefix);
    const s = new RecordingSession({ id, username: id.toUpperCase() });
    await chat.sessionOpened(s);
    return s;
  }

  /** Starts a subscribe; resolves with its reply's state once it is answered. */
  function subscribe(s: RecordingSession, channel: string): Promise<Subscribed> {
    let state: Subscribed | undefined;
    return chat.subscriptions
      .subscribe(s, { channel }, (announced) => {
        state = announced;
        s.written.push({ kind: 'subscribed', state: announced });
      })
      .then(() => {
        assert.ok(state !== undefined, 'announced');
        return state;
      });
  }

  async function channel(options: { private?: boolean; members?: string[] } = {}): Promise<string> {
    const id = fresh('c');
    await chat.channels.create(system, { channel: id, private: options.private });
    for (const m of options.members ?? []) {
      await chat.channels.setMember(system, id, m, 'member');
    }
    return id;
  }

  const kinds = (written: readonly Written[]) => written.map((w) => w.kind);

  it('delivers messages, typing, edits, reactions and channel updates that came while the history was read, after the reply and in order', {
    timeout: 10_000,
  }, async () => {
    const c = await channel();
    const bob = await session('bob');
    await subscribe(bob, c);
    const first = await chat.messages.post(bob, { channel: c, text: 'one', clientMsgId: null });
    const ann = await session('ann');

    const history = stores.hold('latest');
    const pending = subscribe(ann, c);
    await history.reached;
    const second = await chat.messages.post(bob, { channel: c, text: 'two', clientMsgId: null });
    await chat.subscriptions.typing(bob, c);
    await chat.messages.edit(bob, c, first.message.id, 'one, edited');
    await chat.messages.react(bob, c, second.message.id, '👍');
    await chat.channels.update(system, c, { title: 'Renamed' });
    assert.deepEqual(ann.written, [], 'nothing before the reply');
    history.release();
    const state = await pending;

    assert.deepEqual(
      state.messages.map((m) => [m.seq, m.text]),
      [[1, 'one']],
    );
    const live = ann.afterReply();
    assert.deepEqual(kinds(live), ['message', 'typing', 'edited', 'reaction', 'channel_updated']);
    const [message, typing, edited, reaction, updated] = live;
    assert.ok(message?.kind === 'message' && message.message.seq === 2);
    assert.ok(typing?.kind === 'typing' && typing.user.id === bob.user.id);
    assert.ok(edited?.kind === 'edited' && edited.text === 'one, edited');
    assert.ok(reaction?.kind === 'reaction' && reaction.emoji === '👍' && reaction.count === 1);
    assert.ok(updated?.kind === 'channel_updated' && updated.title === 'Renamed');

    // Live now: the next event comes straight through.
    const third = await chat.messages.post(bob, { channel: c, text: 'three', clientMsgId: null });
    assert.deepEqual(ann.afterReply().at(-1), { kind: 'message', message: third.message });
  });

  it('holds what comes while the access checks run, and gives it only to a session they admit', async () => {
    const c = await channel();
    const bob = await session('bob');
    await subscribe(bob, c);
    const ann = await session('ann');

    // Ann's role is not cached yet: the first read of a subscribe is the Store's.
    const role = stores.hold('getRole');
    const pending = subscribe(ann, c);
    await role.reached;
    await chat.subscriptions.typing(bob, c);
    await chat.channels.update(system, c, { topic: 'new topic' });
    role.release();
    await pending;
    assert.deepEqual(kinds(ann.afterReply()), ['typing', 'channel_updated']);

    const secret = await channel({ private: true, members: [bob.user.id] });
    await subscribe(bob, secret);
    const eve = await session('eve');
    const channelsBefore = chat.hub.channelCount;
    const refused = stores.hold('getRole');
    const denied = subscribe(eve, secret);
    await refused.reached;
    await chat.messages.post(bob, { channel: secret, text: 'for members', clientMsgId: null });
    await chat.subscriptions.typing(bob, secret);
    refused.release();
    await assert.rejects(denied, (err: unknown) => (err as { code?: unknown }).code === 'forbidden');
    assert.deepEqual(eve.written, [], 'nothing held reached a refused session');
    assert.equal(eve.subscriptions.size, 0);
    assert.equal(chat.hub.channelCount, channelsBefore);
  });

  it('drops the presence changes the reply’s list reflects and delivers the later ones; never the subscriber’s own join', async () => {
    const c = await channel();
    const bob = await session('bob');
    await subscribe(bob, c);
    const carol = await session('carol');
    const dave = await session('dave');
    const ann = await session('ann');

    const history = stores.hold('latest');
    const pending = subscribe(ann, c);
    await history.reached;
    // Before ann's presence list is read: in it, so not repeated.
    await subscribe(carol, c);
    const list = presences.hold('list');
    history.release();
    // The list has been read (without dave, with carol): dave's join and carol's leave follow.
    await list.reached;
    await subscribe(dave, c);
    await chat.subscriptions.unsubscribe(carol, c);
    list.release();
    const state = await pending;

    assert.deepEqual(state.presence.map((u) => u.id).sort(), [ann, bob, carol].map((s) => s.user.id).sort());
    assert.deepEqual(
      ann.afterReply().map((w) => (w.kind === 'presence' ? `${w.event} ${w.user.id}` : w.kind)),
      [`join ${dave.user.id}`, `leave ${carol.user.id}`],
    );
    assert.ok(
      !ann.written.some((w) => w.kind === 'presence' && w.user.id === ann.user.id),
      'no presence event about the subscriber itself',
    );
  });

  it('closes the subscriber as a slow consumer past pendingMax held events, and writes none of them', async () => {
    const c = await channel();
    const senders = await Promise.all(Array.from({ length: PENDING_MAX + 1 }, () => session('t')));
    for (const s of senders) await subscribe(s, c);
    const ann = await session('ann');

    const history = stores.hold('latest');
    const pending = subscribe(ann, c);
    await history.reached;
    for (const s of senders) await chat.subscriptions.typing(s, c);
    assert.equal(ann.closedWith, 'slow_consumer');
    // What the wire does when its socket closes.
    await chat.sessionClosed(ann);
    history.release();
    await assert.rejects(pending, (err: unknown) => (err as { code?: unknown }).code === 'conflict');
    assert.deepEqual(ann.written, []);
  });

  it('refuses a second subscribe sent before the first one’s reply, and answers the first', async () => {
    const c = await channel();
    const ann = await session('ann');
    const history = stores.hold('latest');
    const firstTry = subscribe(ann, c);
    await history.reached;
    await assert.rejects(
      subscribe(ann, c),
      (err: unknown) => (err as { code?: unknown }).code === 'conflict',
    );
    history.release();
    await firstTry;
    assert.equal(kinds(ann.written).filter((k) => k === 'subscribed').length, 1);
    assert.equal(ann.subscriptions.size, 1);
  });
});
