import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { ParleyClient, type WebSocketConstructor } from '../../src/client/index.js';
import { Api } from '../../web/src/api.js';
import { ChatModel } from '../../web/src/chat-model.js';
import { serverApi, serverPost, TEST_API_KEY } from '../support/server-api.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { until } from '../support/until.js';

/** Resolves once `pred` holds, checked at each change of the model (no polling). */
function when(model: ChatModel, pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  if (pred()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    const stop = model.subscribe(() => {
      if (!pred()) return;
      clearTimeout(timer);
      stop();
      resolve();
    });
  });
}

describe("the chat page's state (ChatModel) against a real server", () => {
  let srv: TestServer;
  const open: { model: ChatModel; client: ParleyClient }[] = [];
  let visible = true;

  before(async () => {
    // A short replay window, so a short disconnection can outgrow it.
    // Presence told user by user up to 2 online.
    srv = await startTestServer({
      env: { PARLEY_API_KEY: TEST_API_KEY, PARLEY_RESUME_MAX_GAP: '5', PARLEY_PRESENCE_MAX: '2' },
    });
    await serverApi(srv, 'PUT', 'users/u-a', { username: 'ann' });
    await serverApi(srv, 'PUT', 'users/u-b', { username: 'ben' });
    await serverApi(srv, 'POST', 'channels', { id: 'room', owner: 'u-a' });
    await serverApi(srv, 'PUT', 'channels/room/members/u-b');
    await serverApi(srv, 'PUT', 'channels/general/members/u-a');
  });
  after(async () => {
    for (const { model, client } of open) {
      model.dispose();
      await client.close();
    }
    await srv?.close();
  });

  async function start(
    userId: string,
    name: string,
    channel: string,
    Socket: WebSocketConstructor = WebSocket,
  ): Promise<ChatModel> {
    const token = await srv.token(userId, name);
    const client = new ParleyClient({ url: srv.url, token, WebSocket: Socket, pingIntervalMs: 0 });
    const welcome = await client.connect();
    const model = new ChatModel({
      client,
      api: new Api(new URL(`${srv.httpUrl}/`), async () => token),
      me: welcome.user,
      isVisible: () => visible,
    });
    open.push({ model, client });
    await model.start(channel);
    return model;
  }

  it('shows a send as pending, then as the stored message, once', async () => {
    const ann = await start('u-a', 'ann', 'room');
    ann.send('room', 'first words');
    assert.equal(ann.active?.pending.length, 1);
    assert.equal(ann.active?.pending[0]?.state, 'sending');
    await when(
      ann,
      () => ann.active?.messages.some((m) => m.text === 'first words') === true,
      'the stored message',
    );
    await when(ann, () => ann.active?.pending.length === 0, 'the pending copy to go');
    assert.equal(ann.active?.messages.filter((m) => m.text === 'first words').length, 1);
  });

  it('counts unread messages and mentions from others in channels not on screen, and clears them when opened', async () => {
    const ann = open[0]?.model as ChatModel;
    await serverPost(srv, 'u-b', 'general', 'morning all');
    await serverPost(srv, 'u-b', 'general', '@ann have a look');
    await when(ann, () => ann.channel('general')?.summary.unread === 2, 'two unread in general');
    assert.equal(ann.channel('general')?.summary.mentions, 1);
    assert.equal(ann.totalUnread, 2);
    // Own messages never count.
    await serverPost(srv, 'u-a', 'general', 'my own');
    await when(ann, () => ann.channel('general')?.summary.last_seq === 3, 'the own message');
    assert.equal(ann.channel('general')?.summary.unread, 2);

    await ann.open('general');
    await when(ann, () => ann.channel('general')?.summary.unread === 0, 'general read');
    // The server keeps the position: a fresh channel list agrees.
    const api = new Api(new URL(`${srv.httpUrl}/`), () => srv.token('u-a', 'ann'));
    await until(async () => {
      const { channels } = await api.get<{ channels: { id: string; unread: number }[] }>('api/channels');
      return channels.find((c) => c.id === 'general')?.unread === 0;
    }, 'the read position on the server');
  });

  it('counts as unread what arrives while the page is hidden, in the open channel too', async () => {
    const ann = open[0]?.model as ChatModel;
    visible = false;
    try {
      await serverPost(srv, 'u-b', 'general', 'while you were away');
      await when(ann, () => ann.channel('general')?.summary.unread === 1, 'unread while hidden');
    } finally {
      visible = true;
    }
    ann.noteVisible();
    await when(ann, () => ann.channel('general')?.summary.unread === 0, 'read once visible');
  });

  it("applies others' edits, reactions and deletions to the messages on screen", async () => {
    const ann = open[0]?.model as ChatModel;
    const ben = await start('u-b', 'ben', 'room');
    await ann.open('room');
    const stored = ann.active?.messages.find((m) => m.text === 'first words');
    assert.ok(stored !== undefined);
    await when(
      ben,
      () => ben.channel('room')?.messages.some((m) => m.id === stored.id) === true,
      'ben sees it',
    );
    await ben.react('room', stored.id, '👍');
    await when(
      ann,
      () => ann.channel('room')?.messages.find((m) => m.id === stored.id)?.reactions?.[0]?.count === 1,
      'the reaction',
    );
    assert.deepEqual(ann.channel('room')?.messages.find((m) => m.id === stored.id)?.reactions, [
      { emoji: '👍', count: 1, user_ids: ['u-b'] },
    ]);
    await ann.edit('room', stored.id, 'first words, edited');
    await when(
      ben,
      () => ben.channel('room')?.messages.find((m) => m.id === stored.id)?.text === 'first words, edited',
      'the edit',
    );
    assert.ok(ben.channel('room')?.messages.find((m) => m.id === stored.id)?.edited_at !== undefined);
    await ann.remove('room', stored.id);
    await when(
      ben,
      () => ben.channel('room')?.messages.find((m) => m.id === stored.id)?.deleted === true,
      'the deletion',
    );
    assert.equal(ben.channel('room')?.messages.find((m) => m.id === stored.id)?.text, '');
  });

  it('pages back to the first message with no gap and no repeat', async () => {
    await serverApi(srv, 'POST', 'channels', { id: 'long', owner: 'u-a' });
    for (let i = 1; i <= 120; i++) await serverPost(srv, 'u-a', 'long', `n${i}`);
    const ann = open[0]?.model as ChatModel;
    await ann.refreshChannels();
    await ann.open('long');
    await when(ann, () => ann.channel('long')?.loaded === true, 'the latest page');
    assert.equal(ann.channel('long')?.messages.length, 50);
    while (ann.channel('long')?.hasMoreBefore) await ann.loadOlder('long');
    assert.deepEqual(
      ann.channel('long')?.messages.map((m) => m.seq),
      Array.from({ length: 120 }, (_, i) => i + 1),
    );
    assert.equal(ann.notice, undefined);
  });

  it('shows an error it cannot attach to a message as a notice, and keeps going', async () => {
    const ann = open[0]?.model as ChatModel;
    await ann.react('room', '00000000-0000-7000-8000-000000000000', '👍');
    assert.match(ann.notice ?? '', /.+/);
    ann.clearNotice();
    assert.equal(ann.notice, undefined);
    assert.equal(ann.connection, 'open');
  });
  it('after a disconnection longer than the server replays, shows every missed message in order, once', async () => {
    // Sockets a test can cut, and keep from reconnecting while `blocked`.
    let blocked = false;
    const live = new Set<WebSocket>();
    class GatedWebSocket extends WebSocket {
      constructor(url: string) {
        super(blocked ? 'ws://127.0.0.1:9/ws' : url);
        live.add(this);
        this.once('close', () => live.delete(this));
      }
    }
    const ben = await start('u-b', 'ben', 'room', GatedWebSocket);
    await when(ben, () => ben.channel('room')?.loaded === true, 'the latest page');
    const before = ben.channel('room')?.messages.at(-1)?.seq ?? 0;
    blocked = true;
    for (const socket of live) socket.terminate();
    await when(ben, () => ben.connection === 'reconnecting', 'the drop');
    for (let i = 1; i <= 12; i++) await serverPost(srv, 'u-a', 'room', `while away ${i}`);
    blocked = false;
    await when(
      ben,
      () => ben.channel('room')?.messages.at(-1)?.text === 'while away 12',
      'the missed messages',
      15_000,
    );
    const after = (ben.channel('room')?.messages ?? []).filter((m) => m.seq > before);
    assert.deepEqual(
      after.map((m) => m.text),
      Array.from({ length: 12 }, (_, i) => `while away ${i + 1}`),
    );
    assert.deepEqual(
      after.map((m) => m.seq),
      Array.from({ length: 12 }, (_, i) => before + i + 1),
    );
  });
  it('counts who is online in a channel above the presence limit, and asks for the full list', async () => {
    await serverApi(srv, 'PUT', 'users/u-c', { username: 'cy' });
    await serverApi(srv, 'PUT', 'channels/room/members/u-c');
    // ann and ben are online in room already; cy makes three, above the limit of two.
    const cy = await start('u-c', 'cy', 'room');
    await when(cy, () => (cy.channel('room')?.onlineCount ?? 0) >= 3, 'the count');
    assert.deepEqual(
      cy.channel('room')?.presence.map((u) => u.id),
      ['u-c'],
      'the subscribe listed only oneself',
    );
    assert.deepEqual((await cy.online('room')).map((u) => u.id).sort(), ['u-a', 'u-b', 'u-c']);
  });
  it('does not count who is online while disconnected, and asks again once back', async () => {
    await serverApi(srv, 'PUT', 'users/u-d', { username: 'dee' });
    await serverApi(srv, 'PUT', 'users/u-e', { username: 'eli' });
    await serverApi(srv, 'POST', 'channels', { id: 'lobby', owner: 'u-d' });
    await serverApi(srv, 'PUT', 'channels/lobby/members/u-e');
    let blocked = false;
    const live = new Set<WebSocket>();
    class GatedWebSocket extends WebSocket {
      constructor(url: string) {
        super(blocked ? 'ws://127.0.0.1:9/ws' : url);
        live.add(this);
        this.once('close', () => live.delete(this));
      }
    }
    const dee = await start('u-d', 'dee', 'lobby', GatedWebSocket);
    const eli = await start('u-e', 'eli', 'lobby');
    await when(dee, () => dee.channel('lobby')?.onlineCount === 2, 'two online');
    assert.equal(dee.channel('lobby')?.presenceKnown, true);
    blocked = true;
    for (const socket of live) socket.terminate();
    await when(dee, () => dee.connection === 'reconnecting', 'the drop');
    assert.equal(dee.channel('lobby')?.presenceKnown, false, 'unknown while away');
    // eli leaves while dee is away: no one can tell dee.
    const eliClient = open.find((o) => o.model === eli)?.client;
    eli.dispose();
    await eliClient?.close();
    blocked = false;
    await when(
      dee,
      () => dee.channel('lobby')?.presenceKnown === true && dee.connection === 'open',
      'presence asked again',
      15_000,
    );
    assert.equal(dee.channel('lobby')?.onlineCount, 1, 'only dee, not the one who left meanwhile');
  });
  it('gives a text refused for its length back to the composer, with no Retry that could never succeed', async () => {
    const token = await srv.token('u-a', 'ann');
    const client = new ParleyClient({ url: srv.url, token, WebSocket, pingIntervalMs: 0 });
    const welcome = await client.connect();
    // A page that believes in a higher limit than the server's (4000).
    const model = new ChatModel({
      client,
      api: new Api(new URL(`${srv.httpUrl}/`), async () => token),
      me: welcome.user,
      maxMessageChars: 10_000,
    });
    open.push({ model, client });
    await model.start('room');
    const text = 'y'.repeat(4001);
    model.send('room', text);
    await when(model, () => model.active?.pending.length === 0, 'the refused send to leave the list');
    assert.equal(model.takeDraft('room'), text, 'the text is back for the composer');
    assert.equal(model.takeDraft('room'), undefined, 'once');
    assert.match(model.notice ?? '', /Not sent: .*4000/);
  });
});
