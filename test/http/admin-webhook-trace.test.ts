import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AdminEventsReader } from '../support/admin-events-reader.js';
import { serverPost, TEST_API_KEY } from '../support/server-api.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const SECRET = 'webhook-secret-0123456789abcdef0123456789';

describe("admin console's debug events of webhooks (#17)", () => {
  let hooks: WebhookReceiver;
  let srv: TestServer;
  // A receiver URL with a credential in its query: the console must not show it.
  let url: string;

  before(async () => {
    hooks = await WebhookReceiver.start();
    url = `${hooks.url}?token=hook-credential-42`;
    srv = await startTestServer({
      env: { PARLEY_API_KEY: TEST_API_KEY, PARLEY_WEBHOOK_URLS: url, PARLEY_WEBHOOK_SECRET: SECRET },
      limits: { webhookRetryBaseMs: 20, adminWatchMs: 200 },
    });
  });
  after(async () => {
    await srv?.close();
    await hooks?.close();
  });

  it('shows each attempt with its outcome, and the URL without its query or secret', async () => {
    const stream = await AdminEventsReader.open(srv.httpUrl, { 'X-Api-Key': TEST_API_KEY });
    let first = true;
    hooks.answer = (a) => {
      if (a.type !== 'message.created' || !first) return 204;
      first = false;
      return 500;
    };
    await serverPost(srv, 'system', 'general', 'for the hook');
    const retried = await stream.entry(
      (e) => e.type === 'webhook' && /message\.created retried/.test(String(e.detail)),
    );
    assert.match(String(retried.detail), /attempt 1/);
    const delivered = await stream.entry(
      (e) => e.type === 'webhook' && /message\.created delivered/.test(String(e.detail)),
    );
    assert.match(String(delivered.detail), /attempt 2/);
    assert.ok(String(delivered.detail).endsWith(`to ${hooks.url}`), String(delivered.detail));
    assert.ok(!stream.raw.includes('hook-credential-42'), "the URL's query is not in the stream");
    assert.ok(!stream.raw.includes(SECRET), 'nor the signing secret');
    await stream.close();
  });
});
