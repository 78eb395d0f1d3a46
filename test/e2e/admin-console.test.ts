import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { browserSkip, builtWeb, launchBrowser, openPage, type PageProblems } from '../support/browser.js';
import { serverApi, TEST_API_KEY } from '../support/server-api.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';

const DOCS = fileURLToPath(new URL('../../docs/', import.meta.url));

function noProblems(problems: PageProblems): void {
  assert.deepEqual(problems.errors, [], 'no script errors and no CSP violations');
}

/** Opens /admin and signs in with the admin account made in `before`. */
async function signIn(
  browser: Browser,
  srv: TestServer,
  options: Parameters<Browser['newContext']>[0] = {},
): Promise<{ context: BrowserContext; page: Page; problems: PageProblems }> {
  const context = await browser.newContext(options);
  const { page, problems } = await openPage(context);
  await page.goto(`${srv.httpUrl}/admin`);
  await page.getByLabel('Username').fill('root');
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Live' }).waitFor();
  return { context, page, problems };
}

describe('admin console in Chromium (#17)', { skip: browserSkip }, () => {
  let browser: Browser;
  let srv: TestServer;
  const clients: TestClient[] = [];

  before(async () => {
    const dir = await builtWeb();
    browser = await launchBrowser();
    srv = await startTestServer({
      env: { PARLEY_WEB_DIR: dir, PARLEY_API_KEY: TEST_API_KEY },
      limits: { adminWatchMs: 500 },
    });
    const res = await fetch(`${srv.httpUrl}/api/auth/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'root', password: 'correct horse battery' }),
    });
    const { user } = (await res.json()) as { user: { id: string } };
    await serverApi(srv, 'PUT', `users/${user.id}/admin`, { admin: true });
    await serverApi(srv, 'PUT', 'users/u-zed', { username: 'zed' });
    await serverApi(srv, 'POST', 'channels', { id: 'ops', title: 'Operations' });
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await browser?.close();
    await srv?.close();
  });

  it('is served at /admin with the strict CSP, never framed, and refuses a user who is no admin', async () => {
    const res = await fetch(`${srv.httpUrl}/admin/`);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline/);

    const context = await browser.newContext();
    const { page, problems } = await openPage(context);
    await fetch(`${srv.httpUrl}/api/auth/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'plain', password: 'correct horse battery' }),
    });
    await page.goto(`${srv.httpUrl}/admin`);
    await page.getByLabel('Username').fill('plain');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not a server admin' }).waitFor();
    noProblems(problems);
    await context.close();
  });

  it('shows an event another client publishes, filtered by channel, and the node it is on', async () => {
    const { context, page, problems } = await signIn(browser, srv);
    await page.getByLabel('Channel').fill('ops');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await page.getByRole('status').filter({ hasText: 'filtered to #ops' }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Streaming' }).waitFor();

    const zed = await TestClient.authed(srv.url, await srv.token('u-zed', 'zed'));
    clients.push(zed);
    await zed.request({ type: 'subscribe', channel: 'ops', history: 0 });
    await zed.request({
      type: 'publish',
      channel: 'general',
      text: 'not for the filter',
      client_msg_id: 'z1',
    });
    await zed.request({ type: 'publish', channel: 'ops', text: 'deploy at noon', client_msg_id: 'z2' });
    const trace = page.getByRole('list', { name: 'Debug events, newest first' });
    await trace.locator('li.trace-publish', { hasText: '#ops' }).waitFor();
    await trace.locator('li.trace-subscribe', { hasText: 'u-zed' }).waitFor();
    assert.equal(await trace.locator('li', { hasText: '#general' }).count(), 0, 'the filter holds');
    assert.equal(await trace.getByText('deploy at noon').count(), 0, 'no message text in the console');
    // The node table counts zed's connection, the online list names them.
    await page.locator('table.nodes tbody td:nth-child(2)', { hasText: '1' }).waitFor();
    await page.locator('ul.online li', { hasText: 'u-zed' }).waitFor();
    // docs/admin-console.png is this view; remade only when asked, so a test run leaves the docs alone.
    if (process.env.PARLEY_UPDATE_SCREENSHOTS === '1')
      await page.screenshot({ path: `${DOCS}admin-console.png`, fullPage: true });
    noProblems(problems);
    await context.close();
  });

  it('finds and bans a user, manages a channel, and says what this server does not have', async () => {
    const { context, page, problems } = await signIn(browser, srv);
    await page.getByRole('button', { name: 'Users' }).click();
    await page.getByLabel('Find users').fill('zed');
    await page.getByRole('button', { name: 'Search' }).click();
    const card = page.locator('.card', { hasText: 'u-zed' });
    await card.getByRole('button', { name: 'Ban' }).click();
    await card.locator('.badge', { hasText: 'banned' }).waitFor();
    await card.getByRole('button', { name: 'Unban' }).click();
    await card.getByRole('button', { name: 'Ban' }).waitFor();

    await page.getByRole('button', { name: 'Channels' }).click();
    await page.getByLabel('Find channels').fill('ops');
    await page.getByRole('button', { name: 'Search' }).click();
    const ops = page.locator('.card', { hasText: '#ops' });
    await ops.getByRole('button', { name: 'Manage' }).click();
    await ops.locator('.members .mono', { hasText: 'u-zed' }).waitFor();
    // Moderation: a channel ban shows and is lifted; slow mode is set.
    const zedRow = ops.locator('.members li', { hasText: 'u-zed' });
    await zedRow.getByRole('button', { name: 'Ban here' }).click();
    await zedRow.locator('.badge', { hasText: 'banned' }).waitFor();
    await zedRow.getByRole('button', { name: 'Lift ban' }).click();
    await zedRow.getByRole('button', { name: 'Ban here' }).waitFor();
    await ops.getByLabel('Slow mode (seconds)').fill('5');
    await ops.getByRole('button', { name: 'Set slow mode' }).click();
    await ops.getByRole('status').filter({ hasText: 'Slow mode of #ops: done.' }).waitFor();
    await ops.getByLabel('Slow mode (seconds)').fill('0');
    await ops.getByRole('button', { name: 'Set slow mode' }).click();
    await ops.getByRole('status').filter({ hasText: 'Slow mode of #ops: done.' }).waitFor();
    const me = (await (
      await fetch(`${srv.httpUrl}/api/admin/me`, { headers: { 'X-Api-Key': TEST_API_KEY } })
    ).json()) as {
      features: { retention: boolean };
    };
    if (!me.features.retention) await ops.getByText('Retention: not available on this server').waitFor();
    await ops.getByRole('button', { name: 'Archive' }).click();
    await ops.locator('.badge', { hasText: 'archived' }).waitFor();
    await ops.getByRole('button', { name: 'Unarchive' }).click();
    await ops.getByRole('button', { name: 'Archive' }).waitFor();

    // A report made by a user waits in the queue and is resolved from it.
    const zedToken = await srv.token('u-zed', 'zed');
    const history = await fetch(`${srv.httpUrl}/api/channels/ops/messages?limit=1`, {
      headers: { Authorization: `Bearer ${zedToken}` },
    });
    const [reported] = ((await history.json()) as { messages: { id: string }[] }).messages;
    const made = await fetch(`${srv.httpUrl}/api/channels/ops/messages/${reported?.id}/reports`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${zedToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ reason: 'off-topic deploy talk' }),
    });
    assert.equal(made.status, 201, await made.text());
    await page.getByRole('button', { name: 'Reports' }).click();
    const report = page.locator('.card', { hasText: 'off-topic deploy talk' });
    await report.getByRole('button', { name: 'Resolve' }).click();
    await page.getByRole('status').filter({ hasText: 'resolved' }).waitFor();
    await report.waitFor({ state: 'detached' });

    await page.getByRole('button', { name: 'Webhooks' }).click();
    await page.getByText('No webhooks are configured on this server').waitFor();

    await page.getByRole('button', { name: 'Metrics' }).click();
    const connections = page.locator('.chart', { hasText: 'Connections' });
    await connections.locator('.value').filter({ hasNotText: '…' }).waitFor();
    await page.locator('.chart svg path.line').first().waitFor({ state: 'attached' });
    noProblems(problems);
    await context.close();
  });

  it('is usable from the keyboard: Tab reaches every screen button, with a visible focus ring', async () => {
    const { context, page, problems } = await signIn(browser, srv);
    const reached: string[] = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        if (el === null) return undefined;
        const style = getComputedStyle(el);
        return { tag: el.tagName, text: el.textContent ?? '', outline: style.outlineStyle };
      });
      if (focused?.tag === 'BUTTON' && focused.outline !== 'none') reached.push(focused.text);
    }
    for (const screen of ['Live', 'Users', 'Channels', 'Reports', 'Webhooks', 'Metrics']) {
      assert.ok(
        reached.includes(screen),
        `Tab reaches the ${screen} button with a focus ring (${reached.join(', ')})`,
      );
    }
    // Enter on a focused screen button opens it.
    await page.getByRole('button', { name: 'Users' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    noProblems(problems);
    await context.close();
  });

  it('works at phone width: nothing scrolls sideways', async () => {
    const { context, page, problems } = await signIn(browser, srv, {
      viewport: { width: 390, height: 844 },
      hasTouch: true,
      isMobile: true,
    });
    for (const screen of ['Live', 'Users', 'Channels', 'Metrics']) {
      await page.getByRole('button', { name: screen, exact: true }).click();
      await page.getByRole('heading', { name: screen, exact: true }).waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${screen}: no horizontal scrolling (${overflow}px too wide)`);
    }
    await mkdir(DOCS, { recursive: true });
    noProblems(problems);
    await context.close();
  });
});
