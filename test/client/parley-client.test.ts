import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import WebSocket from 'ws';
import {
  ParleyClient,
  ParleyClientError,
  type ParleyClientEvents,
  type ParleyClientOptions,
} from '../../src/client/index.js';
import type { ClientFrame, Message, SubscribedFrame } from '../../src/protocol/frames.js';
import {
  type FakeConnection,
  type FakeServer,
  message,
  startFakeServer,
  WAIT_MS,
} from './start-fake-server.js';

/** Resolves with the next `event` whose payload passes `accept`; fails the test after `timeoutMs`. */
function nextEvent<K extends keyof ParleyClientEvents>(
  client: ParleyClient,
  event: K,
  accept: (payload: ParleyClientEvents[K]) => boolean = () => true,
  timeoutMs = WAIT_MS,
): Promise<ParleyClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      dispose();
      reject(new Error(`no ${String(event)} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const dispose = client.on(event, (payload) => {
      if (!accept(payload)) return;
      clearTimeout(timer);
      dispose();
      resolve(payload);
    });
  });
}

/** Records every message the client delivers. */
function record(client: ParleyClient): Message[] {
  const seen: Message[] = [];
  client.on('message', (m) => seen.push(m));
  return seen;
}

async function setup(
  t: TestContext,
  options: Partial<ParleyClientOptions> = {},
): Promise<{ server: FakeServer; client: ParleyClient }> {
  const server = await startFakeServer();
  const client = new ParleyClient({
    url: server.url,
    token: 'tok',
    WebSocket,
    random: () => 0,
    pingIntervalMs: 0,
    ...options,
  });
  t.after(async () => {
    await client.close();
    await server.close();
  });
  return { server, client };
}

/** Connects `client` and lets the fake server accept it. */
async function connected(server: FakeServer, client: ParleyClient): Promise<FakeConnection> {
  const welcome = client.connect();
  const conn = await server.nextConnection();
  await conn.accept();
  await welcome;
  return conn;
}

/** Answers a `subscribe` frame. */
function answerSubscribe(
  conn: FakeConnection,
  request: Extract<ClientFrame, { type: 'subscribe' }>,
  reply: Partial<SubscribedFrame> & Pick<SubscribedFrame, 'epoch' | 'last_seq'>,
): void {
  conn.send({
    type: 'subscribed',
    ...(request.ref === undefined ? {} : { ref: request.ref }),
    channel: request.channel,
    kind: 'public',
    title: request.channel,
    role: 'member',
    recovered: true,
    messages: [],
    presence: [],
    presence_count: 0,
    ...reply,
  });
}

/** Subscribes `client` to `channel` with `messages` 1..lastSeq as its history, epoch e1. */
async function subscribed(conn: FakeConnection, client: ParleyClient, channel: string, lastSeq: number) {
  const result = client.subscribe(channel, { history: lastSeq });
  const request = await conn.next('subscribe');
  const messages = Array.from({ length: lastSeq }, (_, i) => message(channel, i + 1));
  answerSubscribe(conn, request, { epoch: 'e1', last_seq: lastSeq, messages });
  return result;
}

test('authenticates with an auth frame first and resolves connect with the welcome', async (t) => {
  const { server, client } = await setup(t, { token: async () => 'fresh-token' });
  const states: string[] = [];
  client.on('state', (s) => states.push(s));
  const welcome = client.connect();
  const conn = await server.nextConnection();
  const auth = await conn.accept();
  assert.equal(auth.token, 'fresh-token');
  assert.deepEqual((await welcome).user, { id: 'u1', username: 'ann' });
  assert.equal(client.state, 'open');
  assert.deepEqual(states, ['connecting', 'open']);
});

test('resolves publish with the ack that echoes its ref', async (t) => {
  const { server, client } = await setup(t);
  const conn = await connected(server, client);
  const acked = client.publish('general', 'hello', { clientMsgId: 'c-1' });
  const frame = await conn.next('publish');
  assert.deepEqual(
    { ...frame, ref: undefined },
    {
      type: 'publish',
      channel: 'general',
      text: 'hello',
      client_msg_id: 'c-1',
      ref: undefined,
    },
  );
  conn.send({
    type: 'ack',
    ref: 999,
    channel: 'general',
    id: 'x',
    seq: 9,
    ts: 1,
    client_msg_id: 'c-0',
    duplicate: false,
  });
  conn.send({
    type: 'ack',
    ...(frame.ref === undefined ? {} : { ref: frame.ref }),
    channel: 'general',
    id: 'm1',
    seq: 1,
    ts: 5,
    client_msg_id: 'c-1',
    duplicate: false,
  });
  assert.deepEqual(await acked, {
    channel: 'general',
    id: 'm1',
    seq: 1,
    ts: 5,
    client_msg_id: 'c-1',
    duplicate: false,
  });
});

test('generates a client_msg_id when the caller gives none', async (t) => {
  const { server, client } = await setup(t);
  const conn = await connected(server, client);
  void client.publish('general', 'a').catch(() => {});
  void client.publish('general', 'b').catch(() => {});
  const a = await conn.next('publish');
  const b = await conn.next('publish');
  assert.match(a.client_msg_id, /^[0-9a-f-]{32,36}$/);
  assert.notEqual(a.client_msg_id, b.client_msg_id);
});

test('retries a publish after a dropped connection with the same client_msg_id', async (t) => {
  const { server, client } = await setup(t);
  const conn1 = await connected(server, client);
  const acked = client.publish('general', 'hello');
  const first = await conn1.next('publish');
  conn1.close(4000, 'restarting');

  const conn2 = await server.nextConnection();
  await conn2.accept();
  const second = await conn2.next('publish');
  assert.equal(second.client_msg_id, first.client_msg_id);
  assert.equal(second.text, 'hello');
  conn2.send({
    type: 'ack',
    ...(second.ref === undefined ? {} : { ref: second.ref }),
    channel: 'general',
    id: 'm1',
    seq: 1,
    ts: 1,
    client_msg_id: second.client_msg_id,
    duplicate: true,
  });
  const ack = await acked;
  assert.equal(ack.client_msg_id, first.client_msg_id);
  assert.equal(ack.duplicate, true);
});

test('sends a publish again with the same client_msg_id when its ack is late', async (t) => {
  const { server, client } = await setup(t, { ackTimeoutMs: 50 });
  const conn = await connected(server, client);
  const acked = client.publish('general', 'hello');
  const first = await conn.next('publish');
  const second = await conn.next('publish');
  assert.equal(second.client_msg_id, first.client_msg_id);
  assert.notEqual(second.ref, first.ref);
  conn.send({
    type: 'ack',
    ...(second.ref === undefined ? {} : { ref: second.ref }),
    channel: 'general',
    id: 'm1',
    seq: 1,
    ts: 1,
    client_msg_id: second.client_msg_id,
    duplicate: false,
  });
  assert.equal((await acked).id, 'm1');
});

test('rejects a publish with a ParleyClientError carrying the server error code', async (t) => {
  const { server, client } = await setup(t);
  const conn = await connected(server, client);
  const acked = client.publish('secret', 'hello');
  const frame = await conn.next('publish');
  conn.send({
    type: 'error',
    ...(frame.ref === undefined ? {} : { ref: frame.ref }),
    code: 'forbidden',
    message: 'you are not a member of secret',
    channel: 'secret',
  });
  await assert.rejects(acked, (err: unknown) => {
    assert.ok(err instanceof ParleyClientError);
    assert.equal(err.code, 'forbidden');
    assert.equal(err.exitCode, 4);
    assert.equal(err.channel, 'secret');
    return true;
  });
});

test('rejects a publish with timeout when no connection comes before its deadline', async (t) => {
  const { client } = await setup(t, { url: 'ws://127.0.0.1:1/ws', minDelayMs: 10 });
  void client.connect().catch(() => {});
  await assert.rejects(client.publish('general', 'hello', { timeoutMs: 100 }), { code: 'timeout' });
});

test('delivers the subscribe history as message events and resolves with the result', async (t) => {
  const { server, client } = await setup(t);
  const conn = await connected(server, client);
  const seen = record(client);
  const result = await subscribed(conn, client, 'general', 2);
  assert.equal(result.epoch, 'e1');
  assert.equal(result.last_seq, 2);
  assert.deepEqual(
    seen.map((m) => m.seq),
    [1, 2],
  );
  assert.equal(client.lastSeq('general'), 2);
});

test('resubscribes after a reconnect with since = the last seq seen and the epoch', async (t) => {
  const { server, client } = await setup(t);
  const seen = record(client);
  const conn1 = await connected(server, client);
  await subscribed(conn1, client, 'general', 2);
  conn1.send({ type: 'message', ...message('general', 3) });
  await nextEvent(client, 'message', (m) => m.seq === 3);
  conn1.close(4001, 'slow consumer');

  const conn2 = await server.nextConnection();
  await conn2.accept();
  const resume = await conn2.next('subscribe');
  assert.equal(resume.channel, 'general');
  assert.equal(resume.since, 3);
  assert.equal(resume.epoch, 'e1');
  answerSubscribe(conn2, resume, {
    epoch: 'e1',
    last_seq: 5,
    messages: [message('general', 4), message('general', 5)],
  });
  await nextEvent(client, 'message', (m) => m.seq === 5);
  assert.deepEqual(
    seen.map((m) => m.seq),
    [1, 2, 3, 4, 5],
  );
});

test('drops messages whose seq was already delivered', async (t) => {
  const { server, client } = await setup(t);
  const seen = record(client);
  const conn = await connected(server, client);
  await subscribed(conn, client, 'general', 2);
  for (const seq of [2, 3, 3, 1, 4]) conn.send({ type: 'message', ...message('general', seq) });
  await nextEvent(client, 'message', (m) => m.seq === 4);
  assert.deepEqual(
    seen.map((m) => m.seq),
    [1, 2, 3, 4],
  );
});

test('fills a gap with history pages after the last seq and delivers in order', async (t) => {
  const { server, client } = await setup(t, { historyPageSize: 2 });
  const seen = record(client);
  const conn = await connected(server, client);
  await subscribed(conn, client, 'general', 2);
  conn.send({ type: 'message', ...message('general', 7) });

  const page1 = await conn.next('history');
  assert.deepEqual(
    { after: page1.after, limit: page1.limit, before: page1.before },
    { after: 2, limit: 2, before: undefined },
  );
  conn.send({ type: 'message', ...message('general', 8) });
  conn.send({
    type: 'history',
    ...(page1.ref === undefined ? {} : { ref: page1.ref }),
    channel: 'general',
    messages: [message('general', 3), message('general', 4)],
    has_more: true,
  });
  const page2 = await conn.next('history');
  assert.equal(page2.after, 4);
  conn.send({
    type: 'history',
    ...(page2.ref === undefined ? {} : { ref: page2.ref }),
    channel: 'general',
    messages: [message('general', 5), message('general', 6)],
    has_more: true,
  });
  await nextEvent(client, 'message', (m) => m.seq === 8);
  assert.deepEqual(
    seen.map((m) => m.seq),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
});

test('holds live messages that arrive before subscribed and delivers them after its history', async (t) => {
  const { server, client } = await setup(t);
  const seen = record(client);
  const conn = await connected(server, client);
  const result = client.subscribe('general', { history: 2 });
  const request = await conn.next('subscribe');
  conn.send({ type: 'message', ...message('general', 3) });
  conn.send({ type: 'message', ...message('general', 2) });
  answerSubscribe(conn, request, {
    epoch: 'e1',
    last_seq: 2,
    messages: [message('general', 1), message('general', 2)],
  });
  await result;
  assert.deepEqual(
    seen.map((m) => m.seq),
    [1, 2, 3],
  );
});

test('emits reset with the fresh history when a resume is not recovered, then continues from its last_seq', async (t) => {
  const { server, client } = await setup(t);
  const events: string[] = [];
  client.on('message', (m) => events.push(`message ${m.seq} ${m.text}`));
  client.on('reset', (r) => events.push(`reset ${r.channel} ${r.epoch} ${r.last_seq}`));
  const conn1 = await connected(server, client);
  await subscribed(conn1, client, 'general', 3);
  conn1.close(4000);

  const conn2 = await server.nextConnection();
  await conn2.accept();
  const resume = await conn2.next('subscribe');
  assert.equal(resume.since, 3);
  answerSubscribe(conn2, resume, {
    epoch: 'e2',
    last_seq: 2,
    recovered: false,
    messages: [message('general', 1, 'new1'), message('general', 2, 'new2')],
  });
  conn2.send({ type: 'message', ...message('general', 3, 'new3') });
  await nextEvent(client, 'message', (m) => m.text === 'new3');
  assert.deepEqual(events, [
    'message 1 m1',
    'message 2 m2',
    'message 3 m3',
    'reset general e2 2',
    'message 1 new1',
    'message 2 new2',
    'message 3 new3',
  ]);
});

test('pages missed messages through history when recover is history and the epoch is unchanged', async (t) => {
  const { server, client } = await setup(t);
  const seen = record(client);
  let resets = 0;
  client.on('reset', () => resets++);
  const conn1 = await connected(server, client);
  const first = client.subscribe('general', { history: 3, recover: 'history' });
  const request = await conn1.next('subscribe');
  answerSubscribe(conn1, request, {
    epoch: 'e1',
    last_seq: 3,
    messages: [message('general', 1), message('general', 2), message('general', 3)],
  });
  await first;
  conn1.close(4000);

  const conn2 = await server.nextConnection();
  await conn2.accept();
  const resume = await conn2.next('subscribe');
  answerSubscribe(conn2, resume, {
    epoch: 'e1',
    last_seq: 7,
    recovered: false,
    messages: [message('general', 6), message('general', 7)],
  });
  const page = await conn2.next('history');
  assert.equal(page.after, 3);
  conn2.send({
    type: 'history',
    ...(page.ref === undefined ? {} : { ref: page.ref }),
    channel: 'general',
    messages: [4, 5, 6, 7].map((seq) => message('general', seq)),
    has_more: false,
  });
  await nextEvent(client, 'message', (m) => m.seq === 7);
  assert.equal(resets, 0);
  assert.deepEqual(
    seen.map((m) => m.seq),
    [1, 2, 3, 4, 5, 6, 7],
  );
});

for (const code of [4501, 4503, 1008]) {
  test(`stops reconnecting and emits closed when the server closes with ${code}`, async (t) => {
    const { server, client } = await setup(t);
    let reconnects = 0;
    client.on('disconnected', () => reconnects++);
    const conn = await connected(server, client);
    const pending = client.publish('general', 'hello').then(
      () => assert.fail('publish resolved after a terminal close'),
      (err: unknown) => err,
    );
    await conn.next('publish');
    const closed = nextEvent(client, 'closed');
    conn.close(code, 'go away');
    const event = await closed;
    assert.equal(event.code, code);
    assert.equal(client.state, 'closed');
    assert.equal(reconnects, 0);
    assert.ok((await pending) instanceof ParleyClientError);
    assert.equal(server.connections.length, 1);
  });
}

test('reconnects with a fresh token after a reconnectable close code', async (t) => {
  let issued = 0;
  const { server, client } = await setup(t, { token: async () => `tok-${++issued}` });
  const conn1 = await connected(server, client);
  const disconnected = nextEvent(client, 'disconnected');
  const reopened = nextEvent(client, 'state', (s) => s === 'open');
  conn1.close(4000, 'server restart');
  assert.equal((await disconnected).code, 4000);
  const conn2 = await server.nextConnection();
  const auth = await conn2.accept();
  assert.equal(auth.token, 'tok-2');
  await reopened;
});

test('rejects connect with auth_failed when the server refuses the token with 4501', async (t) => {
  const { server, client } = await setup(t);
  const welcome = client.connect();
  const conn = await server.nextConnection();
  const auth = await conn.next('auth');
  conn.send({
    type: 'error',
    ...(auth.ref === undefined ? {} : { ref: auth.ref }),
    code: 'auth_failed',
    message: 'token signature is invalid',
  });
  conn.close(4501, 'auth failed');
  await assert.rejects(welcome, (err: unknown) => {
    assert.ok(err instanceof ParleyClientError);
    assert.equal(err.code, 'auth_failed');
    assert.equal(err.message, 'token signature is invalid');
    return true;
  });
});

test('answers token_expiring with a refresh carrying a fresh token', async (t) => {
  let issued = 0;
  const { server, client } = await setup(t, { token: async () => `tok-${++issued}` });
  const conn = await connected(server, client);
  conn.send({ type: 'token_expiring', expires_at: Date.now() + 1000 });
  const refresh = await conn.next('refresh');
  assert.equal(refresh.token, 'tok-2');
  conn.send({
    type: 'refreshed',
    ...(refresh.ref === undefined ? {} : { ref: refresh.ref }),
    expires_at: 42,
  });
  // A later reply proves the refreshed frame before it was handled.
  const online = client.presence('general');
  const query = await conn.next('presence');
  conn.send({
    type: 'presence_list',
    ...(query.ref === undefined ? {} : { ref: query.ref }),
    channel: 'general',
    users: [],
  });
  await online;
  assert.equal(client.expiresAt, 42);
});

test('emits presence, typing and member events pushed by the server', async (t) => {
  const { server, client } = await setup(t);
  const conn = await connected(server, client);
  const presence = nextEvent(client, 'presence');
  const typing = nextEvent(client, 'typing');
  const member = nextEvent(client, 'member');
  const bob = { id: 'u2', username: 'bob' };
  conn.send({ type: 'presence', channel: 'general', event: 'join', user: bob });
  conn.send({ type: 'typing', channel: 'general', user: bob });
  conn.send({ type: 'member', channel: 'team', user_id: 'u1', role: 'admin' });
  assert.deepEqual(await presence, { channel: 'general', event: 'join', user: bob });
  assert.deepEqual(await typing, { channel: 'general', user: bob });
  assert.deepEqual(await member, { channel: 'team', user_id: 'u1', role: 'admin' });
});

test('forgets a subscription the server removes and emits unsubscribed', async (t) => {
  const { server, client } = await setup(t);
  const conn = await connected(server, client);
  await subscribed(conn, client, 'team', 0);
  const unsubscribed = nextEvent(client, 'unsubscribed');
  conn.send({ type: 'unsubscribed', channel: 'team', reason: 'removed' });
  assert.deepEqual(await unsubscribed, { channel: 'team', reason: 'removed' });
  assert.deepEqual(client.subscriptions, []);
});

test('sends a request made while reconnecting once the next session opens', async (t) => {
  const { server, client } = await setup(t);
  const conn1 = await connected(server, client);
  const reconnecting = nextEvent(client, 'state', (s) => s === 'reconnecting');
  conn1.close(4000);
  await reconnecting;
  const created = client.createChannel('team', { private: true, title: 'Team' });
  const conn2 = await server.nextConnection();
  await conn2.accept();
  const frame = await conn2.next('channel_create');
  assert.deepEqual([frame.channel, frame.private, frame.title], ['team', true, 'Team']);
  const info = { id: 'team', kind: 'private', title: 'Team', role: 'owner' } as const;
  conn2.send({ type: 'channel', ...(frame.ref === undefined ? {} : { ref: frame.ref }), channel: info });
  assert.deepEqual(await created, info);
});

test('rejects pending calls and leaves no timers running after close', async (t) => {
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();
  const { server, client } = await setup(t, { pingIntervalMs: 60_000 });
  const conn = await connected(server, client);
  await subscribed(conn, client, 'general', 1);
  const pending = client.publish('general', 'hello').then(
    () => assert.fail('publish resolved after close'),
    (err: unknown) => err,
  );
  await conn.next('publish');
  const closed = nextEvent(client, 'closed');
  await client.close();
  assert.equal((await closed).code, 1000);
  assert.ok((await pending) instanceof ParleyClientError);
  assert.equal(client.state, 'closed');
  assert.equal(timers(), before);
});

test('refreshes after a token_expiring that arrives just before the welcome', async (t) => {
  let issued = 0;
  const { server, client } = await setup(t, { token: async () => `tok-${++issued}` });
  const welcome = client.connect();
  const conn = await server.nextConnection();
  conn.send({ type: 'token_expiring', expires_at: Date.now() + 1000 });
  await conn.accept();
  await welcome;
  const refresh = await conn.next('refresh');
  assert.equal(refresh.token, 'tok-2');
});

test('refuses a publish over the announced limits without sending it', async (t) => {
  const { server, client } = await setup(t);
  const welcome = client.connect();
  const conn = await server.nextConnection();
  await conn.accept({ limits: { max_message_chars: 100, max_payload_bytes: 200, history_page_max: 100 } });
  await welcome;
  await assert.rejects(client.publish('general', 'x'.repeat(101)), { code: 'message_too_long' });
  // 60 characters, but 180 bytes of UTF-8 plus the frame around them.
  await assert.rejects(client.publish('general', '€'.repeat(60)), { code: 'payload_too_large' });
  const ok = client.publish('general', 'fine', { clientMsgId: 'c' });
  const frame = await conn.next('publish');
  assert.equal(frame.text, 'fine');
  conn.send({
    type: 'ack',
    ...(frame.ref === undefined ? {} : { ref: frame.ref }),
    channel: 'general',
    id: 'm',
    seq: 1,
    ts: 1,
    client_msg_id: 'c',
    duplicate: false,
  });
  await ok;
});

test('stops at once with not_found when the upgrade is refused with HTTP 404', async (t) => {
  const http = createServer();
  http.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'));
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  t.after(() => new Promise<void>((resolve) => http.close(() => resolve())));
  const { port } = http.address() as AddressInfo;
  const client = new ParleyClient({
    url: `ws://127.0.0.1:${port}/nope`,
    token: 't',
    WebSocket,
    random: () => 0,
  });
  t.after(() => client.close());
  await assert.rejects(client.connect(), { code: 'not_found' });
  assert.equal(client.state, 'closed');
});
