import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type FreshDatabase, freshDatabase, testDatabaseKinds } from '../support/fresh-database.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';
import { call } from './http-client.js';

const API_KEY = 'k'.repeat(40);
const ROLES = ['owner', 'admin', 'member', 'readonly', 'outsider'] as const;
type Who = (typeof ROLES)[number];

// On every configured database: search, unread counts and permissions all go through SQL.
for (const kind of testDatabaseKinds()) {
  describe(`HTTP chat API against a real server (${kind})`, () => {
    let server: TestServer;
    let db: FreshDatabase;
    const tokens = new Map<string, string>();
    const clients: TestClient[] = [];
    const api = (method: string, path: string, options?: Parameters<typeof call>[3]) =>
      call(server.httpUrl, method, path, options);
    const as = (who: string, method: string, path: string, body?: unknown) =>
      api(method, path, { token: tokens.get(who) as string, ...(body === undefined ? {} : { body }) });
    const ws = async (who: string) => {
      const c = await TestClient.authed(server.url, tokens.get(who) as string);
      clients.push(c);
      return c;
    };

    before(async () => {
      db = await freshDatabase(kind);
      server = await startTestServer({ databaseUrl: db.url, env: { PARLEY_API_KEY: API_KEY } });
      for (const who of [...ROLES, 'carol']) tokens.set(who, await server.token(who, who.toUpperCase()));
      for (const who of [...ROLES, 'carol']) assert.equal((await as(who, 'GET', '/api/me')).status, 200);
      const created = await as('owner', 'POST', '/api/channels', {
        id: 'secret',
        private: true,
        title: 'Secret plans',
        topic: 'shh',
      });
      assert.equal(created.status, 201);
      assert.equal(created.body.channel.role, 'owner');
      for (const [id, role] of [
        ['admin', 'admin'],
        ['member', 'member'],
        ['readonly', 'readonly'],
      ] as const) {
        const r = await as('owner', 'PUT', `/api/channels/secret/members/${id}`, { role });
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
    });
    after(async () => {
      for (const c of clients) c.close();
      await server.close();
      await db.drop();
    });

    it('answers unknown routes and methods with catalogue errors', async () => {
      const missing = await api('GET', '/api/nope');
      assert.deepEqual(missing.body.error.code, 'not_found');
      const method = await api('DELETE', '/api/channels');
      assert.equal(method.status, 405);
      assert.equal((await api('GET', '/api/channels')).status, 401);
      const bad = await api('GET', '/api/channels', { token: 'not.a.token' });
      assert.equal(bad.status, 401);
      assert.equal(bad.body.error.code, 'auth_failed');
    });

    it('never reveals a private channel to outsiders: the same answer as a missing channel', async () => {
      for (const [method, suffix, body] of [
        ['GET', '', undefined],
        ['GET', '/messages', undefined],
        ['POST', '/messages', { text: 'hi' }],
        ['GET', '/members', undefined],
        ['PATCH', '', { title: 'x' }],
        ['PUT', '/read', { seq: 1 }],
      ] as const) {
        const secret = await as('outsider', method, `/api/channels/secret${suffix}`, body);
        const missing = await as('outsider', method, `/api/channels/missing${suffix}`, body);
        assert.equal(secret.status, 403, `${method} ${suffix}`);
        assert.equal(
          JSON.stringify(secret.body).replace('secret', 'X'),
          JSON.stringify(missing.body).replace('missing', 'X'),
        );
        assert.doesNotMatch(JSON.stringify(secret.body), /Secret plans|shh/);
      }
      const search = await as('outsider', 'GET', '/api/search?q=plans&channel=secret');
      assert.equal(search.status, 403);
      const list = await as('outsider', 'GET', '/api/channels');
      assert.ok(!list.body.channels.some((c: { id: string }) => c.id === 'secret'));
    });

    it('applies the permission matrix to each role and action', async () => {
      const post = await as('member', 'POST', '/api/channels/secret/messages', { text: 'by member' });
      assert.equal(post.status, 201);
      const msgId: string = post.body.message.id;
      const expect: Record<string, Record<Who, number>> = {
        read: { owner: 200, admin: 200, member: 200, readonly: 200, outsider: 403 },
        post: { owner: 201, admin: 201, member: 201, readonly: 403, outsider: 403 },
        react: { owner: 200, admin: 200, member: 200, readonly: 403, outsider: 403 },
        editOthers: { owner: 403, admin: 403, member: 200, readonly: 403, outsider: 403 },
        topic: { owner: 200, admin: 200, member: 403, readonly: 403, outsider: 403 },
        archive: { owner: 200, admin: 403, member: 403, readonly: 403, outsider: 403 },
        members: { owner: 200, admin: 200, member: 200, readonly: 200, outsider: 403 },
        addMember: { owner: 200, admin: 200, member: 403, readonly: 403, outsider: 403 },
        grantAdmin: { owner: 200, admin: 403, member: 403, readonly: 403, outsider: 403 },
      };
      for (const who of ROLES) {
        const got: Record<string, number> = {};
        got.read = (await as(who, 'GET', '/api/channels/secret/messages')).status;
        got.post = (await as(who, 'POST', '/api/channels/secret/messages', { text: `by ${who}` })).status;
        got.react = (
          await as(who, 'POST', `/api/channels/secret/messages/${msgId}/reactions`, { emoji: '👍' })
        ).status;
        got.editOthers = (
          await as(who, 'PATCH', `/api/channels/secret/messages/${msgId}`, { text: `edited by ${who}` })
        ).status;
        got.topic = (await as(who, 'PATCH', '/api/channels/secret', { topic: `topic by ${who}` })).status;
        got.archive = (await as(who, 'PATCH', '/api/channels/secret', { archived: false })).status;
        got.members = (await as(who, 'GET', '/api/channels/secret/members')).status;
        got.addMember = (
          await as(who, 'PUT', '/api/channels/secret/members/carol', { role: 'member' })
        ).status;
        if (got.addMember === 200) await as('owner', 'DELETE', '/api/channels/secret/members/carol');
        got.grantAdmin = (
          await as(who, 'PUT', '/api/channels/secret/members/carol', { role: 'admin' })
        ).status;
        if (got.grantAdmin === 200) await as('owner', 'DELETE', '/api/channels/secret/members/carol');
        for (const action of Object.keys(expect)) {
          assert.equal(got[action], expect[action]?.[who], `${who} ${action}`);
        }
      }
      // Deleting: the author and moderators; not read-only members or outsiders.
      for (const [who, status] of [
        ['readonly', 403],
        ['outsider', 403],
        ['admin', 204],
      ] as const) {
        const m = await as('member', 'POST', '/api/channels/secret/messages', { text: 'to delete' });
        assert.equal(
          (await as(who, 'DELETE', `/api/channels/secret/messages/${m.body.message.id}`)).status,
          status,
          who,
        );
      }
      const own = await as('member', 'POST', '/api/channels/secret/messages', { text: 'mine to delete' });
      assert.equal(
        (await as('member', 'DELETE', `/api/channels/secret/messages/${own.body.message.id}`)).status,
        204,
      );
    });

    it('pushes edits, deletes and reactions made over HTTP to live WebSocket clients, and history shows them', async () => {
      await as('owner', 'POST', '/api/channels', { id: 'live' });
      const watcher = await ws('carol');
      await watcher.request({ type: 'subscribe', channel: 'live' });
      const posted = await as('owner', 'POST', '/api/channels/live/messages', {
        text: 'helo',
        client_msg_id: 'l1',
      });
      const id: string = posted.body.message.id;
      const live = await watcher.next((f) => f.type === 'message' && f.id === id);
      assert.equal(live.text, 'helo');
      await as('owner', 'PATCH', `/api/channels/live/messages/${id}`, { text: 'hello' });
      const edited = await watcher.next((f) => f.type === 'message_edited');
      assert.equal(edited.text, 'hello');
      assert.equal(edited.seq, posted.body.message.seq);
      await as('carol', 'POST', `/api/channels/live/messages/${id}/reactions`, { emoji: '🎉' });
      const reaction = await watcher.next((f) => f.type === 'reaction');
      assert.deepEqual(
        [reaction.emoji, reaction.added, reaction.count, reaction.user_id],
        ['🎉', true, 1, 'carol'],
      );
      const reply = await as('carol', 'POST', '/api/channels/live/messages', {
        text: 'a reply',
        reply_to: id,
      });
      const liveReply = await watcher.next((f) => f.type === 'message' && f.id === reply.body.message.id);
      assert.equal(liveReply.reply_to, id);
      const history = await as('carol', 'GET', '/api/channels/live/messages');
      const first = history.body.messages[0];
      assert.equal(first.text, 'hello');
      assert.ok(first.edited_at > 0);
      assert.deepEqual(first.reactions, [{ emoji: '🎉', count: 1, user_ids: ['carol'] }]);
      const thread = await as('carol', 'GET', `/api/channels/live/messages/${id}/thread`);
      assert.deepEqual(
        thread.body.replies.map((m: { text: string }) => m.text),
        ['a reply'],
      );
      await as('owner', 'DELETE', `/api/channels/live/messages/${id}`);
      const deleted = await watcher.next((f) => f.type === 'message_deleted');
      assert.equal(deleted.id, id);
      const after = await as('carol', 'GET', `/api/channels/live/messages/${id}`);
      assert.deepEqual([after.body.message.text, after.body.message.deleted], ['', true]);
      // The same actions over the WebSocket, answered and broadcast.
      const m2 = await watcher.request({
        type: 'publish',
        channel: 'live',
        text: 'ws text',
        client_msg_id: 'w1',
      });
      const edit = await watcher.request({
        type: 'message_edit',
        channel: 'live',
        id: m2.id,
        text: 'ws edited',
      });
      assert.equal(edit.type, 'message_edited');
      const react = await watcher.request({ type: 'react', channel: 'live', id: m2.id, emoji: '👍' });
      assert.equal(react.added, true);
      const forbidden = await (await ws('outsider')).request({
        type: 'message_delete',
        channel: 'live',
        id: m2.id,
      });
      assert.equal(forbidden.code, 'forbidden');
    });

    it('keeps read positions and unread/mention counts, pushed to the same user’s other connection', async () => {
      await as('owner', 'POST', '/api/channels', { id: 'unread' });
      await as('owner', 'PUT', '/api/channels/unread/members/carol', {});
      const tabA = await ws('carol');
      const tabB = await ws('carol');
      for (const text of ['one', 'hey @CAROL', 'three', '@carol again']) {
        await as('owner', 'POST', '/api/channels/unread/messages', { text });
      }
      const before = (await as('carol', 'GET', '/api/channels')).body.channels.find(
        (c: { id: string }) => c.id === 'unread',
      );
      assert.deepEqual([before.unread, before.mentions, before.last_read_seq, before.last_seq], [4, 2, 0, 4]);
      const read = await tabA.request({ type: 'read', channel: 'unread', seq: 2 });
      assert.equal(read.seq, 2);
      const pushed = await tabB.next((f) => f.type === 'read_position' && f.channel === 'unread');
      assert.equal(pushed.seq, 2);
      const mid = (await as('carol', 'GET', '/api/channels/unread')).body.channel;
      assert.deepEqual([mid.unread, mid.mentions, mid.last_read_seq], [2, 1, 2]);
      // Never backwards; clamped to the last seq.
      assert.equal((await as('carol', 'PUT', '/api/channels/unread/read', { seq: 1 })).body.last_read_seq, 2);
      assert.equal(
        (await as('carol', 'PUT', '/api/channels/unread/read', { seq: 99 })).body.last_read_seq,
        4,
      );
      await tabB.next((f) => f.type === 'read_position' && f.seq === 4);
      const done = (await as('carol', 'GET', '/api/channels/unread')).body.channel;
      assert.deepEqual([done.unread, done.mentions], [0, 0]);
    });

    it('searches only channels the caller may read, with highlights and paging', async () => {
      await as('owner', 'POST', '/api/channels/secret/messages', { text: 'the zanzibar plan is secret' });
      await as('owner', 'POST', '/api/channels', { id: 'open-search' });
      for (let i = 1; i <= 3; i++) {
        await as('owner', 'POST', '/api/channels/open-search/messages', { text: `Zanzibar trip ${i}` });
      }
      const mine = await as('member', 'GET', '/api/search?q=zanzibar&limit=2');
      assert.equal(mine.status, 200);
      assert.equal(mine.body.results.length, 2);
      assert.equal(mine.body.next_offset, 2);
      const rest = await as('member', 'GET', '/api/search?q=zanzibar&limit=2&offset=2');
      const all = [...mine.body.results, ...rest.body.results];
      assert.equal(all.length, 4);
      assert.equal(rest.body.next_offset, null);
      const outsider = await as('outsider', 'GET', '/api/search?q=zanzibar');
      assert.deepEqual(
        outsider.body.results.map((r: { message: { channel: string } }) => r.message.channel),
        ['open-search', 'open-search', 'open-search'],
      );
      const hit = outsider.body.results[0];
      assert.deepEqual(hit.highlights, [[0, 8]]);
      assert.equal((await as('member', 'GET', '/api/search?q=%20')).status, 400);
    });

    it('server API: posts as the system user or a named user, idempotently, and manages channels', async () => {
      const make = await api('POST', '/api/server/channels', {
        apiKey: API_KEY,
        body: { id: 'announcements', title: 'News', owner: 'owner' },
      });
      assert.equal(make.status, 201);
      const watcher = await ws('carol');
      await watcher.request({ type: 'subscribe', channel: 'announcements' });
      const body = { channel: 'announcements', text: 'deploy at 5', idempotency_key: 'deploy-1' };
      const first = await api('POST', '/api/server/messages', { apiKey: API_KEY, body });
      const again = await api('POST', '/api/server/messages', { apiKey: API_KEY, body });
      assert.equal(first.status, 201);
      assert.equal(again.status, 200);
      assert.equal(again.body.duplicate, true);
      assert.equal(again.body.message.id, first.body.message.id);
      assert.equal(first.body.message.user_id, 'system');
      const named = await api('POST', '/api/server/messages', {
        apiKey: API_KEY,
        headers: { 'Idempotency-Key': 'as-owner-1' },
        body: { channel: 'announcements', text: 'from owner', user_id: 'owner' },
      });
      assert.equal(named.body.message.username, 'OWNER');
      await watcher.collect((f) => f.type === 'message' && f.channel === 'announcements', 2);
      assert.equal(watcher.messages('announcements').length, 2);
      const archived = await api('PATCH', '/api/server/channels/announcements', {
        apiKey: API_KEY,
        body: { archived: true },
      });
      assert.equal(archived.body.channel.archived, true);
      await watcher.next((f) => f.type === 'channel_updated' && f.archived === true);
      const refused = await as('owner', 'POST', '/api/channels/announcements/messages', { text: 'late' });
      assert.equal(refused.status, 403);
      const add = await api('PUT', '/api/server/channels/announcements/members/carol', {
        apiKey: API_KEY,
        body: { role: 'readonly' },
      });
      assert.equal(add.body.member.role, 'readonly');
      await watcher.next((f) => f.type === 'member' && f.role === 'readonly');
    });

    it('removes a member over HTTP: every connection of theirs stops receiving at once', async () => {
      const a = await ws('carol');
      const b = await ws('carol');
      await as('owner', 'PUT', '/api/channels/secret/members/carol', { role: 'member' });
      await a.request({ type: 'subscribe', channel: 'secret' });
      await b.request({ type: 'subscribe', channel: 'secret' });
      assert.equal((await as('owner', 'DELETE', '/api/channels/secret/members/carol')).status, 204);
      await a.next((f) => f.type === 'unsubscribed' && f.channel === 'secret');
      await b.next((f) => f.type === 'unsubscribed' && f.channel === 'secret');
      const count = a.messages('secret').length;
      const posted = await as('owner', 'POST', '/api/channels/secret/messages', { text: 'after removal' });
      await as('owner', 'GET', '/api/channels/secret');
      assert.equal(posted.status, 201);
      assert.equal(a.messages('secret').length, count);
    });

    it('opens a DM over HTTP, titled with the other user', async () => {
      const dm = await as('member', 'POST', '/api/dms', { user_id: 'carol' });
      assert.equal(dm.status, 200);
      assert.equal(dm.body.channel.kind, 'dm');
      assert.equal(dm.body.channel.title, 'CAROL');
      const missing = await as('member', 'POST', '/api/dms', { user_id: 'nobody-at-all' });
      assert.equal(missing.status, 404);
    });

    it('serves /healthz, /readyz and /metrics', async () => {
      assert.equal((await api('GET', '/healthz')).status, 200);
      assert.deepEqual((await api('GET', '/readyz')).body, { status: 'ready' });
      const metrics = await api('GET', '/metrics');
      assert.equal(metrics.status, 200);
      for (const name of [
        'parley_connections',
        'parley_messages_published_total',
        'parley_messages_delivered_total',
        'parley_fanout_size_bucket',
        'parley_commit_batch_size_bucket',
        'parley_commit_batch_seconds_bucket',
        'parley_send_queue_drops_total',
        'parley_auth_failures_total{reason="auth_failed"}',
        'parley_nodejs_eventloop_lag_seconds',
      ]) {
        assert.ok(String(metrics.body).includes(name), name);
      }
    });
  });
}
