import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import sharp from 'sharp';
import { browserSkip, builtWeb, launchBrowser, openPage } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/start-server.js';

describe('attachments on the chat page in Chromium (issue 16)', { skip: browserSkip }, () => {
  let browser: Browser;
  let srv: TestServer;

  before(async () => {
    const dir = await builtWeb();
    browser = await launchBrowser();
    srv = await startTestServer({ env: { PARLEY_WEB_DIR: dir } });
  });
  after(async () => {
    await browser?.close();
    await srv?.close();
  });

  async function openAs(userId: string, name: string) {
    const context = await browser.newContext();
    const { page, problems } = await openPage(context);
    await page.goto(`${srv.httpUrl}/?channel=general#token=${await srv.token(userId, name)}`);
    await page.getByRole('textbox', { name: 'Message #general' }).waitFor();
    return { context, page, problems };
  }

  it('sends an image by the attach button: both users see its preview, and the lightbox opens it', async () => {
    const alice = await openAs('u-alice', 'alice');
    const bob = await openAs('u-bob', 'bob');
    const png = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#2a6' } })
      .png()
      .toBuffer();
    const [chooser] = await Promise.all([
      alice.page.waitForEvent('filechooser'),
      alice.page.getByRole('button', { name: 'Attach files' }).click(),
    ]);
    await chooser.setFiles({ name: 'meadow.png', mimeType: 'image/png', buffer: png });
    await alice.page.locator('.uploads .ready').waitFor();
    await alice.page.getByRole('textbox', { name: 'Message #general' }).fill('look at this');
    await alice.page.getByRole('button', { name: 'Send' }).click();
    for (const { page } of [alice, bob]) {
      const preview = page.locator('.messages li.message:not(.pending) .attachment-image img');
      await preview.waitFor();
      // Loaded, with the thumbnail's real size (not a broken image).
      await page.waitForFunction(() => {
        const img = document.querySelector<HTMLImageElement>('.attachment-image img');
        return img !== null && img.complete && img.naturalWidth === 320;
      });
    }
    await bob.page.getByRole('button', { name: 'Open meadow.png' }).click();
    await bob.page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('.lightbox img');
      return img !== null && img.complete && img.naturalWidth === 640;
    });
    await bob.page.keyboard.press('Escape');
    assert.deepEqual(alice.problems.errors, [], 'no script errors and no CSP violations');
    assert.deepEqual(bob.problems.errors, [], 'no script errors and no CSP violations');
    await alice.context.close();
    await bob.context.close();
  });

  it('shows any other file as a card with its name and size, dropped or attached', async () => {
    const alice = await openAs('u-alice', 'alice');
    const [chooser] = await Promise.all([
      alice.page.waitForEvent('filechooser'),
      alice.page.getByRole('button', { name: 'Attach files' }).click(),
    ]);
    await chooser.setFiles({
      name: 'minutes.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('a'.repeat(2500)),
    });
    await alice.page.locator('.uploads .ready').waitFor();
    await alice.page.getByRole('button', { name: 'Send' }).click();
    const card = alice.page.locator('.messages li.message:not(.pending) .file-card');
    await card.waitFor();
    assert.equal(await card.locator('.file-name').textContent(), 'minutes.txt');
    assert.equal(await card.locator('.file-size').textContent(), '2.5 KB');
    const href = await card.getAttribute('href');
    assert.match(href ?? '', /\/api\/attachments\/[0-9a-f-]{36}\?ticket=/);
    const res = await fetch(href ?? '');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment;/);
    assert.deepEqual(alice.problems.errors, []);
    await alice.context.close();
  });
});
