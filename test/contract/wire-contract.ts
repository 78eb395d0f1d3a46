import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { serverApi, serverPost, TEST_API_KEY } from '../support/server-api.js';
import { startTestServer, type TestServer } from '../support/start-server.js';

/** A message as any wire shows it. */
export interface WireMessage {
  readonly seq: number;
  readonly text: string;
  readonly userId: string;
}

/** A live event as any wire shows it, reduced to what the contract checks. */
export type WireEvent =
  | { readonly kind: 'message'; readonly channel: string; readonly message: WireMessage }
  | {
      readonly kind: 'presence';
      readonly channel: string;
      readonly event: 'join' | 'leave';
      readonly userId: string;
    }
  | { readonly kind: 'typing'; readonly channel: string; readonly userId: string }
  | { readonly kind: 'edited'; readonly channel: string; readonly seq: number; readonly text: string }
  | { readonly kind: 'deleted'; readonly channel: string; readonly seq: number }
  | { readonly kind: 'removed'; readonly channel: string };

/** A subscription the server refused. */
export class WireRefusal extends Error {
  constructor(readonly code: string) {
    super(`refused: ${code}`);
  }
}

/** One authenticated connection of the wire under test. */
export interface WireConnection {
  /** Subscribes; `since` resumes after that seq. Throws WireRefusal when refused. */
  subscribe(channel: string, since?: number): Promise<{ readonly history: readonly WireMessage[] }>;
  /** Publishes and resolves with the stored seq once acknowledged. */
  publish(channel: string, text: string, clientMsgId: string): Promise<{ readonly seq: number }>;
  typing(channel: string): void;
  /** The first live event (received already, or to come) that matches. */
  next(pred: (e: WireEvent) => boolean, timeoutMs?: number): Promise<WireEvent>;
  /** Every live event so far, in arrival order. */
  readonly events: readonly WireEvent[];
  /** Sends malformed input; resolves with the error the wire answered. */
  sendMalformed(): Promise<string>;
  /** Proves the connection still works (a round trip). */
  roundTrip(): Promise<void>;
  /** Resolves when the server closes the connection, with whether the client may reconnect. */
  readonly closed: Promise<{ readonly code: number; readonly reconnect: boolean }>;
  close(): Promise<void>;
}

/** How the contract drives one wire. */
export interface WireDriver {
  /** Environment the server needs for this wire (PARLEY_* settings). */
  readonly env?: Record<string, string>;
  connect(
    server: TestServer,
    user: { readonly id: string; readonly username: string },
  ): Promise<WireConnection>;
}

/** A group of tests a wire does not support, and why. */
export interface WireSkip {
  readonly reason: string;
  readonly tests: readonly string[];
}

const isMessage = (channel: string, seq: number) => (e: WireEvent) =>
  e.kind === 'message' && e.channel === channel && e.message.seq === seq;

/**
 * The behaviours every wire gives its clients over the shared core (channels, messages,
 * permissions, presence, typing, resume, kicks), run against a real server through the wire's
 * own client. A wire lists what it cannot do in `skip`, each with its reason.
 */
