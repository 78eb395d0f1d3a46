import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { AVATAR_PALETTE, avatarColour } from '../../web/src/avatar-colour.js';
import { browserSkip, builtWeb, launchBrowser, openPage, type PageProblems } from '../support/browser.js';
import { serverApi, serverPost, TEST_API_KEY } from '../support/server-api.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { until } from '../support/until.js';

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

/**
 * The contrast ratio (WCAG) of the body's text on its background, and the background's
 * luminance. A string: the test runner's transform would add helpers the page does not have.
 */
const CONTRAST = `(() => {
  const lum = (c) => {
    const [r, g, b] = (c.match(/\\d+(\\.\\d+)?/g) || []).slice(0, 3).map((v) => {
      const s = Number(v) / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const style = getComputedStyle(document.body);
  const [hi, lo] = [lum(style.color), lum(style.backgroundColor)].sort((x, y) => y - x);
  return { ratio: (hi + 0.05) / (lo + 0.05), background: lum(style.backgroundColor) };
})()`;

function noProblems(problems: PageProblems): void {
  assert.deepEqual(problems.errors, [], 'no script errors and no CSP violations');
}

describe('chat page in Chromium', { skip: browserSkip }, () => {
  let browser: Browser;
  let srv: TestServer;

  before(async () => {
    const dir = await builtWeb();
    browser = await launchBrowser();
    srv = await startTestServer({ env: { PARLEY_WEB_DIR: dir, PARLEY_API_KEY: TEST_API_KEY } });
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

  it('loads older messages when scrolled up, in order, down to the first, with only a window of them in the DOM', async () => {
    await serverApi(srv, 'PUT', 'users/u-seed', { username: 'seeder' });
    await serverApi(srv, 'POST', 'channels', { id: 'history', owner: 'u-seed' });
    for (let i = 1; i <= 130; i++) await serverPost(srv, 'u-seed', 'history', `old message ${i}`);
    const a = await openAs(browser, srv, 'u-seed', 'seeder', 'history');
    await a.page.locator('.messages .text', { hasText: 'old message 130' }).waitFor();
    const first = await shown(a.page);
    assert.ok(first.length >= 50 && first.length < 130, `the latest page first (${first.length})`);
    const firstSeq = () =>
      a.page.evaluate(() => Number(document.querySelector('.messages li.message')?.getAttribute('data-seq')));
    // Scroll to the top until the first message is there; each scroll brings older ones.
    const beginning = a.page.getByText('This is the beginning of #history.');
    for (let i = 0; i < 40 && !(await beginning.isVisible()); i++) {
      const before = await firstSeq();
      await a.page.locator('.messages').evaluate((el) => {
        el.scrollTop = 0;
        el.dispatchEvent(new Event('scroll'));
      });
      await a.page
        .waitForFunction(
          (n) =>
            Number(document.querySelector('.messages li.message')?.getAttribute('data-seq')) < n ||
            document.querySelector('.channel-start') !== null,
          before,
          { timeout: 5000 },
        )
        .catch(() => {});
    }
    await beginning.waitFor();
    const top = await shown(a.page);
    assert.ok(top.length <= 100, `at most 100 messages in the DOM (${top.length})`);
    assert.deepEqual(
      top,
      Array.from({ length: top.length }, (_, i) => `old message ${i + 1}`),
      'the first ones, in order, no gap',
    );
    // Jump to latest: the newest again, still a window, and a live one follows.
    await a.page.getByRole('button', { name: 'Jump to latest' }).click();
    await a.page.locator('.messages .text', { hasText: 'old message 130' }).waitFor();
    const bottom = await shown(a.page);
    assert.ok(bottom.length <= 100, `at most 100 in the DOM (${bottom.length})`);
    assert.equal(bottom.at(-1), 'old message 130');
    await serverPost(srv, 'u-seed', 'history', 'a live one');
    await a.page.locator('.messages .text', { hasText: 'a live one' }).waitFor();
    assert.ok(
      await a.page.locator('.messages .text', { hasText: 'a live one' }).isVisible(),
      'scrolled into view',
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
  it('shows a banner while the server is away, then the missed messages in order, once, with no reload', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-e2e-'));
    const databaseUrl = `sqlite:${join(dir, 'parley.db')}`;
    const env = { PARLEY_WEB_DIR: await builtWeb(), PARLEY_API_KEY: TEST_API_KEY };
    const first = await startTestServer({ databaseUrl, env });
    const { port, secret } = first;
    let second: TestServer | undefined;
    try {
      await serverApi(first, 'PUT', 'users/u-oth', { username: 'otto' });
      const a = await openAs(browser, first, 'u-re', 'rhea');
      await serverPost(first, 'u-oth', 'general', 'before the outage');
      await a.page.locator('.messages .text', { hasText: 'before the outage' }).waitFor();

      await first.close();
      await a.page.locator('.banner', { hasText: 'Reconnecting' }).waitFor();
      // Sent while away: shown as pending, sent once when the server is back.
      await a.page.getByRole('textbox', { name: 'Message #general' }).fill('sent while away');
      await a.page.keyboard.press('Enter');
      await a.page.locator('.messages li.pending', { hasText: 'Sending…' }).waitFor();
      // It carries its author (the message above is otto's), and no one is counted online.
      assert.equal(await a.page.locator('.messages li.pending .author').innerText(), 'rhea');
      await a.page.getByRole('button', { name: /^Who is online is unknown/ }).waitFor();

      // Meanwhile another node on the same database takes messages.
      const side = await startTestServer({ databaseUrl, secret, env });
      for (let i = 1; i <= 5; i++) await serverPost(side, 'u-oth', 'general', `missed ${i}`);
      await side.close();

      second = await startTestServer({ databaseUrl, secret, port, env });
      await a.page
        .locator('.messages li.message:not(.pending) .text', { hasText: 'sent while away' })
        .waitFor();
      await a.page.locator('.banner').waitFor({ state: 'detached' });
      await a.page.getByRole('button', { name: /^1 online/ }).waitFor();
      const expected = [
        'before the outage',
        'missed 1',
        'missed 2',
        'missed 3',
        'missed 4',
        'missed 5',
        'sent while away',
      ];
      assert.deepEqual(await shown(a.page), expected);
      assert.equal(await a.page.locator('.messages li.pending').count(), 0);
      assert.deepEqual(
        await stored(second, await second.token('u-re', 'rhea'), 'general'),
        expected,
        'stored once',
      );
      noProblems(a.problems);
      await a.context.close();
    } finally {
      await second?.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('counts unread messages and mentions per channel, and clears them when read', async () => {
    await serverApi(srv, 'PUT', 'users/u-ur', { username: 'ursula' });
    await serverApi(srv, 'PUT', 'users/u-vic', { username: 'victor' });
    await serverApi(srv, 'POST', 'channels', { id: 'quiet', owner: 'u-ur' });
    await serverApi(srv, 'POST', 'channels', { id: 'unreads', owner: 'u-vic' });
    await serverApi(srv, 'PUT', 'channels/unreads/members/u-ur', {});
    const a = await openAs(browser, srv, 'u-ur', 'ursula', 'quiet');
    await serverPost(srv, 'u-vic', 'unreads', 'good morning');
    await serverPost(srv, 'u-vic', 'unreads', 'ping @ursula, have a look');
    const badge = a.page.locator('.channel-link[data-channel="unreads"] .badge');
    await badge.waitFor();
    assert.equal(await badge.getAttribute('data-unread'), '2');
    assert.equal(await badge.getAttribute('data-mentions'), '1');
    await a.page.waitForFunction(() => document.title === '(2) Parley');

    await a.page.locator('.channel-link[data-channel="unreads"]').click();
    await a.page.locator('.messages .mention-me', { hasText: '@ursula' }).waitFor();
    await badge.waitFor({ state: 'detached' });
    // The read position is stored: once the server has it, a reload shows no badge either.
    const stillUnread = async () => {
      const res = await fetch(`${srv.httpUrl}/api/channels`, {
        headers: { Authorization: `Bearer ${a.token}` },
      });
      const { channels } = (await res.json()) as { channels: { id: string; unread: number }[] };
      return channels.find((c) => c.id === 'unreads')?.unread !== 0;
    };
    await until(async () => !(await stillUnread()), 'the read position on the server');
    await a.page.reload();
    await a.page.getByRole('textbox', { name: /^Message #/ }).waitFor();
    await a.page.locator('.channel-link[data-channel="unreads"]').waitFor();
    assert.equal(await a.page.locator('.channel-link[data-channel="unreads"] .badge').count(), 0);
    noProblems(a.problems);
    await a.context.close();
  });

  it('finds messages in the channels the reader may read, and opens the channel of a result', async () => {
    await serverApi(srv, 'PUT', 'users/u-sa', { username: 'sam' });
    await serverApi(srv, 'PUT', 'users/u-owner', { username: 'olga' });
    await serverApi(srv, 'POST', 'channels', { id: 'kitchen', owner: 'u-sa' });
    await serverApi(srv, 'POST', 'channels', { id: 'vault', owner: 'u-owner', private: true });
    await serverPost(srv, 'u-sa', 'kitchen', 'the banana bread recipe is pinned');
    await serverPost(srv, 'u-sa', 'kitchen', 'nothing to see here');
    await serverPost(srv, 'u-owner', 'vault', 'banana secret nobody else may read');
    const a = await openAs(browser, srv, 'u-sa', 'sam', 'kitchen');
    await a.page.getByRole('searchbox', { name: 'Search messages' }).fill('banan');
    await a.page.keyboard.press('Enter');
    const results = a.page.locator('.search-results li');
    await results.first().waitFor();
    assert.equal(await results.count(), 1, 'the private channel of others stays out');
    assert.equal(await results.first().locator('mark').innerText(), 'banan');
    assert.match(await results.first().innerText(), /#kitchen/);
    await results.first().getByRole('button').click();
    await a.page.getByRole('textbox', { name: 'Message #kitchen' }).waitFor();
    await a.page.locator('.messages .text', { hasText: 'banana bread' }).waitFor();
    noProblems(a.problems);
    await a.context.close();
  });

  it('counts down near the length limit, keeps a text over it in the composer, and sends it once short enough', async () => {
    const a = await openAs(browser, srv, 'u-long', 'lena');
    const composer = a.page.getByRole('textbox', { name: 'Message #general' });
    const counter = a.page.locator('.composer .length-counter');
    await composer.fill('x'.repeat(3000));
    assert.equal(await counter.count(), 0, 'no counter far from the limit');
    await composer.fill('x'.repeat(3700)); // PARLEY_MAX_MESSAGE_CHARS is 4000
    assert.equal(await counter.innerText(), '300 characters left');
    const tooLong = `${'x'.repeat(4000)}y`;
    await composer.fill(tooLong);
    assert.equal(await counter.innerText(), '1 characters too many (limit 4000)');
    assert.equal(await a.page.getByRole('button', { name: 'Send' }).isDisabled(), true);
    await composer.press('Enter');
    assert.equal(await composer.inputValue(), tooLong, 'the text stays to edit');
    assert.equal(await a.page.locator('.messages li.pending').count(), 0, 'nothing sent, nothing to retry');
    await composer.press('Backspace');
    assert.equal(await counter.innerText(), '0 characters left');
    await composer.press('Enter');
    await a.page.locator('.messages li.message:not(.pending)', { hasText: 'xxxxxxxx' }).waitFor();
    assert.equal(await composer.inputValue(), '');
    const texts = await stored(srv, a.token, 'general');
    assert.ok(texts.includes('x'.repeat(4000)) && !texts.includes(tooLong));
    noProblems(a.problems);
    await a.context.close();
  });

  it('works at phone width: the channel list is a drawer and nothing scrolls sideways', async () => {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      hasTouch: true,
      isMobile: true,
    });
    const { page, problems } = await openPage(context);
    await serverApi(srv, 'PUT', 'users/u-ph', { username: 'phoebe' });
    await serverApi(srv, 'POST', 'channels', { id: 'phones', owner: 'u-ph' });
    await page.goto(`${srv.httpUrl}/?channel=phones#token=${await srv.token('u-ph', 'phoebe')}`);
    await page.getByRole('textbox', { name: 'Message #phones' }).waitFor();
    assert.equal(await page.locator('nav.sidebar').isVisible(), false, 'the list starts hidden');
    await page.getByRole('button', { name: 'Show channels' }).click();
    await page.locator('nav.sidebar').waitFor({ state: 'visible' });
    await page.locator('.channel-link[data-channel="general"]').click();
    await page
      .getByRole('textbox', { name: /^Message #general/ })
      .or(page.getByRole('button', { name: 'Join channel' }))
      .first()
      .waitFor();
    await page.locator('nav.sidebar').waitFor({ state: 'hidden' });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling (${overflow}px too wide)`);
    noProblems(problems);
    await context.close();
  });

  it('is readable in light and dark, and usable from the keyboard alone', async () => {
    for (const colorScheme of ['light', 'dark'] as const) {
      const context = await browser.newContext({ colorScheme });
      const { page, problems } = await openPage(context);
      await page.goto(`${srv.httpUrl}/#token=${await srv.token('u-kb', 'kim')}`);
      const composer = page.getByRole('textbox', { name: /^Message #/ });
      await composer.waitFor();
      const contrast = (await page.evaluate(CONTRAST)) as { ratio: number; background: number };
      assert.ok(contrast.ratio >= 7, `${colorScheme}: text contrast ${contrast.ratio.toFixed(1)}:1`);
      assert.equal(contrast.background < 0.1, colorScheme === 'dark', `${colorScheme} background`);

      // Tab from the top of the page reaches the composer; Enter sends.
      await page
        .locator('body')
        .click({ position: { x: 1, y: 1 } })
        .catch(() => {});
      let reached = false;
      for (let i = 0; i < 40 && !reached; i++) {
        await page.keyboard.press('Tab');
        reached = await page.evaluate(
          () => document.activeElement?.getAttribute('aria-label')?.startsWith('Message #') === true,
        );
      }
      assert.ok(reached, 'the composer is reachable with Tab');
      await page.keyboard.type(`typed in ${colorScheme}`);
      await page.keyboard.press('Enter');
      await page
        .locator('.messages li.message:not(.pending) .text', { hasText: `typed in ${colorScheme}` })
        .waitFor();
      noProblems(problems);
      await context.close();
    }
  });
  it('creates a private channel, adds someone who sees it at once, and opens a DM from the member list', async () => {
    await serverApi(srv, 'PUT', 'users/u-pr', { username: 'priya' });
    await serverApi(srv, 'PUT', 'users/u-qu', { username: 'quinn' });
    const p = await openAs(browser, srv, 'u-pr', 'priya');
    const q = await openAs(browser, srv, 'u-qu', 'quinn');

    await p.page.getByRole('button', { name: 'Create a channel' }).click();
    const dialog = p.page.getByRole('dialog', { name: 'Create a channel' });
    // A name the server would refuse is explained before any request; a taken one after.
    await dialog.getByLabel('Name').fill('-launch');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'Use 1–64' }).waitFor();
    await dialog.getByLabel('Name').fill('general');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog
      .getByRole('alert')
      .filter({ hasText: /taken|exists/ })
      .waitFor();
    await dialog.getByLabel('Name').fill('Launch Plans');
    assert.equal(await dialog.getByLabel('Name').inputValue(), 'launch-plans');
    await dialog.getByLabel(/Private/).check();
    await dialog.getByRole('button', { name: 'Create' }).click();
    await p.page.getByRole('textbox', { name: 'Message launch-plans' }).waitFor();
    assert.equal(
      await q.page.locator('.channel-link[data-channel="launch-plans"]').count(),
      0,
      'private: quinn does not see it',
    );

    await p.page.getByRole('button', { name: /online; show members/ }).click();
    const members = p.page.getByRole('complementary', { name: 'Members' });
    await members.getByLabel('Add someone by username').fill('quinn');
    await members.getByRole('button', { name: 'Add' }).click();
    await members.getByText('quinn').waitFor();
    // Quinn is told at once: the channel appears in the list without a reload.
    await q.page.locator('.channel-link[data-channel="launch-plans"]').waitFor();

    await members.locator('li', { hasText: 'quinn' }).getByRole('button', { name: 'Message' }).click();
    const dm = p.page.getByRole('textbox', { name: /^Message / });
    await p.page.locator('.channel-link[aria-current="page"] .prefix', { hasText: '@' }).waitFor();
    await dm.fill('just between us');
    await dm.press('Enter');
    // The DM shows up in quinn's list, with the unread message.
    const dmLink = q.page
      .locator('.sidebar section', { hasText: 'Direct messages' })
      .locator('.channel-link');
    await dmLink.locator('.badge').waitFor();
    await dmLink.click();
    await q.page.locator('.messages .text', { hasText: 'just between us' }).waitFor();
    noProblems(p.problems);
    noProblems(q.problems);
    await p.context.close();
    await q.context.close();
  });

  it('signs out, and signs back in with the password', async () => {
    const context = await browser.newContext();
    const { page, problems } = await openPage(context);
    await page.goto(`${srv.httpUrl}/`);
    await page.getByLabel('Username').fill('walter');
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('textbox', { name: 'Message #general' }).waitFor();
    // A reload keeps the session.
    await page.reload();
    await page.getByRole('textbox', { name: 'Message #general' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Username').fill('walter');
    await page.getByLabel('Password').fill('the wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'wrong username or password' }).waitFor();
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('textbox', { name: 'Message #general' }).waitFor();
    noProblems(problems);
    await context.close();
  });
  it('renders hostile names, channel titles, topics and search results as text too', async () => {
    const evilName = '<img src=x onerror="window.__pwned=3">';
    await serverApi(srv, 'PUT', 'users/u-evil', { username: evilName });
    await serverApi(srv, 'POST', 'channels', {
      id: 'odd',
      owner: 'u-evil',
      title: '<svg onload="window.__pwned=4">',
      topic: '<iframe src="javascript:window.__pwned=5"></iframe>',
    });
    await serverPost(srv, 'u-evil', 'odd', 'zebra <b onmouseover="window.__pwned=6">crossing</b>');
    const context = await browser.newContext();
    const { page, problems } = await openPage(context);
    await page.goto(`${srv.httpUrl}/?channel=odd#token=${await srv.token('u-evil', evilName)}`);
    const a = { page, problems, context };
    await a.page.locator('.messages .author', { hasText: evilName }).first().waitFor();
    await a.page.locator('.channel-header h1', { hasText: '<svg onload' }).waitFor();
    await a.page.locator('.topic', { hasText: '<iframe' }).waitFor();
    assert.equal(await a.page.locator('.me-name').innerText(), evilName);
    await a.page.getByRole('searchbox', { name: 'Search messages' }).fill('zebra');
    await a.page.keyboard.press('Enter');
    await a.page.locator('.search-results mark', { hasText: 'zebra' }).waitFor();
    assert.match(await a.page.locator('.search-results li').first().innerText(), /<b onmouseover/);
    assert.equal(
      await a.page
        .locator('#app img:not([src="favicon.svg"]), #app svg:not([data-icon]), #app iframe, #app b')
        .count(),
      0,
    );
    assert.equal(await a.page.evaluate(() => (window as { __pwned?: number }).__pwned), undefined);
    noProblems(a.problems);
    await a.context.close();
  });

  it("keeps a signed-in account when a link carries someone else's token", async () => {
    const context = await browser.newContext();
    const { page, problems } = await openPage(context);
    await page.goto(`${srv.httpUrl}/`);
    await page.getByLabel('Username').fill('ada');
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('textbox', { name: 'Message #general' }).waitFor();
    await page.goto(`${srv.httpUrl}/#token=${await srv.token('u-mallet', 'mallet')}`);
    await page.reload();
    await page.getByRole('textbox', { name: 'Message #general' }).waitFor();
    assert.equal(await page.locator('.me-name').innerText(), 'ada');
    assert.equal(new URL(page.url()).hash, '', 'the token is gone from the address bar');
    noProblems(problems);
    await context.close();
  });
  it('draws its icons as inline SVG, not as characters a missing emoji font shows as boxes', async () => {
    await serverApi(srv, 'PUT', 'users/u-ic', { username: 'ida' });
    await serverApi(srv, 'POST', 'channels', { id: 'icons', owner: 'u-ic', private: true });
    await serverPost(srv, 'u-ic', 'icons', 'hover me');
    const context = await browser.newContext();
    const { page, problems } = await openPage(context);
    await page.goto(`${srv.httpUrl}/?channel=icons#token=${await srv.token('u-ic', 'ida')}`);
    const message = page.locator('.messages li.message', { hasText: 'hover me' });
    await message.hover();
    for (const name of ['Reply', 'Add a reaction', 'Edit', 'Delete']) {
      const button = message.getByRole('button', { name });
      assert.equal(await button.locator('svg[data-icon]').count(), 1, `${name} has an SVG icon`);
      assert.equal((await button.innerText()).trim(), '', `${name} has no icon character`);
    }
    await page.locator('.channel-header h1 svg[data-icon="lock"]').waitFor();
    await page.locator('.channel-link[data-channel="icons"] svg[data-icon="lock"]').waitFor();
    // No pictograph or arrow/symbol character anywhere in the page's own chrome.
    const symbols = await page.evaluate(() => {
      const found: string[] = [];
      const walker = document.createTreeWalker(document.getElementById('app') as Node, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n !== null; n = walker.nextNode()) {
        if ((n.parentElement as Element).closest('.messages .text, .reactions, .picker') !== null) continue;
        for (const ch of n.textContent ?? '') {
          const cp = ch.codePointAt(0) ?? 0;
          if ((cp >= 0x2190 && cp <= 0x2bff) || cp >= 0x1f000 || cp === 0xd7) found.push(ch);
        }
      }
      return found;
    });
    assert.deepEqual(symbols, []);
    noProblems(problems);
    await context.close();
  });
  it('starts a direct message by username, with suggestions as one types', async () => {
    await serverApi(srv, 'PUT', 'users/u-theo', { username: 'theo' });
    await serverApi(srv, 'PUT', 'users/u-theodore', { username: 'Theodore' });
    const a = await openAs(browser, srv, 'u-tessa', 'tessa');
    await a.page.getByRole('button', { name: 'Start a direct message' }).click();
    const dialog = a.page.getByRole('dialog', { name: 'Start a direct message' });
    await dialog.getByLabel('Username').fill('nobody-here');
    await dialog.getByRole('button', { name: 'Open' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'No user is named nobody-here.' }).waitFor();
    await dialog.getByLabel('Username').fill('THE');
    const suggestions = dialog.getByRole('list', { name: 'Matching users' }).getByRole('button');
    await suggestions.nth(1).waitFor();
    assert.deepEqual(await suggestions.allTextContents(), ['theo', 'Theodore']);
    await suggestions.filter({ hasText: 'Theodore' }).click();
    await dialog.getByRole('button', { name: 'Open' }).click();
    await a.page.getByRole('textbox', { name: 'Message Theodore' }).waitFor();

    // The exact name typed, without choosing from the list, opens that user's DM too.
    await a.page.getByRole('button', { name: 'Start a direct message' }).click();
    await dialog.getByLabel('Username').fill('theo');
    await dialog.getByLabel('Username').press('Enter');
    await a.page.getByRole('textbox', { name: 'Message theo' }).waitFor();
    noProblems(a.problems);
    await a.context.close();
  });
  it("paints each author's avatar in the colour their id picks from the palette", async () => {
    await serverApi(srv, 'PUT', 'users/u-ic', { username: 'ida' });
    await serverApi(srv, 'POST', 'channels', { id: 'colours', owner: 'u-ic' });
    const people = ['local:ann', 'local:ben', 'local:cid'];
    for (const id of people) {
      await serverApi(srv, 'PUT', `users/${encodeURIComponent(id)}`, { username: id.slice(6) });
      await serverPost(srv, id, 'colours', `hello from ${id}`);
    }
    const context = await browser.newContext();
    const { page, problems } = await openPage(context);
    await page.goto(`${srv.httpUrl}/?channel=colours#token=${await srv.token('u-ic', 'ida')}`);
    for (const id of people) {
      const avatar = page.locator('.messages li.message', { hasText: `hello from ${id}` }).locator('.avatar');
      const background = await avatar.evaluate((el) => getComputedStyle(el).backgroundColor);
      const hex = AVATAR_PALETTE[avatarColour(id)] as string;
      const rgb = [1, 3, 5].map((k) => Number.parseInt(hex.slice(k, k + 2), 16)).join(', ');
      assert.equal(background, `rgb(${rgb})`, id);
    }
    noProblems(problems);
    await context.close();
  });
});
