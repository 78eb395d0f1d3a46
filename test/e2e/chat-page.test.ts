import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { browserSkip, builtWeb, launchBrowser, openPage, type PageProblems } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/start-server.js';

const API_KEY = 'e2e-api-key-0123456789abcdef0123456789abcdef';

/** The app's backend: the server API (no rate limits), for seeding. */
async function server(srv: TestServer, method: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${srv.httpUrl}/api/server/${path}`, {
    method,
    headers: { 'X-Api-Key': API_KEY, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.text()}`);
}

/** Posts a message as a user through the server API. */
function post(srv: TestServer, userId: string, channel: string, text: string): Promise<void> {
  return server(srv, 'POST', 'messages', { channel, text, user_id: userId });
}

async function stored(srv: TestServer, token: string, channel: string): Promise<string[]> {
  const res = await fetch(`${srv.httpUrl}/api/channels/${channel}/messages?limit=200`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  const body = (await res.json()) as { messages: { text: string }[] };
  return body.messages.map((m) => m.text);
}

/** The texts of the stored messages on screen, top to bottom. */
function shown(page: Page): Promise<string[]> {
  return page.locator('.messages li.message:not(.pending) .text').allInnerTexts();
}

/** Opens the page signed in with a token handed over in the fragment, in #channel. */
async function openAs(browser: Browser, srv: TestServer, userId: string, name: string, channel = 'general') {
  const context = await browser.newContext();
  const { page, problems } = await openPage(context);
  const token = await srv.token(userId, name);
  await page.goto(`${srv.httpUrl}/?channel=${channel}#token=${token}`);
  await page.getByRole('textbox', { name: `Message #${channel}` }).waitFor();
  return { context, page, problems, token };
}

function noProblems(problems: PageProblems): void {
  assert.deepEqual(problems.errors, [], 'no script errors and no CSP violations');
}

describe('chat page in Chromium', { skip: browserSkip }, () => {
  let browser: Browser;
  let srv: TestServer;

  before(async () => {
    const dir = await builtWeb();
    browser = await launchBrowser();
    srv = await startTestServer({ env: { PARLEY_WEB_DIR: dir, PARLEY_API_KEY: API_KEY } });
  });
  after(async () => {
    await browser?.close();
    await srv?.close();
  });

  it('creates an account, joins #general and sends; a second user sees it live, typing and presence included', async () => {
    const context = await browser.newContext();
    const { page, problems } = await openPage(context);
    await page.goto(`${srv.httpUrl}/`);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Create account' }).click();
    const composer = page.getByRole('textbox', { name: 'Message #general' });
    await composer.waitFor();

    const bob = await openAs(browser, srv, 'u-bob', 'bob');
    // Presence: each sees two people online.
    await page.getByRole('button', { name: /^2 online/ }).waitFor();
    await bob.page.getByRole('button', { name: /^2 online/ }).waitFor();

    await composer.pressSequentially('Hello Bob');
    await bob.page.getByText('alice is typing…').waitFor();
    await composer.press('Enter');
    await bob.page.locator('.messages .text', { hasText: 'Hello Bob' }).waitFor();
    await page.locator('.messages li.message:not(.pending) .text', { hasText: 'Hello Bob' }).waitFor();
    assert.equal(
      await page.locator('.messages li.pending').count(),
      0,
      'the pending copy is gone once stored',
    );
    assert.equal(await composer.inputValue(), '', 'the composer is cleared');

    // Shift+Enter is a new line, not a send.
    await bob.page.getByRole('textbox', { name: 'Message #general' }).click();
    await bob.page.keyboard.type('line one');
    await bob.page.keyboard.press('Shift+Enter');
    await bob.page.keyboard.type('line two');
    await bob.page.keyboard.press('Enter');
    await page.locator('.messages .text', { hasText: 'line two' }).waitFor();
    assert.equal(
      await page.locator('.messages li.message:not(.pending) .text', { hasText: 'line two' }).innerText(),
      'line one\nline two',
    );
    assert.deepEqual(await stored(srv, bob.token, 'general'), ['Hello Bob', 'line one\nline two']);
    noProblems(problems);
    noProblems(bob.problems);
    await context.close();
    await bob.context.close();
  });

  it('renders what users type as text: no markup runs, only http(s) links become links', async () => {
    const a = await openAs(browser, srv, 'u-xss', 'mallory');
    const hostile =
      '<img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> javascript:alert(1) https://example.com/a?b=<c>';
    await a.page.getByRole('textbox', { name: 'Message #general' }).fill(hostile);
    await a.page.keyboard.press('Enter');
    const text = a.page.locator('.messages li.message:not(.pending) .text', { hasText: 'onerror' });
    await text.waitFor();
    assert.equal(await text.innerText(), hostile, 'shown exactly as typed');
    assert.equal(await a.page.locator('.messages img').count(), 0);
    assert.equal(await a.page.locator('.messages script').count(), 0);
    assert.equal(await a.page.evaluate(() => (window as { __pwned?: number }).__pwned), undefined);
    const links = text.locator('a');
    assert.equal(await links.count(), 1, 'only the https URL is a link');
    assert.equal(await links.first().getAttribute('href'), 'https://example.com/a?b=');
    assert.match((await links.first().getAttribute('rel')) ?? '', /noopener/);
    noProblems(a.problems);
    await a.context.close();
  });

  it('loads older messages when scrolled up, in order, down to the first', async () => {
    await server(srv, 'PUT', 'users/u-seed', { username: 'seeder' });
    await server(srv, 'POST', 'channels', { id: 'history', owner: 'u-seed' });
    for (let i = 1; i <= 130; i++) await post(srv, 'u-seed', 'history', `old message ${i}`);
    const a = await openAs(browser, srv, 'u-seed', 'seeder', 'history');
    await a.page.locator('.messages .text', { hasText: 'old message 130' }).waitFor();
    const first = await shown(a.page);
    assert.ok(first.length >= 50 && first.length < 130, `the latest page first (${first.length})`);
    for (let round = 0; round < 10 && (await shown(a.page)).length < 130; round++) {
      await a.page.locator('.messages').evaluate((el) => {
        el.scrollTop = 0;
      });
      await a.page.waitForTimeout(200);
    }
    await a.page.getByText('This is the beginning of #history.').waitFor();
    const all = await shown(a.page);
    assert.deepEqual(
      all,
      Array.from({ length: 130 }, (_, i) => `old message ${i + 1}`),
    );
    noProblems(a.problems);
    await a.context.close();
  });

  it('edits, replies to, reacts to and deletes messages; the other user sees each change live', async () => {
    const a = await openAs(browser, srv, 'u-ed', 'edith');
    const b = await openAs(browser, srv, 'u-fr', 'frank');
    await a.page.getByRole('textbox', { name: 'Message #general' }).fill('teh first draft');
    await a.page.keyboard.press('Enter');
    const sent = a.page.locator('.messages li.message:not(.pending)', { hasText: 'teh first draft' });
    await sent.waitFor();
    // Located by id: the text changes below.
    const id = await sent.getAttribute('data-id');
    const mine = a.page.locator(`.messages li[data-id="${id}"]`);

    await mine.hover();
    await mine.getByRole('button', { name: 'Edit' }).click();
    await mine.getByRole('textbox', { name: 'Edit message' }).fill('the first draft');
    await mine.getByRole('textbox', { name: 'Edit message' }).press('Enter');
    const theirs = b.page.locator(`.messages li[data-id="${id}"]`);
    await theirs.locator('.edited').waitFor();
    assert.equal(await theirs.locator('.text').innerText(), 'the first draft (edited)');

    await theirs.hover();
    await theirs.getByRole('button', { name: 'Reply' }).click();
    await b.page.getByText('Replying to').waitFor();
    // Reply puts the cursor in the composer.
    await b.page.waitForFunction(
      () => document.activeElement?.getAttribute('aria-label') === 'Message #general',
    );
    await b.page.keyboard.type('Looks good');
    await b.page.keyboard.press('Enter');
    const reply = a.page.locator('.messages li.message', { hasText: 'Looks good' });
    await reply.locator('.reply-quote', { hasText: 'the first draft' }).waitFor();

    await theirs.hover();
    await theirs.getByRole('button', { name: 'Add a reaction' }).click();
    await theirs.getByRole('button', { name: 'React with 🎉' }).click();
    await mine.getByRole('button', { name: '🎉 1' }).waitFor();

    // Only the author (or an admin) sees Edit; frank may not edit edith's message.
    await theirs.hover();
    assert.equal(await theirs.getByRole('button', { name: 'Edit' }).count(), 0);

    await mine.hover();
    await mine.getByRole('button', { name: 'Delete' }).click();
    await mine.getByRole('alert').getByRole('button', { name: 'Delete' }).click();
    await b.page.locator('.messages li.message .text.deleted').first().waitFor();
    assert.equal(await b.page.locator('.messages .text', { hasText: 'the first draft' }).count(), 0);
    await b.page.locator('.messages .reply-quote', { hasText: 'deleted message' }).waitFor();
    noProblems(a.problems);
    noProblems(b.problems);
    await a.context.close();
    await b.context.close();
  });
});
