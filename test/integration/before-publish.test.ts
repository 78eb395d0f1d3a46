import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { webhookSignature } from '../../src/server/webhooks/webhook-sender.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';

// The app's before-publish hook (issue 17): accept, reject and replace, each request signed like
// a webhook; an app that does not answer within the timeout lets the post through (fail-open)
// or refuses it with `unavailable` (fail-closed).

const SECRET = 'hook-secret-0123456789abcdef0123456789abcdef';

interface Asked {
  readonly body: { channel: string; user: { id: string; username: string }; text: string };
  readonly signed: boolean;
}

/** A hook that answers by the text's first word: accept, reject, replace, hang, or garbage. */
async function startHook(): Promise<{
  url: string;
  asked: Asked[];
  server: Server;
  hanging: ServerResponse[];
}> {
  const asked: Asked[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString();
      const ts = Number(req.headers['x-parley-timestamp']);
      const signed =
        req.headers['x-parley-signature'] === webhookSignature(new TextEncoder().encode(SECRET), ts, raw) &&
        req.headers['x-parley-event'] === 'message.before_publish';
      const body = JSON.parse(raw) as Asked['body'];
      asked.push({ body, signed });
      const word = body.text.split(' ')[0];
      const answer = (o: unknown, status = 200) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(o));
      };
      if (word === 'hang') hanging.push(res);
      else if (word === 'reject') answer({ action: 'reject', reason: 'not on our forum' });
      else if (word === 'replace') answer({ action: 'replace', text: 'replaced by the app' });
      else if (word === 'garbage') answer({ action: 'maybe' });
      else if (word === 'error') answer({}, 500);
      else answer({ action: 'accept' });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, asked, server, hanging };
}

describe('the before-publish hook', { timeout: 60_000 }, () => {
  let hook: Awaited<ReturnType<typeof startHook>>;
  let open: TestServer;
  let closed: TestServer;
  const clients: TestClient[] = [];
  let n = 0;
  const publish = async (srv: TestServer, text: string) => {
    const client = await TestClient.as(srv, 'bob', clients);
    return client.request({ type: 'publish', channel: 'general', text, client_msg_id: `m${++n}` });
  };
  const lastStored = async (srv: TestServer) => {
    const client = await TestClient.as(srv, 'alice', clients);
    const page = await client.request({ type: 'history', channel: 'general' });
    return (page.messages as { text: string }[]).at(-1)?.text;
  };

  before(async () => {
    hook = await startHook();
    const env = (fail: string) => ({
      PARLEY_WEBHOOK_SECRET: SECRET,
      PARLEY_BEFORE_PUBLISH_URL: hook.url,
      PARLEY_BEFORE_PUBLISH_FAIL: fail,
    });
    const limits = { beforePublishTimeoutMs: 300 };
    open = await startTestServer({ env: env('open'), limits });
    closed = await startTestServer({ env: env('closed'), limits });
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const res of hook?.hanging ?? []) res.destroy();
    await open?.close();
    await closed?.close();
    hook?.server.close();
  });

  it('stores an accepted message as it is, and asks with a signed request', async () => {
    const ack = await publish(open, 'accept this one');
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    assert.equal(await lastStored(open), 'accept this one');
    const asked = hook.asked.at(-1);
    assert.deepEqual(asked?.body, {
      channel: 'general',
      user: { id: 'bob', username: 'BOB' },
      text: 'accept this one',
    });
    assert.equal(asked?.signed, true);
  });

  it('refuses a rejected message with content_rejected and the app’s reason', async () => {
    const refused = await publish(open, 'reject me');
    assert.equal(refused.code, 'content_rejected');
    assert.equal(refused.message, 'not on our forum');
  });

  it('stores the text the app gives instead', async () => {
    const ack = await publish(open, 'replace me');
    assert.equal(ack.type, 'ack');
    assert.equal(await lastStored(open), 'replaced by the app');
  });

  it('lets a post through when the app does not answer in time or answers wrongly, when failing open', async () => {
    for (const text of ['hang on', 'garbage in', 'error please']) {
      const ack = await publish(open, text);
      assert.equal(ack.type, 'ack', `${text}: ${JSON.stringify(ack)}`);
      assert.equal(await lastStored(open), text);
    }
  });

  it('refuses a post with unavailable when the app does not answer in time, when failing closed', async () => {
    const before = await lastStored(closed);
    for (const text of ['hang on', 'garbage in', 'error please']) {
      const refused = await publish(closed, text);
      assert.equal(refused.code, 'unavailable', `${text}: ${JSON.stringify(refused)}`);
    }
    assert.equal(await lastStored(closed), before, 'nothing stored');
    assert.equal((await publish(closed, 'accept now')).type, 'ack');
  });
});
