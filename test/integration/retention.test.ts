import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { RetentionPruner } from '../../src/server/retention/retention-pruner.js';
import { openStore } from '../../src/server/store/open-store.js';
import type { Store } from '../../src/server/store/store.js';
import { serverApi, serverPost, TEST_API_KEY } from '../support/server-api.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const DAY = 86_400_000;
const PAGE_ROWS = 3;

interface Line {
  readonly type: string;
  readonly [key: string]: unknown;
}

describe('retention, export and erasure over HTTP and WebSocket (issue 17)', () => {
  let srv: TestServer;
  let other: Store;
  const clients: TestClient[] = [];

  let hooks: WebhookReceiver;

  before(async () => {
    hooks = await WebhookReceiver.start();
    srv = await startTestServer({
      env: {
        PARLEY_API_KEY: TEST_API_KEY,
        PARLEY_EXPORT_PAGE_ROWS: String(PAGE_ROWS),
        PARLEY_WEBHOOK_URLS: hooks.url,
        PARLEY_WEBHOOK_SECRET: 'w'.repeat(40),
      },
    });
    // A second store on the node's database: the pruner of another node.
    other = await openStore(srv.databaseUrl);
  });
  after(async () => {
    for (const c of clients) c.close();
    await other?.close();
    await srv?.close();
    await hooks?.close();
  });

  const api = (
    method: string,
    path: string,
    init: { key?: string | null; token?: string; body?: unknown } = {},
  ) =>
    fetch(`${srv.httpUrl}${path}`, {
      method,
      headers: {
        ...(init.key === null ? {} : { 'X-Api-Key': init.key ?? TEST_API_KEY }),
        ...(init.token === undefined ? {} : { Authorization: `Bearer ${init.token}` }),
        ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });

  async function ndjson(path: string): Promise<Line[]> {
    const res = await api('GET', path);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson; charset=utf-8');
    const text = await res.text();
    assert.ok(text.endsWith('\n'), 'every record ends its line');
    return text
      .slice(0, -1)
      .split('\n')
      .map((line) => JSON.parse(line) as Line);
  }

  const seqs = (frame: Record<string, unknown>) => (frame.messages as { seq: number }[]).map((m) => m.seq);

  it('a resume from before what retention kept answers recovered: false; nothing pruned is served', async () => {
    await serverApi(srv, 'POST', 'channels', { id: 'pruned', title: 'Pruned' });
    for (let i = 1; i <= 5; i++) await serverPost(srv, 'alice', 'pruned', `old ${i}`);
    await serverApi(srv, 'PATCH', 'channels/pruned', { retention_days: 1 });
    const pruner = new RetentionPruner({
      store: other,
      days: 0,
      intervalMs: 60_000,
      batchRows: 2,
      pauseMs: 0,
      leaseMs: 60_000,
      now: () => Date.now() + 2 * DAY,
    });
    // The node's own first pass (at its start) may still hold the lease: then this one skips.
    let pass = await pruner.runOnce();
    await until(async () => {
      if (pass.skipped) pass = await pruner.runOnce();
      return !pass.skipped;
    }, 'the retention lease');
    assert.ok(pass.pruned >= 5);
    for (let i = 6; i <= 7; i++) await serverPost(srv, 'alice', 'pruned', `new ${i}`);

    const bob = await TestClient.as(srv, 'bob', clients);
    const stale = await bob.request({ type: 'subscribe', channel: 'pruned', since: 2 });
    assert.equal(stale.type, 'subscribed');
    assert.equal(stale.recovered, false);
    assert.deepEqual(seqs(stale), [6, 7], 'the latest page, without the pruned messages the cache held');

    const carl = await TestClient.as(srv, 'carl', clients);
    const fresh = await carl.request({ type: 'subscribe', channel: 'pruned' });
    assert.deepEqual(seqs(fresh), [6, 7]);
    const dora = await TestClient.as(srv, 'dora', clients);
    const kept = await dora.request({ type: 'subscribe', channel: 'pruned', since: 5 });
    assert.equal(kept.recovered, true, 'a resume from what is kept is served');
    assert.deepEqual(seqs(kept), [6, 7]);

    const res = await api('GET', '/api/server/channels/pruned/members');
    assert.equal(res.status, 200);
    const channel = await (
      await api('PATCH', '/api/server/channels/pruned', { body: { title: 'P' } })
    ).json();
    assert.equal(channel.channel.retention_days, 1);
    assert.equal(channel.channel.pruned_seq, 5);
    const cleared = await (
      await api('PATCH', '/api/server/channels/pruned', { body: { retention_days: null } })
    ).json();
    assert.equal(cleared.channel.retention_days, null);
    const bad = await api('PATCH', '/api/server/channels/pruned', { body: { retention_days: -1 } });
    assert.equal(bad.status, 400);
  });

  it("exports a user's records as NDJSON, read over several pages", async () => {
    await serverApi(srv, 'PUT', 'users/erin', { username: 'Erin' });
    await serverApi(srv, 'POST', 'channels', { id: 'erins', title: 'Erin’s' });
    await serverApi(srv, 'PUT', 'channels/erins/members/erin', { role: 'admin' });
    const texts = Array.from({ length: 2 * PAGE_ROWS + 2 }, (_, i) => `erin says ${i}`);
    for (const text of texts) await serverPost(srv, 'erin', 'erins', text);
    const token = await srv.token('erin', 'Erin');
    const history = await (await api('GET', '/api/channels/erins/messages', { key: null, token })).json();
    const ids = (history.messages as { id: string; seq: number }[]).map((m) => m.id);
    for (const id of ids.slice(0, PAGE_ROWS + 1)) {
      const r = await api('POST', `/api/channels/erins/messages/${id}/reactions`, {
        key: null,
        token,
        body: { emoji: '👍' },
      });
      assert.equal(r.status, 200, await r.text());
    }
    const read = await api('PUT', '/api/channels/erins/read', { key: null, token, body: { seq: 4 } });
    assert.equal(read.status, 200, await read.text());

    const lines = await ndjson('/api/server/users/erin/export');
    const types = lines.map((l) => l.type);
    assert.equal(types[0], 'user');
    assert.deepEqual(lines[0]?.user, {
      id: 'erin',
      username: 'Erin',
      created_at: (lines[0]?.user as { created_at: number } | undefined)?.created_at,
      banned: false,
      tokens_valid_after: 0,
    });
    assert.deepEqual(
      lines.filter((l) => l.type === 'membership'),
      [{ type: 'membership', channel: 'erins', kind: 'public', role: 'admin' }],
    );
    assert.deepEqual(
      lines.filter((l) => l.type === 'read_position'),
      [{ type: 'read_position', channel: 'erins', seq: 4 }],
    );
    const messages = lines
      .filter((l) => l.type === 'message')
      .map((l) => (l.message as { text: string }).text);
    assert.deepEqual(messages, texts, 'every message once, in order, across pages');
    const reactions = lines.filter((l) => l.type === 'reaction');
    assert.equal(reactions.length, PAGE_ROWS + 1);
    assert.ok(reactions.every((r) => r.channel === 'erins' && r.emoji === '👍'));
    assert.deepEqual(lines.at(-1), { type: 'end', records: lines.length - 1 });
    // Sections in order: the profile, memberships, read positions, messages, reactions.
    const order = ['user', 'membership', 'read_position', 'message', 'reaction', 'end'];
    const ranks = types.map((t) => order.indexOf(t));
    assert.deepEqual(
      ranks,
      [...ranks].sort((a, b) => a - b),
    );
  });

  it('exports a channel: the channel, its members, then every message in seq order', async () => {
    const lines = await ndjson('/api/server/channels/erins/export');
    assert.equal(lines[0]?.type, 'channel');
    assert.equal((lines[0]?.channel as { id: string } | undefined)?.id, 'erins');
    assert.deepEqual(
      lines.filter((l) => l.type === 'member').map((l) => [l.user_id, l.role]),
      [['erin', 'admin']],
    );
    const seqList = lines.filter((l) => l.type === 'message').map((l) => (l.message as { seq: number }).seq);
    assert.deepEqual(
      seqList,
      Array.from({ length: 2 * PAGE_ROWS + 2 }, (_, i) => i + 1),
    );
    assert.deepEqual(lines.at(-1), { type: 'end', records: lines.length - 1 });
  });

  it('refuses an export of an unknown user or channel, and one without the API key', async () => {
    assert.equal((await api('GET', '/api/server/users/nobody/export')).status, 404);
    assert.equal((await api('GET', '/api/server/channels/nowhere/export')).status, 404);
    assert.equal((await api('GET', '/api/server/users/erin/export', { key: null })).status, 401);
  });

  it('erases a user with messages=delete: their connection closes, their texts go, a second call is 404', async () => {
    await serverApi(srv, 'POST', 'channels', { id: 'erase-d', title: 'D' });
    const token = await srv.token('fred', 'Fred');
    const fred = await TestClient.authed(srv.url, token);
    clients.push(fred);
    await fred.request({ type: 'subscribe', channel: 'erase-d' });
    const sent = await fred.request({
      type: 'publish',
      channel: 'erase-d',
      text: 'fred was here',
      client_msg_id: 'f1',
    });
    assert.equal(sent.type, 'ack', JSON.stringify(sent));
    await serverPost(srv, 'alice', 'erase-d', 'alice stays');

    const bobToken = await srv.token('bob', 'Bob');
    const before_ = await (await api('GET', '/api/search?q=fred', { key: null, token: bobToken })).json();
    assert.equal(before_.results.length, 1, 'found before the erasure');
    const res = await api('DELETE', '/api/server/users/fred?messages=delete');
    assert.equal(res.status, 200, await res.clone().text());
    const body = await res.json();
    assert.equal(body.erased.user_id, 'fred');
    assert.equal(body.erased.messages, 'delete');
    const code = await fred.closed;
    assert.ok(code >= 4500 && code <= 4999, `a terminal close, got ${code}`);

    const bob = await srv.token('bob', 'Bob');
    const page = await (await api('GET', '/api/channels/erase-d/messages', { key: null, token: bob })).json();
    assert.deepEqual(
      (page.messages as { user_id: string; text: string; deleted?: boolean }[]).map((m) => [
        m.user_id,
        m.text,
        m.deleted === true,
      ]),
      [
        ['erased', '', true],
        ['alice', 'alice stays', false],
      ],
    );
    // Nor from the history cache, which held the message as sent.
    const ida = await TestClient.as(srv, 'ida', clients);
    const joined = await ida.request({ type: 'subscribe', channel: 'erase-d' });
    assert.deepEqual(
      (joined.messages as { user_id: string; text: string }[]).map((m) => [m.user_id, m.text]),
      [
        ['erased', ''],
        ['alice', 'alice stays'],
      ],
    );
    const search = await (await api('GET', '/api/search?q=fred', { key: null, token: bob })).json();
    assert.deepEqual(search.results, []);
    assert.equal((await api('GET', '/api/server/users/fred')).status, 404);
    assert.equal((await api('DELETE', '/api/server/users/fred?messages=delete')).status, 404);
    await assert.rejects(TestClient.authed(srv.url, token), /auth failed/, 'the old token is refused');
  });

  it('erases a user with messages=anonymize: their messages stay under the placeholder author', async () => {
    await serverApi(srv, 'POST', 'channels', { id: 'erase-a', title: 'A' });
    await serverApi(srv, 'PUT', 'users/gina', { username: 'Gina' });
    await serverPost(srv, 'gina', 'erase-a', 'gina wrote this');
    assert.equal((await api('DELETE', '/api/server/users/gina')).status, 400, 'the mode must be said');
    assert.equal((await api('DELETE', '/api/server/users/gina?messages=shred')).status, 400);
    assert.equal((await api('DELETE', '/api/server/users/gina?messages=anonymize')).status, 200);
    const bob = await srv.token('bob', 'Bob');
    const page = await (await api('GET', '/api/channels/erase-a/messages', { key: null, token: bob })).json();
    assert.deepEqual(
      (page.messages as { user_id: string; username: string; text: string }[]).map((m) => [
        m.user_id,
        m.username,
        m.text,
      ]),
      [['erased', 'Deleted user', 'gina wrote this']],
    );
    await until(() => hooks.accepted('user.erased').length >= 2, 'the user.erased webhooks of fred and gina');
    const events = hooks.accepted('user.erased').map((a) => JSON.parse(a.body).data);
    assert.deepEqual(
      // Deliveries are not sent in order.
      events.map((d) => [d.user_id, d.messages, typeof d.erased_at]).sort(),
      [
        ['fred', 'delete', 'number'],
        ['gina', 'anonymize', 'number'],
      ],
    );
    assert.equal((await api('DELETE', '/api/server/users/gina?messages=anonymize')).status, 404);
  });

  it("the node's own pass prunes a channel with retention_days and counts it in /metrics", async () => {
    await serverApi(srv, 'POST', 'channels', { id: 'aged', title: 'Aged' });
    for (const text of ['x', 'y', 'z']) await serverPost(srv, 'alice', 'aged', text);
    // Three days old, as if sent then.
    const file = srv.databaseUrl.slice('sqlite:'.length);
    const db = new Database(file);
    db.prepare("update messages set timestamp = timestamp - ? where channel_id = 'aged'").run(3 * DAY);
    db.close();
    await serverApi(srv, 'PATCH', 'channels/aged', { retention_days: 2 });
    const pass = await srv.server.retention.runOnce();
    assert.equal(pass.skipped, false);
    assert.equal(pass.pruned, 3);
    const metrics = await (await fetch(`${srv.httpUrl}/metrics`)).text();
    assert.match(metrics, /^parley_retention_pruned_messages_total 3$/m);
    const bob = await srv.token('bob', 'Bob');
    const page = await (await api('GET', '/api/channels/aged/messages', { key: null, token: bob })).json();
    assert.deepEqual(page.messages, []);
  });

  it("docs/api.md's retention snippets run as pasted against a node", async () => {
    const doc = await readFile(new URL('../../docs/api.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Retention, export and erasure'));
    const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(block !== undefined, 'the section has a sh block');
    const lines = block.trim().split('\n');
    assert.equal(lines.length, 5);
    const outputs: string[] = [];
    for (const line of lines) {
      const { stdout } = await promisify(execFile)(
        'sh',
        ['-c', line.replaceAll('localhost:8080', `127.0.0.1:${srv.port}`)],
        {
          env: { PATH: process.env.PATH ?? '', PARLEY_API_KEY: TEST_API_KEY },
        },
      );
      assert.doesNotMatch(stdout, /"error"/, `${line}\n${stdout}`);
      outputs.push(stdout);
    }
    assert.match(outputs[1] ?? '', /"type":"end"/);
    assert.match(outputs[3] ?? '', /^\{"type":"user","user":\{"id":"42"/);
    assert.deepEqual(JSON.parse(outputs[4] ?? '').erased.messages, 'anonymize');
  });
});
