import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';
import { call } from './http-client.js';

const API_KEY = 'k'.repeat(40);
const MAX_BYTES = 200_000;

/** A JPEG with EXIF data that includes a GPS position (Paris). */
function jpegWithGps(): Promise<Buffer> {
  return sharp({ create: { width: 64, height: 48, channels: 3, background: '#c33' } })
    .jpeg()
    .withExif({
      IFD0: { Make: 'TestCam', Model: 'Locator 1' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '48/1 51/1 2405/100',
        GPSLongitudeRef: 'E',
        GPSLongitude: '2/1 21/1 306/100',
      },
    })
    .toBuffer();
}

function png(width = 800, height = 600): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#36c' } })
    .png()
    .toBuffer();
}

describe('attachments over HTTP (issue 16)', () => {
  let server: TestServer;
  let dir: string;
  let hooks: WebhookReceiver;
  const tokens = new Map<string, string>();
  const clients: TestClient[] = [];
  const as = (who: string, method: string, path: string, body?: unknown) =>
    call(server.httpUrl, method, path, {
      token: tokens.get(who) as string,
      ...(body === undefined ? {} : { body }),
    });
  const upload = async (
    who: string | undefined,
    channel: string,
    bytes: Buffer,
    name: string,
    type = 'application/octet-stream',
  ) => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(bytes)], { type }), name);
    const response = await fetch(`${server.httpUrl}/api/channels/${channel}/attachments`, {
      method: 'POST',
      headers: who === undefined ? {} : { Authorization: `Bearer ${tokens.get(who)}` },
      body: form,
      signal: AbortSignal.timeout(20_000),
    });
    // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
    return { status: response.status, body: (await response.json()) as any };
  };
  const download = (path: string, who?: string) =>
    fetch(`${server.httpUrl}${path}`, {
      headers: who === undefined ? {} : { Authorization: `Bearer ${tokens.get(who)}` },
      signal: AbortSignal.timeout(10_000),
    });

  before(async () => {
    hooks = await WebhookReceiver.start();
    server = await startTestServer({
      env: {
        PARLEY_API_KEY: API_KEY,
        PARLEY_ATTACHMENT_MAX_BYTES: String(MAX_BYTES),
        PARLEY_WEBHOOK_URLS: hooks.url,
        PARLEY_WEBHOOK_SECRET: 's'.repeat(40),
      },
    });
    dir =
      server.server.chat.attachments?.config.storage.kind === 'disk'
        ? server.server.chat.attachments.config.storage.dir
        : '';
    for (const who of ['alice', 'bob', 'eve']) {
      tokens.set(who, await server.token(who, who.toUpperCase()));
      assert.equal((await as(who, 'GET', '/api/me')).status, 200);
    }
    assert.equal(
      (await as('alice', 'POST', '/api/channels', { id: 'team', private: true, title: 'Team' })).status,
      201,
    );
    assert.equal(
      (await as('alice', 'PUT', '/api/channels/team/members/bob', { role: 'member' })).status,
      200,
    );
  });
  after(async () => {
    for (const c of clients) c.close();
    await server?.close();
    await hooks?.close();
  });

  it("lists a user's files in their export, attached or not", async () => {
    const kept = await upload('bob', 'team', await png(), 'export-me.png', 'image/png');
    assert.equal(kept.status, 201, JSON.stringify(kept.body));
    const response = await fetch(`${server.httpUrl}/api/server/users/bob/export`, {
      headers: { 'X-Api-Key': API_KEY },
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(response.status, 200);
    const records = (await response.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const files = records.filter((r) => r.type === 'attachment').map((r) => r.attachment);
    const mine = files.find((f) => f.id === kept.body.attachment.id);
    assert.deepEqual(
      [mine?.channel, mine?.name, mine?.type, mine?.size, mine?.message_id],
      ['team', 'export-me.png', 'image/png', kept.body.attachment.size, null],
    );
    assert.deepEqual(records.at(-1), { type: 'end', records: records.length - 1 });
  });

  it('refuses an upload without a token, and from who may not post there', async () => {
    const bytes = await png();
    const anonymous = await upload(undefined, 'team', bytes, 'a.png', 'image/png');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error.code, 'not_authenticated');
    // The same refusal as for a channel that does not exist.
    const outsider = await upload('eve', 'team', bytes, 'a.png', 'image/png');
    assert.equal(outsider.status, 403);
    assert.equal(outsider.body.error.code, 'forbidden');
    assert.equal((await upload('eve', 'nowhere', bytes, 'a.png', 'image/png')).body.error.code, 'forbidden');
    await as('alice', 'PUT', '/api/channels/team/members/eve', { role: 'readonly' });
    const readonly = await upload('eve', 'team', bytes, 'a.png', 'image/png');
    assert.equal(readonly.status, 403);
    assert.equal(readonly.body.error.code, 'forbidden');
    await as('alice', 'DELETE', '/api/channels/team/members/eve');
  });

  it('stores an image with its size, dimensions and a thumbnail', async () => {
    const up = await upload('bob', 'team', await png(800, 600), 'blue.png', 'image/png');
    assert.equal(up.status, 201, JSON.stringify(up.body));
    const a = up.body.attachment;
    assert.equal(a.name, 'blue.png');
    assert.equal(a.type, 'image/png');
    assert.equal(a.width, 800);
    assert.equal(a.height, 600);
    assert.equal(a.url, `/api/attachments/${a.id}`);
    assert.equal(a.thumbnail_url, `/api/attachments/${a.id}/thumbnail`);
    const thumb = await download(a.thumbnail_url, 'bob');
    assert.equal(thumb.status, 200);
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    assert.equal(meta.format, 'webp');
    assert.equal(Math.max(meta.width ?? 0, meta.height ?? 0), 320);
  });

  it('refuses a file over the size limit with file_too_large', async () => {
    const up = await upload('bob', 'team', randomBytes(MAX_BYTES + 1), 'big.bin');
    assert.equal(up.status, 413);
    assert.equal(up.body.error.code, 'file_too_large');
    const exact = await upload('bob', 'team', Buffer.alloc(MAX_BYTES, 'a'), 'exact.txt', 'text/plain');
    assert.equal(exact.status, 201, JSON.stringify(exact.body));
    assert.equal(exact.body.attachment.size, MAX_BYTES);
  });

  it('sniffs the type from the bytes, whatever the name and Content-Type say', async () => {
    const disguised = await upload('bob', 'team', await png(20, 20), 'notes.txt', 'text/plain');
    assert.equal(disguised.status, 201);
    assert.equal(disguised.body.attachment.type, 'image/png');
    const text = await upload(
      'bob',
      'team',
      Buffer.from('plain words, nothing else\n'),
      'x.pdf',
      'application/pdf',
    );
    assert.equal(text.body.attachment.type, 'text/plain');
    // An ELF executable: sniffed, and not on the allowlist.
    const elf = Buffer.concat([Buffer.from('7f454c46020101000000000000000000', 'hex'), randomBytes(200)]);
    const refused = await upload('bob', 'team', elf, 'tool', 'application/octet-stream');
    assert.equal(refused.status, 415);
    assert.equal(refused.body.error.code, 'file_type_refused');
  });

  it('refuses a file that claims to be an image and is not, with not_an_image', async () => {
    const byName = await upload(
      'bob',
      'team',
      Buffer.from('<script>alert(1)</script>'),
      'cat.jpg',
      'image/jpeg',
    );
    assert.equal(byName.status, 415);
    assert.equal(byName.body.error.code, 'not_an_image');
    assert.match(byName.body.error.message, /claims to be an image/);
    const svg = await upload(
      'bob',
      'team',
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'),
      'logo.svg',
      'image/svg+xml',
    );
    assert.equal(svg.body.error.code, 'not_an_image');
    // PNG's signature, then garbage: sniffed as PNG, but it does not decode.
    const broken = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(300)]);
    const bad = await upload('bob', 'team', broken, 'broken.png', 'image/png');
    assert.equal(bad.status, 415);
    assert.equal(bad.body.error.code, 'not_an_image');
  });

  it('strips EXIF, GPS position included, from a JPEG', async () => {
    const original = await jpegWithGps();
    assert.ok((await sharp(original).metadata()).exif, 'the test image has EXIF');
    assert.ok(original.toString('latin1').includes('TestCam'));
    const up = await upload('bob', 'team', original, 'holiday.jpg', 'image/jpeg');
    assert.equal(up.status, 201, JSON.stringify(up.body));
    const got = Buffer.from(await (await download(up.body.attachment.url, 'bob')).arrayBuffer());
    const meta = await sharp(got).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.equal(meta.exif, undefined);
    assert.ok(!got.toString('latin1').includes('TestCam'));
    assert.ok(!got.toString('latin1').includes('GPS'));
  });

  it('serves downloads only to who may read the channel, with safe headers', async () => {
    const image = (await upload('bob', 'team', await png(10, 10), 'dot.png', 'image/png')).body.attachment;
    const page = (
      await upload(
        'bob',
        'team',
        Buffer.from('<html><script>alert(1)</script></html>'),
        'page.html',
        'text/html',
      )
    ).body.attachment;
    assert.equal(page.type, 'text/plain');
    const sent = await as('bob', 'POST', '/api/channels/team/messages', {
      text: 'files',
      attachments: [image.id, page.id],
    });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    for (const who of ['alice', 'bob']) assert.equal((await download(image.url, who)).status, 200);
    const outsider = await download(image.url, 'eve');
    assert.equal(outsider.status, 404);
    assert.equal((await download(image.url)).status, 401);
    const img = await download(image.url, 'alice');
    assert.equal(img.headers.get('content-type'), 'image/png');
    assert.equal(img.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(
      img.headers.get('content-disposition'),
      `inline; filename="dot.png"; filename*=UTF-8''dot.png`,
    );
    const html = await download(page.url, 'alice');
    assert.equal(html.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.match(html.headers.get('content-disposition') ?? '', /^attachment; filename="page.html"/);
    assert.match(html.headers.get('content-security-policy') ?? '', /sandbox/);
    // The app's backend downloads with its key.
    const backend = await fetch(`${server.httpUrl}${image.url}`, { headers: { 'X-Api-Key': API_KEY } });
    assert.equal(backend.status, 200);
  });

  it("a channel's download ticket makes the URL work without a header, for its channel only", async () => {
    const image = (await upload('alice', 'team', await png(10, 10), 'ticket.png', 'image/png')).body
      .attachment;
    await as('alice', 'POST', '/api/channels/team/messages', { text: 'ticketed', attachments: [image.id] });
    const ticket = await as('bob', 'GET', '/api/channels/team/attachments/ticket');
    assert.equal(ticket.status, 200);
    assert.ok(ticket.body.expires_at > Date.now());
    const url = `${image.url}?ticket=${encodeURIComponent(ticket.body.ticket)}`;
    assert.equal((await download(url)).status, 200);
    assert.equal((await download(`${image.url}?ticket=${ticket.body.ticket.slice(0, -2)}xx`)).status, 401);
    // Eve may read general, not team: her general ticket does not open team's files.
    const general = await as('eve', 'GET', '/api/channels/general/attachments/ticket');
    assert.equal(
      (await download(`${image.url}?ticket=${encodeURIComponent(general.body.ticket)}`)).status,
      401,
    );
    assert.equal((await as('eve', 'GET', '/api/channels/team/attachments/ticket')).status, 403);
    // A member who is removed loses access, ticket or not.
    await as('alice', 'DELETE', '/api/channels/team/members/bob');
    assert.equal((await download(url)).status, 404);
    await as('alice', 'PUT', '/api/channels/team/members/bob', { role: 'member' });
  });

  it('a message carries its attachments in the reply, history, live delivery, search and webhooks', async () => {
    const live = await TestClient.as(server, 'alice', clients);
    await live.request({ type: 'subscribe', channel: 'team', history: 0 });
    const a = (await upload('bob', 'team', await png(30, 20), 'chart.png', 'image/png')).body.attachment;
    const b = (await upload('bob', 'team', Buffer.from('minutes\n'), 'minutes.txt', 'text/plain')).body
      .attachment;
    const sent = await as('bob', 'POST', '/api/channels/team/messages', {
      text: 'zebracrossing figures',
      client_msg_id: 'with-files',
      attachments: [a.id, b.id],
    });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    assert.deepEqual(sent.body.message.attachments, [a, b]);
    const frame = await live.next((f) => f.type === 'message' && f.id === sent.body.message.id);
    assert.deepEqual(frame.attachments, [a, b]);
    const history = await as('alice', 'GET', '/api/channels/team/messages?limit=1');
    assert.deepEqual(history.body.messages[0].attachments, [a, b]);
    const found = await as('alice', 'GET', '/api/search?q=zebracrossing');
    assert.equal(found.status, 200, JSON.stringify(found.body));
    assert.deepEqual(found.body.results[0].message.attachments, [a, b]);
    await until(
      () => hooks.attempts.some((h) => h.body.includes(sent.body.message.id)),
      'the message.created webhook',
    );
    const hook = hooks.attempts.find((h) => h.body.includes(sent.body.message.id));
    assert.deepEqual(JSON.parse(hook?.body ?? '{}').data.message.attachments, [a, b]);
    // A retry with the same client id is the same message.
    const again = await as('bob', 'POST', '/api/channels/team/messages', {
      text: 'zebracrossing figures',
      client_msg_id: 'with-files',
      attachments: [a.id, b.id],
    });
    assert.equal(again.status, 200);
    assert.equal(again.body.duplicate, true);
  });

  it('publishes with attachments over the WebSocket', async () => {
    const bob = await TestClient.as(server, 'bob', clients);
    await bob.request({ type: 'subscribe', channel: 'team', history: 0 });
    const a = (await upload('bob', 'team', await png(12, 12), 'ws.png', 'image/png')).body.attachment;
    const ack = await bob.request({
      type: 'publish',
      channel: 'team',
      text: 'over ws',
      client_msg_id: 'ws-1',
      attachments: [a.id],
    });
    assert.equal(ack.type, 'ack');
    const frame = await bob.next((f) => f.type === 'message' && f.id === ack.id);
    assert.deepEqual(frame.attachments, [a]);
    const bad = await bob.request({
      type: 'publish',
      channel: 'team',
      text: 'x',
      client_msg_id: 'ws-2',
      attachments: ['nope'],
    });
    assert.equal(bad.type, 'error');
    assert.equal(bad.code, 'bad_request');
  });

  it('attaches an upload once, by its uploader, in the channel it was uploaded to', async () => {
    const a = (await upload('bob', 'team', Buffer.from('once\n'), 'once.txt', 'text/plain')).body.attachment;
    const byOther = await as('alice', 'POST', '/api/channels/team/messages', {
      text: 'mine?',
      attachments: [a.id],
    });
    assert.equal(byOther.status, 409);
    assert.equal(byOther.body.error.code, 'bad_attachment');
    const elsewhere = await as('bob', 'POST', '/api/channels/general/messages', {
      text: 'here?',
      attachments: [a.id],
    });
    assert.equal(elsewhere.body.error.code, 'bad_attachment');
    const unknown = await as('bob', 'POST', '/api/channels/team/messages', {
      text: '?',
      attachments: [randomUUID()],
    });
    assert.equal(unknown.body.error.code, 'bad_attachment');
    assert.equal(
      (await as('bob', 'POST', '/api/channels/team/messages', { text: 'first', attachments: [a.id] })).status,
      201,
    );
    const twice = await as('bob', 'POST', '/api/channels/team/messages', {
      text: 'second',
      attachments: [a.id],
    });
    assert.equal(twice.status, 409);
    assert.equal(twice.body.error.code, 'bad_attachment');
    // The app's backend may attach a user's upload in its channel.
    const c = (await upload('bob', 'team', Buffer.from('backend\n'), 'b.txt', 'text/plain')).body.attachment;
    const posted = await call(server.httpUrl, 'POST', '/api/server/messages', {
      apiKey: API_KEY,
      body: { channel: 'team', text: 'from the backend', attachments: [c.id] },
    });
    assert.equal(posted.status, 201, JSON.stringify(posted.body));
    assert.deepEqual(posted.body.message.attachments, [c]);
  });

  it('deleting a message deletes its files; the sweep removes uploads never attached', async () => {
    const files = async () =>
      (await readdir(dir, { recursive: true })).filter((f) => !f.startsWith('.spool')).length;
    await server.server.chat.sweepAttachments();
    const a = (await upload('bob', 'team', await png(16, 16), 'gone.png', 'image/png')).body.attachment;
    const sent = await as('bob', 'POST', '/api/channels/team/messages', {
      text: 'soon gone',
      attachments: [a.id],
    });
    const before = await files();
    assert.equal(
      (await as('bob', 'DELETE', `/api/channels/team/messages/${sent.body.message.id}`)).status,
      204,
    );
    await until(async () => (await files()) === before - 2, 'the file and its thumbnail removed');
    assert.equal((await download(a.url, 'bob')).status, 404);
    const history = await as('bob', 'GET', '/api/channels/team/messages?limit=5');
    const deleted = history.body.messages.find((m: { id: string }) => m.id === sent.body.message.id);
    assert.equal(deleted.attachments, undefined);
    // An upload never attached: kept while young, removed once the TTL passed.
    const lone = (await upload('bob', 'team', Buffer.from('lonely\n'), 'lone.txt', 'text/plain')).body
      .attachment;
    assert.equal(await server.server.chat.sweepAttachments(), 0);
    assert.equal((await download(lone.url, 'bob')).status, 200, 'the uploader sees an upload not sent yet');
    assert.equal((await download(lone.url, 'alice')).status, 404, 'nobody else does');
    assert.ok(join(dir).length > 0);
  });
});
