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
import { revocationOf } from '../../src/server/core/revalidation.js';
import type { Session } from '../../src/server/core/session.js';
import { MemoryPresence } from '../../src/server/presence/memory-presence.js';
import { openStore } from '../../src/server/store/open-store.js';
import type { Store } from '../../src/server/store/store.js';
import { until } from '../support/until.js';

// The re-check of live sessions and subscriptions against the Store, on the core alone: the
// changes are written to the Store behind the bus's back, as if their events were lost.

const identity: WireEncoder<DeliveryEvent> = { wire: 'recording', encode: (event) => event };
let sessionIds = 0;

class RecordingSession implements Session {
  readonly id = `s${++sessionIds}`;
  readonly subscriptions = new Map<string, Subscription>();
  readonly typingAt = new Map<string, number>();
  readonly encoder = identity;
  readonly events: DeliveryEvent[] = [];
  closedWith: CloseReason | undefined;
  constructor(
    readonly user: UserInfo,
    readonly issuedAt?: number,
  ) {}
  get userId(): string {
    return this.user.id;
  }
  write(event: DeliveryEvent): void {
    this.events.push(event);
  }
  close(reason: CloseReason): void {
    this.closedWith = reason;
  }
  texts(channel: string): string[] {
    return this.events.flatMap((e) =>
      e.kind === 'message' && e.message.channel === channel ? [e.message.text] : [],
    );
  }
}

const system = { user: SYSTEM_USER, system: true } as const;

describe('re-checks of live sessions and subscriptions', () => {
  let store: Store;
  let chat: ChatService;
  const chats: ChatService[] = [];
  const errors: unknown[] = [];
  let n = 0;
  const fresh = (p: string) => `${p}${++n}`;

  async function startChat(recheckIntervalMs: number): Promise<ChatService> {
    const started = new ChatService({
      store,
      bus: new MemoryBus(),
      presence: new MemoryPresence(),
      limits: { ...DEFAULT_LIMITS, offlineGraceMs: 10, recheckWhileDownMs: 10, recheckIntervalMs },
      observer: { error: (err) => errors.push(err) },
    });
    chats.push(started);
    await started.start();
    return started;
  }

  before(async () => {
    store = await openStore('sqlite::memory:');
    await store.migrate();
    // Only the re-checks a test asks for (`chat.recheck()`).
    chat = await startChat(3_600_000);
  });
  after(async () => {
    for (const c of chats) c.close();
    await store.close();
    assert.deepEqual(errors, [], 'no error reported to the observer');
  });

  async function session(id: string, issuedAt?: number, on = chat): Promise<RecordingSession> {
    const s = new RecordingSession({ id, username: id }, issuedAt);
    await on.sessionOpened(s);
    return s;
  }

  async function subscribe(
    s: RecordingSession,
    channel: string,
    authorized = false,
    on = chat,
  ): Promise<void> {
    await on.subscriptions.subscribe(s, { channel, history: 0 }, () => {}, { authorized });
  }

  async function privateChannel(members: readonly string[]): Promise<string> {
    const id = fresh('c');
    await chat.channels.create(system, { channel: id, private: true });
    for (const m of members) {
      await store.upsertUser({ id: m, username: m });
      await chat.channels.setMember(system, id, m, 'member');
    }
    return id;
  }

  const post = (channel: string, text: string) =>
    chat.messages.post(system, { channel, text, clientMsgId: null });

  it('ends the subscriptions of a member removed behind the bus’s back, and tells each connection', async () => {
    const ann = fresh('ann');
    const bob = fresh('bob');
    const c = await privateChannel([ann, bob]);
    const subscribed = await session(ann);
    const other = await session(ann);
    const stays = await session(bob);
    await subscribe(subscribed, c);
    await subscribe(stays, c);
    await store.removeMember(c, ann);

    const result = await chat.recheck();
    assert.equal(result.subscriptionsEnded, 1);
    assert.equal(result.sessionsClosed, 0);
    for (const s of [subscribed, other]) {
      assert.ok(
        s.events.some((e) => e.kind === 'member' && e.channel === c && e.role === null),
        'told of the removal',
      );
    }
    assert.ok(subscribed.events.some((e) => e.kind === 'unsubscribed' && e.channel === c));
    assert.equal(subscribed.subscriptions.has(c), false);
    await post(c, 'after');
    assert.deepEqual(subscribed.texts(c), []);
    assert.deepEqual(stays.texts(c), ['after']);
  });

  it('ends only the removed member’s subscription in a channel many here subscribe to', async () => {
    const users = [1, 2, 3, 4, 5].map(() => fresh('many'));
    const c = await privateChannel(users);
    const subscribed = await Promise.all(users.map((u) => session(u)));
    for (const s of subscribed) await subscribe(s, c);
    await store.removeMember(c, users[2]!);

    const result = await chat.recheck();
    assert.equal(result.subscriptionsEnded, 1);
    assert.deepEqual(
      subscribed.map((s) => s.subscriptions.has(c)),
      [true, true, false, true, true],
    );
  });

  it('leaves public channels and subscriptions the wire authorized itself', async () => {
    const ann = fresh('ann');
    await store.upsertUser({ id: ann, username: ann });
    const pub = fresh('p');
    await chat.channels.create(system, { channel: pub });
    const authorized = await privateChannel([]);
    const s = await session(ann);
    await subscribe(s, pub);
    await subscribe(s, authorized, true);
    await store.removeMember(pub, ann);

    const result = await chat.recheck();
    assert.equal(result.subscriptionsEnded, 0);
    assert.deepEqual([...s.subscriptions.keys()].sort(), [pub, authorized].sort());
  });

  it('closes a banned user’s sessions, and those whose token predates the cut-off, not later ones', async () => {
    const banned = fresh('banned');
    const out = fresh('out');
    for (const id of [banned, out]) await store.upsertUser({ id, username: id });
    const cutoff = Date.now() + 1000;
    const b = await session(banned, cutoff + 5000);
    const before = await session(out, cutoff - 1000);
    const noIat = await session(out);
    const afterCutoff = await session(out, cutoff);
    await store.setUserStatus(banned, { banned: true, tokensValidAfter: cutoff });
    await store.setUserStatus(out, { tokensValidAfter: cutoff });

    const result = await chat.recheck();
    assert.equal(result.sessionsClosed, 3);
    assert.equal(b.closedWith, 'kicked');
    assert.equal(before.closedWith, 'kicked');
    // Without a token `iat`, the time it opened counts: before the cut-off.
    assert.equal(noIat.closedWith, 'kicked');
    assert.equal(afterCutoff.closedWith, undefined);
  });

  it('re-checks on its own, every recheckIntervalMs', async () => {
    const periodic = await startChat(50);
    const ann = fresh('ann');
    const c = await privateChannel([ann]);
    const s = await session(ann, undefined, periodic);
    await subscribe(s, c, false, periodic);
    await store.removeMember(c, ann);
    await until(() => !s.subscriptions.has(c), 'the periodic re-check to end the subscription');
  });

  it('applies the token rule the verifier applies', () => {
    const status = (banned: boolean, tokensValidAfter: number) => ({ banned, tokensValidAfter });
    assert.equal(revocationOf(undefined, undefined), undefined);
    assert.equal(revocationOf(status(false, 0), undefined), undefined);
    assert.equal(revocationOf(status(true, 0), 5), 'banned');
    assert.equal(revocationOf(status(false, 1000), 999), 'revoked');
    assert.equal(revocationOf(status(false, 1000), undefined), 'revoked');
    assert.equal(revocationOf(status(false, 1000), 1000), undefined);
  });
});
