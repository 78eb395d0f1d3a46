import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call } from '../http/http-client.js';
import { TEST_API_KEY } from '../support/server-api.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';

// Moderation (issue 17) over the HTTP API and the WebSocket of one node: bans end live
// subscriptions and keep the user out, mutes keep them reading but silent, the moderator role,
// slow mode, word filters and reports.

describe('moderation on one node', { timeout: 60_000 }, () => {
  let srv: TestServer;
  const clients: TestClient[] = [];
  let n = 0;
  const fresh = (prefix: string) => `${prefix}${++n}`;
  const api = (method: string, path: string, body?: unknown) =>
    call(srv.httpUrl, method, `/api/server/${path}`, {
      apiKey: TEST_API_KEY,
      ...(body === undefined ? {} : { body }),
    });
  const as = async (user: string, method: string, path: string, body?: unknown) =>
    call(srv.httpUrl, method, path, {
      token: await srv.token(user, user.toUpperCase()),
      ...(body === undefined ? {} : { body }),
    });

  /** A public channel owned by `owner`, with `members` (their users stored first). */
  async function channel(owner: string, members: readonly string[] = []): Promise<string> {
    for (const id of [owner, ...members])
      assert.equal((await api('PUT', `users/${id}`, { username: id })).status, 200);
    const id = fresh('room');
    assert.equal((await api('POST', 'channels', { id, owner })).status, 201);
    for (const m of members) assert.equal((await api('PUT', `channels/${id}/members/${m}`, {})).status, 200);
    return id;
  }

  async function subscribed(user: string, ch: string): Promise<TestClient> {
    const client = await TestClient.as(srv, user, clients);
    const reply = await client.request({ type: 'subscribe', channel: ch, history: 0 });
    assert.equal(reply.type, 'subscribed', JSON.stringify(reply));
    return client;
  }

  before(async () => {
    srv = await startTestServer({
      env: { PARLEY_API_KEY: TEST_API_KEY },
      limits: { publishBurst: 1000, httpBurst: 1000 },
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await srv?.close();
  });

  it('ends a banned user’s live subscription at once and keeps them from reading, posting and rejoining', async () => {
    const ch = await channel('alice', ['bob']);
    const alice = await subscribed('alice', ch);
    const bob = await subscribed('bob', ch);

    const ban = await as('alice', 'POST', `/api/channels/${ch}/bans/bob`, { reason: 'spam' });
    assert.equal(ban.status, 201, JSON.stringify(ban.body));
    assert.deepEqual(
      {
        user_id: ban.body.ban.user_id,
        until: ban.body.ban.until,
        reason: ban.body.ban.reason,
        by: ban.body.ban.by,
      },
      { user_id: 'bob', until: null, reason: 'spam', by: 'alice' },
    );
    const ended = await bob.next((f) => f.type === 'unsubscribed');
    assert.deepEqual({ channel: ended.channel, reason: ended.reason }, { channel: ch, reason: 'banned' });
    const told = await alice.next((f) => f.type === 'moderation');
    assert.deepEqual(
      { action: told.action, user_id: told.user_id, by: told.by },
      { action: 'banned', user_id: 'bob', by: 'alice' },
    );

    // Nothing of the channel reaches bob any more; he cannot come back.
    const from = bob.frames.length;
    await alice.request({ type: 'publish', channel: ch, text: 'after the ban', client_msg_id: fresh('m') });
    const resub = await bob.request({ type: 'subscribe', channel: ch, history: 0 });
    assert.equal(resub.code, 'banned', JSON.stringify(resub));
    const post = await bob.request({
      type: 'publish',
      channel: ch,
      text: 'let me in',
      client_msg_id: fresh('m'),
    });
    assert.equal(post.code, 'banned');
    assert.equal(bob.frames.slice(from).filter((f) => f.type === 'message').length, 0);
    const history = await as('bob', 'GET', `/api/channels/${ch}/messages`);
    assert.equal(history.status, 403);
    assert.equal(history.body.error.code, 'banned');

    const bans = await as('alice', 'GET', `/api/channels/${ch}/bans`);
    assert.deepEqual(
      bans.body.bans.map((b: { user_id: string }) => b.user_id),
      ['bob'],
    );
    assert.equal((await as('alice', 'DELETE', `/api/channels/${ch}/bans/bob`)).status, 204);
    assert.equal((await as('alice', 'DELETE', `/api/channels/${ch}/bans/bob`)).status, 404);
    const back = await bob.request({ type: 'subscribe', channel: ch, history: 0 });
    assert.equal(back.type, 'subscribed', JSON.stringify(back));
  });

  it('lets a muted user read but not post, saying until when, until the mute ends or is lifted', async () => {
    const ch = await channel('alice', ['bob']);
    const bob = await subscribed('bob', ch);
    const first = await bob.request({
      type: 'publish',
      channel: ch,
      text: 'before',
      client_msg_id: fresh('m'),
    });
    assert.equal(first.type, 'ack');
    const until = Date.now() + 60_000;
    assert.equal((await api('POST', `channels/${ch}/mutes/bob`, { until })).status, 201);
    const refused = await bob.request({
      type: 'publish',
      channel: ch,
      text: 'hello?',
      client_msg_id: fresh('m'),
    });
    assert.equal(refused.code, 'muted');
    assert.equal(refused.until, until);
    assert.match(String(refused.message), new RegExp(new Date(until).toISOString()));
    const http = await as('bob', 'POST', `/api/channels/${ch}/messages`, { text: 'over http' });
    assert.equal(http.status, 403);
    assert.equal(http.body.error.code, 'muted');
    assert.equal(http.body.error.until, until);
    assert.equal((await as('bob', 'GET', `/api/channels/${ch}/messages`)).status, 200, 'reads');
    const own = (await as('alice', 'GET', `/api/channels/${ch}/messages`)).body.messages.at(-1);
    assert.equal(own?.user_id, 'bob');
    const editing = await as('bob', 'PATCH', `/api/channels/${ch}/messages/${own.id}`, {
      text: 'edited while muted',
    });
    assert.equal(editing.status, 403);
    assert.equal(editing.body.error.code, 'muted');
    assert.equal(
      (await as('alice', 'POST', `/api/channels/${ch}/mutes/bob`, {})).status,
      400,
      'a mute needs until',
    );
    assert.equal((await api('GET', `channels/${ch}/mutes`)).body.mutes[0].until, until);
    assert.equal((await api('DELETE', `channels/${ch}/mutes/bob`)).status, 204);
    const ok = await bob.request({ type: 'publish', channel: ch, text: 'thanks', client_msg_id: fresh('m') });
    assert.equal(ok.type, 'ack', JSON.stringify(ok));
  });

  it('gives moderators bans and mutes of lower ranks only, and nothing to members', async () => {
    const ch = await channel('alice', ['carol', 'bob', 'dave']);
    assert.equal((await api('PUT', `channels/${ch}/members/carol`, { role: 'moderator' })).status, 200);
    assert.equal((await as('carol', 'POST', `/api/channels/${ch}/bans/bob`, {})).status, 201);
    assert.equal((await as('carol', 'GET', `/api/channels/${ch}/bans`)).status, 200);
    assert.equal((await as('carol', 'POST', `/api/channels/${ch}/bans/alice`, {})).status, 403);
    assert.equal(
      (await as('carol', 'POST', `/api/channels/${ch}/bans/carol`, {})).status,
      403,
      'not oneself',
    );
    assert.equal(
      (await as('dave', 'POST', `/api/channels/${ch}/mutes/carol`, { until: Date.now() + 1000 })).status,
      403,
    );
    assert.equal((await as('dave', 'GET', `/api/channels/${ch}/bans`)).status, 403);
    // A moderator may not change roles or the channel's title.
    assert.equal(
      (await as('carol', 'PUT', `/api/channels/${ch}/members/dave`, { role: 'readonly' })).status,
      403,
    );
    assert.equal((await as('carol', 'PATCH', `/api/channels/${ch}`, { title: 'Mine' })).status, 403);
    // The owner may mute the moderator.
    assert.equal(
      (await as('alice', 'POST', `/api/channels/${ch}/mutes/carol`, { until: Date.now() + 60_000 })).status,
      201,
    );
  });

  it('refuses a second message within the slow-mode window with retry_after_ms, moderators exempt', async () => {
    const ch = await channel('alice', ['bob']);
    const set = await as('alice', 'PATCH', `/api/channels/${ch}`, { slow_mode_seconds: 60 });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(set.body.channel.slow_mode_seconds, 60);
    assert.equal(
      (await as('alice', 'PATCH', `/api/channels/${ch}`, { slow_mode_seconds: 3601 })).status,
      400,
    );
    assert.equal((await as('bob', 'PATCH', `/api/channels/${ch}`, { slow_mode_seconds: 0 })).status, 403);
    const bob = await subscribed('bob', ch);
    const first = await bob.request({ type: 'publish', channel: ch, text: 'one', client_msg_id: 'slow-1' });
    assert.equal(first.type, 'ack', JSON.stringify(first));
    const second = await bob.request({ type: 'publish', channel: ch, text: 'two', client_msg_id: 'slow-2' });
    assert.equal(second.code, 'slow_mode');
    assert.ok(
      Number(second.retry_after_ms) > 55_000 && Number(second.retry_after_ms) <= 60_000,
      String(second.retry_after_ms),
    );
    // A resend of the first (a reconnecting client) is the stored message, not a refusal.
    const resend = await bob.request({ type: 'publish', channel: ch, text: 'one', client_msg_id: 'slow-1' });
    assert.equal(resend.type, 'ack');
    assert.equal(resend.duplicate, true);
    const http = await as('bob', 'POST', `/api/channels/${ch}/messages`, { text: 'three' });
    assert.equal(http.status, 429);
    assert.equal(http.body.error.code, 'slow_mode');
    for (const text of ['a', 'b']) {
      assert.equal(
        (await as('alice', 'POST', `/api/channels/${ch}/messages`, { text })).status,
        201,
        'owners skip it',
      );
    }
    assert.equal((await as('alice', 'PATCH', `/api/channels/${ch}`, { slow_mode_seconds: 0 })).status, 200);
    const after = await bob.request({
      type: 'publish',
      channel: ch,
      text: 'free again',
      client_msg_id: 'slow-3',
    });
    assert.equal(after.type, 'ack', JSON.stringify(after));
  });

  it('masks and rejects filtered words, server-wide and per channel', async () => {
    const ch = await channel('alice', ['bob']);
    const other = await channel('alice', ['bob']);
    assert.equal((await api('PUT', 'moderation/filters', { words: ['darn'], action: 'mask' })).status, 200);
    const put = await api('PUT', 'moderation/filters', { channel: ch, words: ['heck'], action: 'reject' });
    assert.equal(put.status, 200);
    assert.deepEqual(
      put.body.filters.map((f: { channel: string | null; words: string[]; action: string }) => [
        f.channel,
        f.words,
        f.action,
      ]),
      [
        [null, ['darn'], 'mask'],
        [ch, ['heck'], 'reject'],
      ],
    );
    assert.equal(
      (await api('PUT', 'moderation/filters', { words: ['two words'], action: 'mask' })).status,
      400,
    );
    const bob = await subscribed('bob', ch);
    const masked = await bob.request({
      type: 'publish',
      channel: ch,
      text: 'oh DARN it',
      client_msg_id: fresh('m'),
    });
    assert.equal(masked.type, 'ack');
    const stored = await as('bob', 'GET', `/api/channels/${ch}/messages`);
    assert.equal(stored.body.messages.at(-1).text, 'oh **** it');
    const rejected = await bob.request({
      type: 'publish',
      channel: ch,
      text: 'what the Heck',
      client_msg_id: fresh('m'),
    });
    assert.equal(rejected.code, 'content_rejected');
    // Edits go through the same filters.
    const refusedEdit = await bob.request({ type: 'message_edit', channel: ch, id: masked.id, text: 'heck' });
    assert.equal(refusedEdit.code, 'content_rejected');
    const maskedEdit = await as('bob', 'PATCH', `/api/channels/${ch}/messages/${masked.id}`, {
      text: 'darn again',
    });
    assert.equal(maskedEdit.status, 200, JSON.stringify(maskedEdit.body));
    assert.equal(maskedEdit.body.message.text, '**** again');
    const elsewhere = await as('bob', 'POST', `/api/channels/${other}/messages`, { text: 'heck yes' });
    assert.equal(elsewhere.status, 201, 'the channel list is that channel’s only');
    assert.equal((await api('PUT', 'moderation/filters', { words: [], action: 'mask' })).status, 200);
    assert.equal(
      (await api('PUT', 'moderation/filters', { channel: ch, words: [], action: 'mask' })).status,
      200,
    );
    assert.deepEqual((await api('GET', 'moderation/filters')).body.filters, []);
  });

  it('takes reports from readers and lets the backend page, resolve and dismiss them', async () => {
    const ch = await channel('alice', ['bob']);
    const posted = await as('alice', 'POST', `/api/channels/${ch}/messages`, { text: 'report me' });
    const msg = posted.body.message.id;
    const made = await as('bob', 'POST', `/api/channels/${ch}/messages/${msg}/reports`, { reason: 'rude' });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal(made.body.report.state, 'open');
    assert.equal(
      (await as('bob', 'POST', `/api/channels/${ch}/messages/nope/reports`, { reason: 'x' })).status,
      404,
    );
    await as('bob', 'POST', `/api/channels/${ch}/messages/${msg}/reports`, { reason: 'still rude' });
    const page = await api('GET', 'reports?state=open&limit=1');
    assert.equal(page.body.reports.length, 1);
    assert.equal(page.body.reports[0].reason, 'rude');
    assert.equal(typeof page.body.next_after, 'string');
    const next = await api('GET', `reports?state=open&after=${page.body.next_after}`);
    assert.equal(next.body.reports[0].reason, 'still rude');
    const resolved = await api('POST', `reports/${made.body.report.id}/resolve`);
    assert.equal(resolved.body.report.state, 'resolved');
    assert.equal((await api('POST', `reports/${made.body.report.id}/dismiss`)).status, 409);
    assert.equal((await api('GET', 'reports?state=resolved')).body.reports[0].id, made.body.report.id);
    assert.equal((await api('GET', 'reports?state=nope')).status, 400);
  });
  it('bans, mutes, unmutes and unbans with moderate frames over the WebSocket, for moderators only', async () => {
    const ch = await channel('alice', ['bob', 'carol']);
    const alice = await subscribed('alice', ch);
    const bob = await subscribed('bob', ch);
    const carol = await subscribed('carol', ch);

    const refused = await carol.request({ type: 'moderate', channel: ch, user_id: 'bob', action: 'ban' });
    assert.deepEqual([refused.type, refused.code], ['error', 'forbidden']);
    const bad = await alice.request({ type: 'moderate', channel: ch, user_id: 'bob', action: 'kick' });
    assert.deepEqual([bad.type, bad.code], ['error', 'bad_request']);
    const noEnd = await alice.request({ type: 'moderate', channel: ch, user_id: 'bob', action: 'mute' });
    assert.deepEqual([noEnd.type, noEnd.code], ['error', 'bad_request'], 'a mute needs until');

    const until = Date.now() + 60_000;
    const muted = await alice.request({
      type: 'moderate',
      channel: ch,
      user_id: 'bob',
      action: 'mute',
      until,
      reason: 'cool off',
    });
    assert.deepEqual(
      [muted.type, muted.channel, muted.action, muted.user_id, muted.until, muted.by],
      ['moderation', ch, 'muted', 'bob', until, 'alice'],
    );
    const silent = await bob.request({ type: 'publish', channel: ch, text: 'hi', client_msg_id: 'ws-m1' });
    assert.deepEqual([silent.code, silent.until], ['muted', until]);
    const unmuted = await alice.request({ type: 'moderate', channel: ch, user_id: 'bob', action: 'unmute' });
    assert.equal(unmuted.action, 'unmuted');
    const back = await bob.request({ type: 'publish', channel: ch, text: 'back', client_msg_id: 'ws-m2' });
    assert.equal(back.type, 'ack', JSON.stringify(back));

    const banned = await alice.request({ type: 'moderate', channel: ch, user_id: 'bob', action: 'ban' });
    assert.deepEqual([banned.action, banned.until], ['banned', null]);
    const ended = await bob.next((f) => f.type === 'unsubscribed');
    assert.equal(ended.reason, 'banned');
    const lifted = await alice.request({ type: 'moderate', channel: ch, user_id: 'bob', action: 'unban' });
    assert.equal(lifted.action, 'unbanned');
    const twice = await alice.request({ type: 'moderate', channel: ch, user_id: 'bob', action: 'unban' });
    assert.deepEqual([twice.type, twice.code], ['error', 'not_found']);
    const rejoined = await bob.request({ type: 'subscribe', channel: ch, history: 0 });
    assert.equal(rejoined.type, 'subscribed', 'an unbanned user may come back');
  });
});
