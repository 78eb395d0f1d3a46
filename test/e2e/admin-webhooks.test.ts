import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { browserSkip, builtWeb, launchBrowser, openPage } from '../support/browser.js';
import { serverPost, TEST_API_KEY } from '../support/server-api.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { until } from '../support/until.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

describe("admin console's webhook deliveries in Chromium (#17)", { skip: browserSkip }, () => {
  let browser: Browser;
  let srv: TestServer;
  let hooks: WebhookReceiver;

  before(async () => {
    hooks = await WebhookReceiver.start();
    hooks.answer = () => 500;
    browser = await launchBrowser();
    srv = await startTestServer({
      env: {
        PARLEY_WEB_DIR: await builtWeb(),
        PARLEY_API_KEY: TEST_API_KEY,
        PARLEY_WEBHOOK_URLS: hooks.url,
        PARLEY_WEBHOOK_SECRET: 'webhook-secret-0123456789abcdef0123456789',
      },
      // Dead after a few quick attempts.
      limits: { webhookRetryWindowMs: 300, webhookRetryBaseMs: 20, webhookRetryMaxMs: 50, webhookPollMs: 20 },
    });
  });
  after(async () => {
    await browser?.close();
    await srv?.close();
    await hooks?.close();
  });

  it('lists a dead delivery and replays it, signed in with the API key', async () => {
    await serverPost(srv, 'system', 'general', 'nobody hears this at first');
    const dead = async () => {
      const res = await fetch(`${srv.httpUrl}/api/server/webhooks?state=dead`, {
        headers: { 'X-Api-Key': TEST_API_KEY },
      });
      return ((await res.json()) as { deliveries: unknown[] }).deliveries.length > 0;
    };
    await until(dead, 'the delivery to die');

    const context = await browser.newContext();
    const { page, problems } = await openPage(context);
    await page.goto(`${srv.httpUrl}/admin/`);
    await page.getByLabel('The server API key').check();
    await page.getByLabel('API key', { exact: true }).fill(TEST_API_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Signed in as').filter({ hasText: 'API key' }).waitFor();
    await page.getByRole('button', { name: 'Webhooks' }).click();
    await page.getByRole('button', { name: 'Dead' }).click();
    const card = page.locator('.card', { hasText: 'message.created' });
    await card.getByText(/last error: /).waitFor();

    hooks.answer = () => 204;
    await card.getByRole('button', { name: 'Replay' }).click();
    await page.getByRole('status').filter({ hasText: '1 deliveries sent again' }).waitFor();
    await until(() => hooks.accepted('message.created').length > 0, 'the replayed delivery to arrive');
    assert.deepEqual(problems.errors, [], 'no script errors and no CSP violations');
    await context.close();
  });
});
