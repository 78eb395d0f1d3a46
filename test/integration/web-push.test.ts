import assert from 'node:assert/strict';
import { after, before, describe, it, test } from 'node:test';
import type { PushPayload } from '../../src/server/push/push-payload.js';
import { openStore } from '../../src/server/store/open-store.js';
import type { Store } from '../../src/server/store/store.js';
import { call } from '../http/http-client.js';
import {
  type DatabaseKind,
  type FreshDatabase,
  freshDatabase,
  missingServerReason,
  testServerUrl,
} from '../support/fresh-database.js';
import { MockPushService as Mock, type MockPushService } from '../support/mock-push-service.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';

const PUSH_ENV = {
  PARLEY_PUSH: 'on',
  PARLEY_PUSH_SUBJECT: 'mailto:ops@example.com',
  PARLEY_PUSH_INSECURE_LOOPBACK: 'on',
  PARLEY_PUSH_GRACE_MS: '300',
  PARLEY_PUSH_POLL_MS: '50',
  PARLEY_PUSH_PER_WINDOW: '2',
  PARLEY_PUSH_WINDOW_MS: '600000',
};
// A user's last connection counts as gone 100 ms after it closed; a stopped node's users are
// let go by the others' heartbeat within a second.
const LIMITS = { offlineGraceMs: 100, nodeTtlMs: 3000 };

let n = 0;
const fresh = (name: string) => `${name}${++n}${process.pid}`;

webPush('SQLite', 'sqlite');
for (const [name, kind] of [
  ['MariaDB', 'mysql'],
  ['PostgreSQL', 'postgres'],
] as const) {
  if (testServerUrl(kind) === undefined)
    test(`Web Push: ${name}`, { skip: missingServerReason(kind) }, () => {});
  else webPush(name, kind);
}