export function wireContract(name: string, driver: WireDriver, skip: readonly WireSkip[] = []): void {
  describe(`wire contract: ${name}`, () => {
    let server: TestServer;
    const open: WireConnection[] = [];
    let n = 0;
    // Every test uses its own channel and users.
    const fresh = (prefix: string) => `${prefix}${++n}x${process.pid}`;
    const connect = async (id: string) => {
      const c = await driver.connect(server, { id, username: id.toUpperCase() });
      open.push(c);
      return c;
    };
    const test = (title: string, fn: () => Promise<void>) => {
      const skipped = skip.find((s) => s.tests.includes(title));
      if (skipped === undefined) it(title, fn);
      else it(title, { skip: skipped.reason }, fn);
    };
    const privateChannel = async (members: readonly string[]) => {
      const id = fresh('priv');
      await serverApi(server, 'POST', 'channels', { id, private: true });
      for (const m of members) {
        await serverApi(server, 'PUT', `users/${m}`, { username: m.toUpperCase() });
        await serverApi(server, 'PUT', `channels/${id}/members/${m}`, {});
      }
      return id;
    };
    const publicChannel = async () => {
      const id = fresh('pub');
      await serverApi(server, 'POST', 'channels', { id });
      return id;
    };

    before(async () => {
      server = await startTestServer({ env: { PARLEY_API_KEY: TEST_API_KEY, ...driver.env } });
    });
    after(async () => {
      await Promise.all(open.map((c) => c.close().catch(() => undefined)));
      await server.close();
    });

    test('delivers a message posted through the server API to every subscriber, once, with its seq', async () => {
      const channel = await publicChannel();
      const [a, b] = [await connect(fresh('ann')), await connect(fresh('bob'))];
      await a.subscribe(channel);
      await b.subscribe(channel);
      await serverPost(server, 'system', channel, 'first');
      await serverPost(server, 'system', channel, 'second');
      for (const c of [a, b]) {
        await c.next(isMessage(channel, 2));
        const got = c.events.filter((e) => e.kind === 'message' && e.channel === channel);
        assert.deepEqual(
          got.map((e) => (e.kind === 'message' ? [e.message.seq, e.message.text] : [])),
          [
            [1, 'first'],
            [2, 'second'],
          ],
        );
      }
    });

    test('what one connection publishes reaches the others in order, acknowledged with its seq', async () => {
      const channel = await publicChannel();
      const ann = fresh('ann');
      const [a, b] = [await connect(ann), await connect(fresh('bob'))];
      await a.subscribe(channel);
      await b.subscribe(channel);
      const acks = [];
      for (let i = 1; i <= 5; i++) acks.push((await a.publish(channel, `m${i}`, `c${i}`)).seq);
      assert.deepEqual(acks, [1, 2, 3, 4, 5]);
      await b.next(isMessage(channel, 5));
      const got = b.events.flatMap((e) => (e.kind === 'message' && e.channel === channel ? [e.message] : []));
      assert.deepEqual(
        got.map((m) => [m.seq, m.text, m.userId]),
        [1, 2, 3, 4, 5].map((i) => [i, `m${i}`, ann]),
      );
    });

    test('a retried publish is stored once', async () => {
      const channel = await publicChannel();
      const a = await connect(fresh('ann'));
      await a.subscribe(channel);
      const first = await a.publish(channel, 'once', 'same-id');
      const again = await a.publish(channel, 'once', 'same-id');
      assert.equal(again.seq, first.seq);
      const b = await connect(fresh('bob'));
      const { history } = await b.subscribe(channel);
      assert.deepEqual(
        history.map((m) => m.text),
        ['once'],
      );
    });

    test('a new subscriber gets the latest history, oldest first', async () => {
      const channel = await publicChannel();
      for (const text of ['one', 'two', 'three']) await serverPost(server, 'system', channel, text);
      const a = await connect(fresh('ann'));
      const { history } = await a.subscribe(channel);
      assert.deepEqual(
        history.map((m) => [m.seq, m.text]),
        [
          [1, 'one'],
          [2, 'two'],
          [3, 'three'],
        ],
      );
    });

    test('resumes after a reconnect with exactly the messages missed', async () => {
      const channel = await publicChannel();
      const user = fresh('ann');
      const first = await connect(user);
      await first.subscribe(channel);
      await serverPost(server, 'system', channel, 'seen');
      await first.next(isMessage(channel, 1));
      await first.close();
      for (const text of ['missed 1', 'missed 2']) await serverPost(server, 'system', channel, text);
      const again = await connect(user);
      const { history } = await again.subscribe(channel, 1);
      await serverPost(server, 'system', channel, 'live');
      await again.next(isMessage(channel, 4));
      const live = again.events.flatMap((e) =>
        e.kind === 'message' && e.channel === channel ? [e.message] : [],
      );
      assert.deepEqual(
        [...history, ...live].map((m) => [m.seq, m.text]),
        [
          [2, 'missed 1'],
          [3, 'missed 2'],
          [4, 'live'],
        ],
      );
    });

    test('refuses a private channel to a non-member, and the connection goes on', async () => {
      const channel = await privateChannel([fresh('owner')]);
      const a = await connect(fresh('eve'));
      await assert.rejects(a.subscribe(channel), WireRefusal);
      await a.roundTrip();
    });

    test('a member removed from a private channel stops receiving it at once', async () => {
      const member = fresh('bob');
      const channel = await privateChannel([member]);
      const b = await connect(member);
      await b.subscribe(channel);
      await serverApi(server, 'DELETE', `channels/${channel}/members/${member}`);
      await b.next((e) => e.kind === 'removed' && e.channel === channel);
      await serverPost(server, 'system', channel, 'after removal');
      const watcher = await connect(fresh('obs'));
      await assert.rejects(watcher.subscribe(channel), WireRefusal);
      await b.roundTrip();
      assert.equal(
        b.events.filter((e) => e.kind === 'message' && e.channel === channel).length,
        0,
        'nothing delivered after the removal',
      );
    });

    test('announces a user coming online in the channel to the others', async () => {
      const channel = await publicChannel();
      const a = await connect(fresh('ann'));
      await a.subscribe(channel);
      const bob = fresh('bob');
      const b = await connect(bob);
      await b.subscribe(channel);
      await a.next(
        (e) => e.kind === 'presence' && e.channel === channel && e.event === 'join' && e.userId === bob,
      );
    });

    test('relays typing to the others, never back to the typist', async () => {
      const channel = await publicChannel();
      const ann = fresh('ann');
      const [a, b] = [await connect(ann), await connect(fresh('bob'))];
      await a.subscribe(channel);
      await b.subscribe(channel);
      a.typing(channel);
      await b.next((e) => e.kind === 'typing' && e.channel === channel && e.userId === ann);
      await a.roundTrip();
      assert.equal(a.events.filter((e) => e.kind === 'typing').length, 0);
    });

    test('pushes edits and deletions to subscribers', async () => {
      const channel = await publicChannel();
      const ann = fresh('ann');
      const a = await connect(ann);
      const b = await connect(fresh('bob'));
      await a.subscribe(channel);
      await b.subscribe(channel);
      const { seq } = await a.publish(channel, 'draft', 'c1');
      const token = await server.token(ann, ann.toUpperCase());
      const page = (await (
        await fetch(`${server.httpUrl}/api/channels/${channel}/messages`, {
          headers: { Authorization: `Bearer ${token}` },
        })
      ).json()) as { messages: { id: string }[] };
      const id = page.messages[0]?.id;
      const call = (method: string, body?: unknown) =>
        fetch(`${server.httpUrl}/api/channels/${channel}/messages/${id}`, {
          method,
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      assert.equal((await call('PATCH', { text: 'final' })).status, 200);
      await b.next((e) => e.kind === 'edited' && e.seq === seq && e.text === 'final');
      assert.equal((await call('DELETE')).status, 204);
      await b.next((e) => e.kind === 'deleted' && e.seq === seq);
    });

    test('answers malformed input with an error and keeps the connection', async () => {
      const a = await connect(fresh('ann'));
      assert.ok((await a.sendMalformed()).length > 0);
      await a.roundTrip();
    });

    test('closes every connection of a disconnected user and tells them not to reconnect', async () => {
      const user = fresh('ann');
      const [a, b] = [await connect(user), await connect(user)];
      await serverApi(server, 'POST', `users/${user}/logout`, { reason: 'test' });
      for (const c of [a, b]) assert.equal((await c.closed).reconnect, false);
    });
  });
}
