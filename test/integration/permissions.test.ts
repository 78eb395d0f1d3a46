import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';

describe('channels and permissions, checked on every action', () => {
  let server: TestServer;
  const clients: TestClient[] = [];
  const connect = (id: string) => TestClient.as(server, id, clients);
  let owner: TestClient;
  let admin: TestClient;
  let member: TestClient;
  let reader: TestClient;
  let outsider: TestClient;

  before(async () => {
    server = await startTestServer();
    [owner, admin, member, reader, outsider] = (await Promise.all(
      ['owner', 'admin', 'member', 'reader', 'outsider'].map(connect),
    )) as [TestClient, TestClient, TestClient, TestClient, TestClient];
    const created = await owner.request({
      type: 'channel_create',
      channel: 'secret',
      private: true,
      title: 'Secret plans',
    });
    assert.deepEqual(created.channel, {
      id: 'secret',
      kind: 'private',
      title: 'Secret plans',
      role: 'owner',
    });
    for (const [id, role] of [
      ['admin', 'admin'],
      ['member', 'member'],
      ['reader', 'readonly'],
    ] as const) {
      const r = await owner.request({ type: 'member_add', channel: 'secret', user_id: id, role });
      assert.equal(r.role, role);
    }
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });

  it('lets anyone join and post in the public general channel created on first start', async () => {
    const sub = await outsider.request({ type: 'subscribe', channel: 'general' });
    assert.equal(sub.type, 'subscribed');
    assert.equal(sub.kind, 'public');
    const ack = await outsider.request({
      type: 'publish',
      channel: 'general',
      text: 'hi all',
      client_msg_id: 'g1',
    });
    assert.equal(ack.type, 'ack');
  });

  it('refuses a private channel to outsiders exactly as it refuses a channel that does not exist', async () => {
    const actions = (channel: string) => [
      { type: 'subscribe', channel },
      { type: 'publish', channel, text: 'x', client_msg_id: `p-${channel}` },
      { type: 'history', channel },
      { type: 'presence', channel },
    ];
    for (const [secret, missing] of actions('secret').map(
      (a, i) => [a, actions('no-such-channel')[i]!] as const,
    )) {
      const a = await outsider.request(secret);
      const b = await outsider.request(missing);
      assert.equal(a.code, 'forbidden', JSON.stringify(secret));
      assert.equal(
        String(a.message).replace('secret', 'X'),
        String(b.message).replace('no-such-channel', 'X'),
      );
      assert.ok(!JSON.stringify(a).includes('Secret plans'));
    }
  });

  it('lets members read, and read-only members read but not post', async () => {
    for (const c of [admin, member, reader]) {
      assert.equal((await c.request({ type: 'subscribe', channel: 'secret' })).type, 'subscribed');
    }
    assert.equal(
      (await member.request({ type: 'publish', channel: 'secret', text: 'ok', client_msg_id: 'm1' })).type,
      'ack',
    );
    const denied = await reader.request({
      type: 'publish',
      channel: 'secret',
      text: 'no',
      client_msg_id: 'r1',
    });
    assert.equal(denied.code, 'forbidden');
  });

  it('lets admins manage members but not grant admin or touch the owner', async () => {
    assert.equal(
      (await admin.request({ type: 'member_add', channel: 'secret', user_id: 'outsider', role: 'readonly' }))
        .role,
      'readonly',
    );
    assert.equal(
      (await admin.request({ type: 'member_add', channel: 'secret', user_id: 'outsider', role: 'admin' }))
        .code,
      'forbidden',
    );
    assert.equal(
      (await admin.request({ type: 'member_remove', channel: 'secret', user_id: 'owner' })).code,
      'forbidden',
    );
    assert.equal(
      (await member.request({ type: 'member_add', channel: 'secret', user_id: 'outsider', role: 'member' }))
        .code,
      'forbidden',
    );
    assert.equal(
      (await admin.request({ type: 'member_remove', channel: 'secret', user_id: 'outsider' })).role,
      null,
    );
    assert.equal(
      (await owner.request({ type: 'member_add', channel: 'secret', user_id: 'nobody-ever-seen' })).code,
      'not_found',
    );
  });

  it('keeps a read-only member of a public channel muted: neither they nor a moderator can remove them', async () => {
    const mod = await connect('mod');
    await mod.request({ type: 'channel_create', channel: 'town' });
    const muted = await connect('muted');
    await muted.request({ type: 'subscribe', channel: 'town' });
    await mod.request({ type: 'member_add', channel: 'town', user_id: 'muted', role: 'readonly' });
    assert.equal(
      (await muted.request({ type: 'member_remove', channel: 'town', user_id: 'muted' })).code,
      'forbidden',
    );
    // Nor can a moderator remove them by mistake and so unmute them.
    assert.equal(
      (await mod.request({ type: 'member_remove', channel: 'town', user_id: 'muted' })).code,
      'forbidden',
    );
    const post = await muted.request({
      type: 'publish',
      channel: 'town',
      text: 'unmuted?',
      client_msg_id: 'u1',
    });
    assert.equal(post.code, 'forbidden');
  });

  it('keeps at least one owner in a channel', async () => {
    const solo = await connect('solo');
    await solo.request({ type: 'channel_create', channel: 'solo-room', private: true });
    assert.equal(
      (await solo.request({ type: 'member_remove', channel: 'solo-room', user_id: 'solo' })).code,
      'conflict',
    );
    assert.equal(
      (await solo.request({ type: 'member_add', channel: 'solo-room', user_id: 'solo', role: 'member' }))
        .code,
      'conflict',
    );
    await solo.request({ type: 'member_add', channel: 'solo-room', user_id: 'member', role: 'owner' });
    assert.equal(
      (await solo.request({ type: 'member_remove', channel: 'solo-room', user_id: 'solo' })).role,
      null,
    );
  });

  it('applies a role change to the next action, not the next connection', async () => {
    await owner.request({ type: 'member_add', channel: 'secret', user_id: 'member', role: 'readonly' });
    await member.next((f) => f.type === 'member' && f.role === 'readonly');
    const denied = await member.request({
      type: 'publish',
      channel: 'secret',
      text: 'still?',
      client_msg_id: 'm2',
    });
    assert.equal(denied.code, 'forbidden');
    await owner.request({ type: 'member_add', channel: 'secret', user_id: 'member', role: 'member' });
    const ok = await member.request({
      type: 'publish',
      channel: 'secret',
      text: 'back',
      client_msg_id: 'm3',
    });
    assert.equal(ok.type, 'ack');
  });

  it('stops delivering to a removed member at once, on every connection', async () => {
    const second = await connect('member');
    await second.request({ type: 'subscribe', channel: 'secret' });
    await owner.request({ type: 'member_remove', channel: 'secret', user_id: 'member' });
    for (const c of [member, second]) {
      const gone = await c.next((f) => f.type === 'unsubscribed' && f.channel === 'secret');
      assert.equal(gone.reason, 'removed');
    }
    const before = member.messages('secret').length + second.messages('secret').length;
    await owner.request({ type: 'publish', channel: 'secret', text: 'after removal', client_msg_id: 'o1' });
    await admin.next((f) => f.type === 'message' && f.text === 'after removal');
    assert.equal(member.messages('secret').length + second.messages('secret').length, before);
    assert.equal((await member.request({ type: 'history', channel: 'secret' })).code, 'forbidden');
  });

  it('keeps direct messages between their two users', async () => {
    const dm = await member.request({ type: 'dm_open', user_id: 'admin' });
    const id = (dm.channel as { id: string }).id;
    assert.equal((dm.channel as { kind: string }).kind, 'dm');
    // The other user is told of the new conversation at once (and the opener's other tabs).
    const told = await admin.next((f) => f.type === 'member' && f.channel === id);
    assert.deepEqual([told.user_id, told.role, told.ref], ['admin', 'member', undefined]);
    const self = await member.next((f) => f.type === 'member' && f.channel === id && f.ref === undefined);
    assert.equal(self.user_id, 'member');
    assert.equal((dm.channel as { title: string }).title, 'ADMIN');
    const same = await admin.request({ type: 'dm_open', user_id: 'member' });
    assert.equal((same.channel as { id: string }).id, id);
    await admin.request({ type: 'subscribe', channel: id });
    await member.request({ type: 'publish', channel: id, text: 'psst', client_msg_id: 'd1' });
    assert.equal((await admin.next((f) => f.type === 'message' && f.channel === id)).text, 'psst');
    assert.equal((await outsider.request({ type: 'subscribe', channel: id })).code, 'forbidden');
    assert.equal(
      (await member.request({ type: 'member_add', channel: id, user_id: 'outsider' })).code,
      'forbidden',
    );
  });

  it('relays presence joins and leaves and typing, never storing typing', async () => {
    const a = await connect('pres-a');
    const b = await connect('pres-b');
    await a.request({ type: 'subscribe', channel: 'general' });
    const sub = await b.request({ type: 'subscribe', channel: 'general' });
    assert.ok((sub.presence as { id: string }[]).some((u) => u.id === 'pres-a'));
    const joined = await a.next(
      (f) => f.type === 'presence' && f.event === 'join' && (f.user as { id: string }).id === 'pres-b',
    );
    assert.equal((joined.user as { username: string }).username, 'PRES-B');
    b.send({ type: 'typing', channel: 'general' });
    b.send({ type: 'typing', channel: 'general' });
    const typing = await a.next((f) => f.type === 'typing' && (f.user as { id: string }).id === 'pres-b');
    assert.equal(typing.channel, 'general');
    const list = await a.request({ type: 'presence', channel: 'general' });
    assert.ok((list.users as { id: string }[]).some((u) => u.id === 'pres-b'));
    b.close();
    await a.next(
      (f) => f.type === 'presence' && f.event === 'leave' && (f.user as { id: string }).id === 'pres-b',
    );
    // The second typing event within the interval was dropped.
    assert.equal(a.frames.filter((f) => f.type === 'typing').length, 1);
    const history = await a.request({ type: 'history', channel: 'general', limit: 1 });
    assert.equal(
      (history.messages as { seq: number }[]).at(-1)?.seq ?? 0,
      sub.last_seq,
      'typing stored nothing',
    );
  });
});