function webPush(name: string, kind: DatabaseKind): void {
  describe(`Web Push, two nodes on ${name}`, () => {
    let db: FreshDatabase;
    let mock: MockPushService;
    let node: TestServer;
    let other: TestServer;
    // The database as a third process sees it.
    let store: Store;
    let restarted: TestServer | undefined;
    const clients: TestClient[] = [];

    before(async () => {
      db = await freshDatabase(kind);
      mock = await Mock.start();
      const databaseUrl = db.url;
      node = await startTestServer({ databaseUrl, env: PUSH_ENV, limits: LIMITS });
      // A second node on the same database: a cluster of two.
      other = await startTestServer({ databaseUrl, secret: node.secret, env: PUSH_ENV, limits: LIMITS });
      store = await openStore(databaseUrl);
    });
    after(async () => {
      for (const c of clients) c.ws.terminate();
      await store?.close();
      await other?.close();
      await node?.close();
      await restarted?.close();
      await mock?.close();
      await db?.drop();
    });

    /** A user with a token and one browser subscribed at the mock push service. */
    async function subscribed(name: string) {
      const token = await node.token(name, name);
      const key = await call(node.httpUrl, 'GET', '/api/push/vapid-public-key', { token });
      assert.equal(key.status, 200);
      const sub = await mock.subscribe(key.body.public_key);
      const saved = await call(node.httpUrl, 'POST', '/api/push/subscriptions', {
        token,
        body: { endpoint: sub.endpoint, keys: sub.keys, expirationTime: null },
      });
      assert.equal(saved.status, 201, JSON.stringify(saved.body));
      return { id: name, token, sub };
    }
    const sender = async (name: string) => ({ id: name, token: await node.token(name, name) });
    const post = async (server: TestServer, token: string, channel: string, text: string) => {
      const r = await call(server.httpUrl, 'POST', `/api/channels/${encodeURIComponent(channel)}/messages`, {
        token,
        body: { text },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.message;
    };
    const payloads = (sub: Parameters<MockPushService['received']>[0]) =>
      mock.received(sub).map((p) => JSON.parse(p) as PushPayload);
    const nothingPending = async (userId: string) => (await store.push.pendingPushes(userId)).size === 0;

    it('serves one VAPID key for the whole cluster, kept in the database', async () => {
      const token = await node.token('k', 'k');
      const a = await call(node.httpUrl, 'GET', '/api/push/vapid-public-key', { token });
      const b = await call(other.httpUrl, 'GET', '/api/push/vapid-public-key', { token });
      assert.match(a.body.public_key, /^[A-Za-z0-9_-]{87}$/);
      assert.equal(b.body.public_key, a.body.public_key);
      assert.equal((await call(node.httpUrl, 'GET', '/api/push/vapid-public-key')).status, 401);
    });

    it('pushes a burst of DMs to a user who is away as one push that decrypts to what they may read', async () => {
      const bob = await subscribed(fresh('bob'));
      const alice = await sender(fresh('alice'));
      const dm = await call(node.httpUrl, 'POST', '/api/dms', {
        token: alice.token,
        body: { user_id: bob.id },
      });
      assert.equal(dm.status, 200, JSON.stringify(dm.body));
      const channel = dm.body.channel.id as string;
      await post(node, alice.token, channel, 'are you there?');
      const last = await post(other, alice.token, channel, 'call me when you are back');
      await until(() => mock.received(bob.sub).length >= 1, 'the push');
      await until(() => nothingPending(bob.id), 'the push settled');
      const [payload, ...more] = payloads(bob.sub);
      assert.deepEqual(more, [], 'one push for the burst');
      assert.deepEqual(payload, {
        type: 'parley.messages',
        channel,
        kind: 'dm',
        title: alice.id,
        messages: 2,
        urgent: true,
        latest: { id: last.id, seq: last.seq, username: alice.id, text: 'call me when you are back' },
      });
    });

    it('pushes a mention in a public channel, and not the plain messages around it (the default level)', async () => {
      const bob = await subscribed(fresh('bob'));
      const alice = await sender(fresh('alice'));
      await post(node, alice.token, 'general', 'hello everyone');
      await post(node, alice.token, 'general', `@${bob.id}: can you review this?`);
      await until(() => mock.received(bob.sub).length >= 1, 'the push');
      const [payload] = payloads(bob.sub);
      assert.equal(payload?.channel, 'general');
      assert.equal(payload?.title, 'general');
      assert.equal(payload?.messages, 1);
      assert.equal(payload?.latest?.text, `@${bob.id}: can you review this?`);
    });

    it('pushes every message of a channel set to "all", and none of a DM set to "none"', async () => {
      const bob = await subscribed(fresh('bob'));
      const alice = await sender(fresh('alice'));
      const dm = (
        await call(node.httpUrl, 'POST', '/api/dms', { token: alice.token, body: { user_id: bob.id } })
      ).body.channel.id as string;
      const none = await call(node.httpUrl, 'PUT', `/api/channels/${encodeURIComponent(dm)}/notifications`, {
        token: bob.token,
        body: { level: 'none' },
      });
      assert.deepEqual(none.body, { channel: dm, level: 'none', default: false });
      const all = await call(node.httpUrl, 'PUT', '/api/channels/general/notifications', {
        token: bob.token,
        body: { level: 'all' },
      });
      assert.equal(all.body.level, 'all');
      await post(node, alice.token, dm, 'psst');
      await post(node, alice.token, 'general', 'lunch?');
      await node.server.push?.scheduled();
      assert.deepEqual([...(await store.push.pendingPushes(bob.id)).keys()], ['general']);
      await until(() => mock.received(bob.sub).length >= 1, 'the push');
      assert.equal(payloads(bob.sub)[0]?.latest?.text, 'lunch?');
      const back = await call(node.httpUrl, 'PUT', '/api/channels/general/notifications', {
        token: bob.token,
        body: { level: null },
      });
      assert.deepEqual(back.body, { channel: 'general', level: 'mentions', default: true });
    });

    it('sends nothing while the user is connected to any node, then once when they leave unread', async () => {
      const bob = await subscribed(fresh('bob'));
      const alice = await sender(fresh('alice'));
      // Connected to the other node; the message is posted on this one.
      const ws = await TestClient.authed(other.url, bob.token);
      clients.push(ws);
      const held = () => (node.server.push?.outcomes.held ?? 0) + (other.server.push?.outcomes.held ?? 0);
      const heldBefore = held();
      const sentBefore = (node.server.push?.outcomes.sent ?? 0) + (other.server.push?.outcomes.sent ?? 0);
      await post(node, alice.token, 'general', `@${bob.id} standup in 5`);
      await until(() => held() > heldBefore, 'the push held while connected');
      assert.deepEqual(mock.received(bob.sub), []);
      ws.ws.close();
      const sent = () => (node.server.push?.outcomes.sent ?? 0) + (other.server.push?.outcomes.sent ?? 0);
      await until(() => mock.received(bob.sub).length >= 1, 'the push after leaving');
      await until(() => sent() > sentBefore, 'the push counted');
      await until(() => nothingPending(bob.id), 'the push settled');
      assert.equal(sent() - sentBefore, 1, 'sent by one node, once');
      assert.equal(mock.received(bob.sub).length, 1);
    });

    it('sends nothing for a channel the user read meanwhile', async () => {
      const bob = await subscribed(fresh('bob'));
      const alice = await sender(fresh('alice'));
      const m = await post(node, alice.token, 'general', `@${bob.id} quick one`);
      const read = await call(node.httpUrl, 'PUT', '/api/channels/general/read', {
        token: bob.token,
        body: { seq: m.seq },
      });
      assert.equal(read.status, 200);
      await until(() => nothingPending(bob.id), 'the push settled');
      assert.deepEqual(mock.received(bob.sub), []);
    });

    it('drops a subscription its push service answers 410 for', async () => {
      const bob = await subscribed(fresh('bob'));
      const alice = await sender(fresh('alice'));
      mock.expire(bob.sub);
      await post(node, alice.token, 'general', `@${bob.id} hello?`);
      await until(
        async () => (await store.push.pushSubscriptionsOf(bob.id)).length === 0,
        'the subscription dropped',
      );
      await until(() => nothingPending(bob.id), 'the push settled');
    });

    it("holds pushes past the user's rate until the next window", async () => {
      const bob = await subscribed(fresh('bob'));
      const alice = await sender(fresh('alice'));
      const limited = () =>
        (node.server.push?.outcomes.rate_limited ?? 0) + (other.server.push?.outcomes.rate_limited ?? 0);
      const before = limited();
      for (const channel of ['general', 'rate-a', 'rate-b']) {
        if (channel !== 'general') {
          const made = await call(node.httpUrl, 'POST', '/api/channels', {
            token: alice.token,
            body: { id: `${channel}-${n}`, title: channel },
          });
          assert.equal(made.status, 201, JSON.stringify(made.body));
          await post(node, alice.token, `${channel}-${n}`, `@${bob.id} ${channel}`);
        } else await post(node, alice.token, channel, `@${bob.id} ${channel}`);
      }
      await until(() => limited() > before, 'a push over the rate');
      // Two per window: the third waits (collapsed with whatever comes) for the next window.
      await until(() => mock.received(bob.sub).length === 2, 'two pushes');
      await until(
        async () => (await store.push.pendingPushes(bob.id)).size === 1,
        'two settled, one waiting',
      );
      assert.equal(mock.received(bob.sub).length, 2);
    });

    it('refuses subscriptions it could not or should not send to', async () => {
      const token = await node.token('eve', 'eve');
      const keys = { p256dh: `B${'A'.repeat(86)}`, auth: 'A'.repeat(22) };
      for (const [endpoint, why] of [
        ['http://push.example/x', 'https'],
        ['https://internal.example/x', 'push service'],
        [`https://fcm.googleapis.com/${'x'.repeat(1100)}`, 'longer'],
      ] as const) {
        const r = await call(node.httpUrl, 'POST', '/api/push/subscriptions', {
          token,
          body: { endpoint, keys },
        });
        assert.equal(r.status, 400);
        assert.equal(r.body.error.code, 'bad_request');
        assert.match(r.body.error.message, new RegExp(why));
      }
      const badKey = await call(node.httpUrl, 'POST', '/api/push/subscriptions', {
        token,
        body: { endpoint: 'https://fcm.googleapis.com/fcm/send/abc', keys: { ...keys, p256dh: 'short' } },
      });
      assert.equal(badKey.status, 400);
      const ok = await call(node.httpUrl, 'POST', '/api/push/subscriptions', {
        token,
        body: { endpoint: 'https://fcm.googleapis.com/fcm/send/abc', keys },
      });
      assert.equal(ok.status, 201);
      const gone = await call(node.httpUrl, 'DELETE', '/api/push/subscriptions', {
        token,
        body: { endpoint: 'https://fcm.googleapis.com/fcm/send/abc' },
      });
      assert.equal(gone.status, 204);
      const again = await call(node.httpUrl, 'DELETE', '/api/push/subscriptions', {
        token,
        body: { endpoint: 'https://fcm.googleapis.com/fcm/send/abc' },
      });
      assert.equal(again.status, 404);
      const forbidden = await call(node.httpUrl, 'GET', '/api/channels/nope/notifications', { token });
      assert.equal(forbidden.status, 403);
    });

    it('keeps a waiting push across a restart of every node, and the restarted node sends it', async () => {
      const bob = await subscribed(fresh('bob'));
      const alice = await sender(fresh('alice'));
      const ws = await TestClient.authed(node.url, bob.token);
      clients.push(ws);
      const held = () => (node.server.push?.outcomes.held ?? 0) + (other.server.push?.outcomes.held ?? 0);
      const before = held();
      await post(node, alice.token, 'general', `@${bob.id} before the restart`);
      await until(() => held() > before, 'the push held while connected');
      await node.close();
      await other.close();
      assert.deepEqual([...(await store.push.pendingPushes(bob.id)).keys()], ['general']);
      restarted = await startTestServer({
        databaseUrl: db.url,
        secret: node.secret,
        env: PUSH_ENV,
        limits: LIMITS,
      });
      await until(() => mock.received(bob.sub).length === 1, 'the push from the restarted node');
      assert.equal(payloads(bob.sub)[0]?.latest?.text, `@${bob.id} before the restart`);
    });
  });
}
