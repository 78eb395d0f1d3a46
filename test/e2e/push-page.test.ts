import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { openStore } from '../../src/server/store/open-store.js';
import { browserSkip, builtWeb, launchBrowser, openPage } from '../support/browser.js';
import { MockPushService } from '../support/mock-push-service.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { until } from '../support/until.js';

// Headless Chromium has no push service to subscribe at (its own needs the network), so the one
// stub of these tests: `PushManager.subscribe` answers with a subscription the local mock push
// service issued for the key it was given. The service worker, its registration, the opt-in,
// the server's storing of the subscription, the notification a push shows and the routing of
// its click all run for real.
const STUB_SUBSCRIBE = `(() => {
  const real = PushManager.prototype.subscribe;
  let made = null;
  PushManager.prototype.getSubscription = async function () { return made; };
  PushManager.prototype.subscribe = async function (options) {
    const key = btoa(String.fromCharCode(...new Uint8Array(options.applicationServerKey)))
      .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
    const sub = await window.__parleyMockSubscribe(key);
    made = { endpoint: sub.endpoint, toJSON: () => ({ endpoint: sub.endpoint, keys: sub.keys, expirationTime: null }), unsubscribe: async () => true };
    void real;
    return made;
  };
})()`;

describe('Web Push on the chat page in Chromium', { skip: browserSkip }, () => {
  let browser: Browser;
  let srv: TestServer;
  let mock: MockPushService;

  before(async () => {
    const dir = await builtWeb();
    browser = await launchBrowser();
    mock = await MockPushService.start();
    srv = await startTestServer({
      env: {
        PARLEY_WEB_DIR: dir,
        PARLEY_PUSH: 'on',
        PARLEY_PUSH_SUBJECT: 'mailto:ops@example.com',
        PARLEY_PUSH_INSECURE_LOOPBACK: 'on',
      },
    });
  });
  after(async () => {
    await browser?.close();
    await srv?.close();
    await mock?.close();
  });

  it('registers the service worker on a click, stores the subscription, and a clicked notification opens its channel', async () => {
    const context = await browser.newContext();
    await context.grantPermissions(['notifications'], { origin: srv.httpUrl });
    await context.exposeFunction('__parleyMockSubscribe', (key: string) => mock.subscribe(key));
    await context.addInitScript(STUB_SUBSCRIBE);
    const { page, problems } = await openPage(context);
    const token = await srv.token('u-ada', 'ada');
    await page.goto(`${srv.httpUrl}/?channel=general#token=${token}`);
    await page.getByRole('textbox', { name: 'Message #general' }).waitFor();
    // Nothing is asked on load: the worker registers only from the click.
    assert.equal(
      await page.evaluate(() => navigator.serviceWorker.getRegistrations().then((r) => r.length)),
      0,
    );
    await page.getByRole('button', { name: 'Enable notifications' }).click();
    const level = page.getByRole('combobox', { name: 'Notifications' });
    await level.waitFor();
    assert.equal(await level.inputValue(), 'mentions');

    const scope = await page.evaluate(() => navigator.serviceWorker.ready.then((r) => r.scope));
    assert.equal(scope, `${srv.httpUrl}/`);
    const store = await openStore(srv.databaseUrl);
    try {
      const subs = await store.push.pushSubscriptionsOf('u-ada');
      assert.equal(subs.length, 1);
      assert.match(subs[0]?.endpoint ?? '', /^http:\/\/127\.0\.0\.1:\d+\/notify\//);
    } finally {
      await store.close();
    }

    // The level control sets the channel's level on the server.
    await level.selectOption('all');
    await until(async () => {
      const r = await fetch(`${srv.httpUrl}/api/channels/general/notifications`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      return ((await r.json()) as { level: string }).level === 'all';
    }, 'the level stored');

    // A second channel to be sent to by the click.
    const made = await fetch(`${srv.httpUrl}/api/channels`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: 'releases', title: 'Releases' }),
    });
    assert.equal(made.status, 201);

    const [worker] =
      context.serviceWorkers().length > 0
        ? context.serviceWorkers()
        : [await context.waitForEvent('serviceworker')];
    assert.ok(worker);
    assert.match(worker.url(), /\/sw\.js$/);
    // A push as the push service would deliver it (the payload the server builds), then a click.
    const shown = await worker.evaluate(async () => {
      const scope = self as unknown as {
        registration: {
          getNotifications(): Promise<{ title: string; body: string; tag: string; data: unknown }[]>;
        };
        dispatchEvent(e: Event): boolean;
      };
      const Push = (globalThis as unknown as { PushEvent: new (t: string, i: object) => Event }).PushEvent;
      const payload = {
        type: 'parley.messages',
        channel: 'releases',
        kind: 'public',
        title: 'Releases',
        messages: 2,
        urgent: true,
        latest: { id: 'm1', seq: 2, username: 'bob', text: '<b>v2</b> is out' },
      };
      scope.dispatchEvent(new Push('push', { data: JSON.stringify(payload) }));
      for (let i = 0; i < 100; i++) {
        const list = await scope.registration.getNotifications();
        if (list.length > 0)
          return list.map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data }));
        await new Promise((r) => setTimeout(r, 20));
      }
      return [];
    });
    assert.deepEqual(shown, [
      {
        title: '#Releases',
        body: 'bob: <b>v2</b> is out (+1 more)',
        tag: 'parley:releases',
        data: { channel: 'releases' },
      },
    ]);
    await worker.evaluate(async () => {
      const scope = self as unknown as {
        registration: { getNotifications(): Promise<Notification[]> };
        dispatchEvent(e: Event): boolean;
      };
      const Click = (globalThis as unknown as { NotificationEvent: new (t: string, i: object) => Event })
        .NotificationEvent;
      const [notification] = await scope.registration.getNotifications();
      scope.dispatchEvent(new Click('notificationclick', { notification }));
    });
    await page.getByRole('textbox', { name: 'Message #Releases' }).waitFor();
    assert.deepEqual(problems.errors, []);
    await context.close();
  });
});
