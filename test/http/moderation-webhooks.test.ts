import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TEST_API_KEY } from '../support/server-api.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { until } from '../support/until.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';
import { call } from './http-client.js';

// Moderation's webhooks (issue 17) go through the durable outbox like the others: member.banned,
// member.unbanned, member.muted and message.reported reach the receiver, signed.

describe('moderation webhooks', { timeout: 60_000 }, () => {
  let srv: TestServer;
  let hooks: WebhookReceiver;
  const api = (method: string, path: string, body?: unknown) =>
    call(srv.httpUrl, method, `/api/server/${path}`, {
      apiKey: TEST_API_KEY,
      ...(body === undefined ? {} : { body }),
    });
  const data = (type: string) =>
    hooks.accepted(type).map((a) => (JSON.parse(a.body) as { data: Record<string, unknown> }).data);

  before(async () => {
    hooks = await WebhookReceiver.start();
    srv = await startTestServer({
      env: {
        PARLEY_API_KEY: TEST_API_KEY,
        PARLEY_WEBHOOK_URLS: hooks.url,
        PARLEY_WEBHOOK_SECRET: 's'.repeat(40),
      },
      limits: { webhookPollMs: 50 },
    });
  });
  after(async () => {
    await srv?.close();
    await hooks?.close();
  });

  it('sends member.banned, member.unbanned and member.muted with who, until and why', async () => {
    const until_ = Date.now() + 60_000;
    assert.equal((await api('POST', 'channels/general/bans/bob', { reason: 'spam' })).status, 201);
    assert.equal((await api('DELETE', 'channels/general/bans/bob')).status, 204);
    assert.equal((await api('POST', 'channels/general/mutes/carol', { until: until_ })).status, 201);
    await until(() => data('member.muted').length === 1, 'the member.muted webhook');
    await until(() => data('member.unbanned').length === 1, 'the member.unbanned webhook');
    assert.deepEqual(data('member.banned'), [
      { channel: 'general', user_id: 'bob', until: null, reason: 'spam', by: 'system' },
    ]);
    assert.deepEqual(data('member.unbanned'), [{ channel: 'general', user_id: 'bob', by: 'system' }]);
    assert.deepEqual(data('member.muted'), [
      { channel: 'general', user_id: 'carol', until: until_, reason: null, by: 'system' },
    ]);
    const attempt = hooks.accepted('member.banned')[0];
    assert.match(String(attempt?.headers['x-parley-signature']), /^sha256=[0-9a-f]{64}$/);
  });

  it('sends message.reported with the report and the message', async () => {
    const posted = await api('POST', 'messages', { channel: 'general', text: 'bad take', user_id: 'alice' });
    const token = await srv.token('bob', 'Bob');
    const made = await call(
      srv.httpUrl,
      'POST',
      `/api/channels/general/messages/${posted.body.message.id}/reports`,
      {
        token,
        body: { reason: 'rude' },
      },
    );
    assert.equal(made.status, 201);
    await until(() => data('message.reported').length === 1, 'the message.reported webhook');
    const [event] = data('message.reported') as {
      report: Record<string, unknown>;
      message: Record<string, unknown>;
    }[];
    assert.equal(event?.report.id, made.body.report.id);
    assert.equal(event?.report.reason, 'rude');
    assert.equal(event?.report.reporter_id, 'bob');
    assert.equal(event?.message.text, 'bad take');
  });
});
