import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { browserSkip, builtWeb, launchBrowser, openPage } from '../support/browser.js';
import { serverApi, serverPost, TEST_API_KEY } from '../support/server-api.js';
import { startTestServer, type TestServer } from '../support/start-server.js';

/** A host site on another origin: its page carries the widget's script tag, like a PHP page would. */
interface HostSite {
  readonly url: string;
  /** How many times the widget asked the site for a fresh token. */
  tokenRequests: number;
  close(): Promise<void>;
}

async function startHostSite(
  page: (path: string) => string,
  freshToken: () => Promise<string>,
  csp?: () => string,
): Promise<HostSite> {
  let server: Server | undefined;
  const site: HostSite = {
    url: '',
    tokenRequests: 0,
    close: () => new Promise((resolve) => (server ? server.close(() => resolve()) : resolve())),
  };
  server = createServer((req, res) => {
    if (req.url === '/token') {
      site.tokenRequests++;
      void freshToken().then((token) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ token }));
      });
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      ...(csp === undefined ? {} : { 'Content-Security-Policy': csp() }),
    });
    res.end(page(req.url ?? '/'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // "localhost" and "127.0.0.1" are different origins: the site and Parley are cross-origin.
  (site as { url: string }).url = `http://localhost:${(server.address() as AddressInfo).port}`;
  return site;
}

describe('the widget on another site, in Chromium', { skip: browserSkip }, () => {
  let browser: Browser;
  let srv: TestServer;
  let site: HostSite;
  let other: HostSite;

  before(async () => {
    browser = await launchBrowser();
    // The site signs a short-lived token into its page, and hands out fresh ones at /token.
    let parleyUrl = '';
    site = await startHostSite(
      (path) =>
        path === '/iframe'
          ? // The README's plain-frame alternative: no script, the token in the fragment.
            `<!doctype html><html><body><h1>Support</h1>
              <iframe title="Chat" src="${parleyUrl}/embed?channel=general#token=${longToken}"></iframe></body></html>`
          : `<!doctype html><html><head><title>My PHP site</title><meta name="viewport" content="width=device-width, initial-scale=1"></head><body>
        <h1>Welcome back</h1>
        <script src="${parleyUrl}/widget.js" data-token="${shortToken}" data-token-url="/token"
          data-channel="general" data-title="Chat with us" async></script>
      </body></html>`,
      () => srv.token('site-7', 'Dana'),
      // A strict site: no inline code; Parley's script and frame allowed by name.
      () =>
        `default-src 'self'; script-src ${parleyUrl}; frame-src ${parleyUrl}; connect-src 'self' ${parleyUrl}`,
    );
    other = await startHostSite(
      () =>
        `<!doctype html><html><body><iframe id="f" src="${parleyUrl}/embed?channel=general"></iframe></body></html>`,
      () => srv.token('site-8', 'Eve'),
    );
    srv = await startTestServer({
      env: {
        PARLEY_WEB_DIR: await builtWeb(),
        PARLEY_API_KEY: TEST_API_KEY,
        PARLEY_FRAME_ANCESTORS: `'self' ${site.url}`,
        PARLEY_ALLOWED_ORIGINS: site.url,
      },
    });
    parleyUrl = srv.httpUrl;
    await serverApi(srv, 'PUT', 'users/site-7', { username: 'Dana' });
    await serverApi(srv, 'PUT', 'channels/general/members/site-7');
    await serverApi(srv, 'PUT', 'users/support', { username: 'Support' });
    await serverApi(srv, 'POST', 'channels', { id: 'elsewhere', owner: 'support' });
    await serverApi(srv, 'PUT', 'channels/elsewhere/members/site-7');
    shortToken = await srv.token('site-7', 'Dana', 20);
    longToken = await srv.token('site-7', 'Dana');
  });
  let shortToken = '';
  let longToken = '';
  after(async () => {
    await browser?.close();
    await srv?.close();
    await site?.close();
    await other?.close();
  });

  it('opens a chat panel from one script tag, signed in with the site token, refreshed through the site', async () => {
    const context = await browser.newContext();
    const { page, problems } = await openPage(context);
    await page.goto(`${site.url}/`);
    const launcher = page.getByRole('button', { name: 'Chat with us' });
    await launcher.click();
    const frame = page.frameLocator('iframe[title="Chat with us"]');
    const composer = frame.getByRole('textbox', { name: 'Message #general' });
    await composer.waitFor();
    // The token handed over expires within a minute: the page asked the site for a new one.
    assert.ok(site.tokenRequests >= 1, 'the frame asked the host page for a fresh token');
    // Only the channel, no sidebar, and a way out to the full page.
    assert.equal(await frame.locator('nav.sidebar').count(), 0);
    await frame.getByRole('link', { name: 'Open Parley' }).waitFor();

    await serverPost(srv, 'site-7', 'general', 'hello from the site backend');
    await frame.locator('.messages .text', { hasText: 'hello from the site backend' }).waitFor();
    await composer.fill('and hello from the widget');
    await composer.press('Enter');
    await frame
      .locator('.messages li.message:not(.pending) .text', { hasText: 'and hello from the widget' })
      .waitFor();

    // Closed panel: new messages of its channel show as a count on the launcher; other
    // channels the user is in do not count (the panel cannot show them).
    await launcher.click();
    await serverPost(srv, 'support', 'elsewhere', 'in a channel the panel does not show');
    await serverPost(srv, 'support', 'general', 'while the panel was closed');
    await page.locator('[data-parley-widget]').locator('.badge', { hasText: '1' }).waitFor();
    await launcher.click();
    await page.locator('[data-parley-widget]').locator('.badge').waitFor({ state: 'hidden' });
    assert.deepEqual(problems.errors, []);
    await context.close();
  });

  it('refuses to be framed by a site not in PARLEY_FRAME_ANCESTORS', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const refused = page.waitForEvent('console', { predicate: (msg) => /frame-ancestors/.test(msg.text()) });
    await page.goto(`${other.url}/`);
    assert.match((await refused).text(), /has been blocked/);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    assert.ok(frame !== undefined);
    assert.equal(await frame.locator('#app').count(), 0, 'the page did not load in the frame');
    await context.close();
  });
  it("lets the allowed site's own scripts call the user API, and no other site", async () => {
    const context = await browser.newContext();
    const token = await srv.token('site-7', 'Dana');
    const call = `(async () => {
      try {
        const res = await fetch('${srv.httpUrl}/api/me', { headers: { Authorization: 'Bearer ${token}' } });
        return (await res.json()).user.username;
      } catch (err) {
        return 'blocked: ' + err.name;
      }
    })()`;
    const page = await context.newPage();
    await page.goto(`${site.url}/`);
    assert.equal(await page.evaluate(call), 'Dana');
    await page.goto(`${other.url}/`);
    assert.equal(await page.evaluate(call), 'blocked: TypeError');
    await context.close();
  });
  it('fills a phone screen and closes with its × button or Escape', async () => {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    const { page, problems } = await openPage(context);
    await page.goto(`${site.url}/`);
    const launcher = page.getByRole('button', { name: 'Chat with us' });
    await launcher.click();
    const frame = page.frameLocator('iframe[title="Chat with us"]');
    await frame.getByRole('textbox', { name: 'Message #general' }).waitFor();
    const box = await page.locator('iframe[title="Chat with us"]').boundingBox();
    assert.ok(box !== null && box.width >= 389 && box.height >= 843, `full screen (${JSON.stringify(box)})`);
    await frame.getByRole('button', { name: 'Close chat' }).click();
    await page.locator('iframe[title="Chat with us"]').waitFor({ state: 'hidden' });
    assert.equal(await launcher.getAttribute('aria-expanded'), 'false');

    await launcher.click();
    await frame.getByRole('button', { name: 'Close chat' }).focus();
    await page.keyboard.press('Escape');
    await page.locator('iframe[title="Chat with us"]').waitFor({ state: 'hidden' });
    assert.deepEqual(problems.errors, []);
    await context.close();
  });
  it('works as a plain iframe with the token in its fragment, as the README shows', async () => {
    const context = await browser.newContext();
    const { page, problems } = await openPage(context);
    await page.goto(`${site.url}/iframe`);
    const frame = page.frameLocator('iframe[title="Chat"]');
    const composer = frame.getByRole('textbox', { name: 'Message #general' });
    await composer.waitFor();
    // No widget around it: nothing to close.
    assert.equal(await frame.getByRole('button', { name: 'Close chat' }).count(), 0);
    await composer.fill('hello from a plain frame');
    await composer.press('Enter');
    await frame
      .locator('.messages li.message:not(.pending) .text', { hasText: 'hello from a plain frame' })
      .waitFor();
    assert.deepEqual(problems.errors, []);
    await context.close();
  });
  it('shows the unread count on the button before the panel was ever opened, and opens with no console warning', async () => {
    await serverPost(srv, 'support', 'general', 'are you there?');
    await serverPost(srv, 'support', 'general', 'we can help');
    const context = await browser.newContext();
    const { page, problems } = await openPage(context);
    const logged: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'warning' || msg.type() === 'error') logged.push(`${msg.type()}: ${msg.text()}`);
    });
    // What the unread API says now (the earlier tests' read positions may still be on their way).
    const res = await fetch(`${srv.httpUrl}/api/channels`, {
      headers: { Authorization: `Bearer ${await srv.token('site-7', 'Dana')}` },
    });
    const { channels } = (await res.json()) as { channels: { id: string; unread: number }[] };
    const expected = channels.find((c) => c.id === 'general')?.unread ?? 0;
    assert.ok(expected >= 2, `two unread at least (${expected})`);
    await page.goto(`${site.url}/`);
    const badge = page.locator('[data-parley-widget]').locator('.badge', { hasText: String(expected) });
    await badge.waitFor();
    assert.equal(await page.locator('iframe').count(), 0, 'counted without the frame');
    const launcher = page.getByRole('button', { name: 'Chat with us' });
    await launcher.click();
    const frame = page.frameLocator('iframe[title="Chat with us"]');
    await frame.locator('.messages .text', { hasText: 'we can help' }).waitFor();
    await page.locator('[data-parley-widget]').locator('.badge').waitFor({ state: 'hidden' });
    await launcher.click();
    await launcher.click();
    await frame.getByRole('textbox', { name: 'Message #general' }).waitFor();
    assert.deepEqual(logged, [], 'no warning (a postMessage to a frame not loaded yet logged one)');
    assert.deepEqual(problems.errors, []);
    await context.close();
  });
});
