import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { browserSkip, launchBrowser } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/start-server.js';

interface Seen {
  readonly extensions: string;
  readonly acks: string[];
  readonly texts: string[];
  readonly history: string[];
}

describe('WebSocket compression with a real browser (PARLEY_COMPRESSION=on)', { skip: browserSkip }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    server = await startTestServer({
      env: { PARLEY_COMPRESSION: 'on', PARLEY_COMPRESSION_MIN_BYTES: '256' },
    });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('Chromium negotiates it, reads compressed broadcasts and replies, and its compressed frames are read', async () => {
    const page = await browser.newPage();
    // A page of the server's own origin, so that the WebSocket's Origin is allowed.
    await page.goto(`${server.httpUrl}/healthz`);
    const texts = [1, 2, 3].map(
      (n) => `long message ${n}: ${'the same few words, again and again. '.repeat(80)}`,
    );
    // The script as text: the test's own code is compiled with helpers the page does not have.
    const script = `(async ({ url, token, texts }) => {
      const ws = new WebSocket(url);
      const frames = [];
      ws.onmessage = (e) => frames.push(JSON.parse(String(e.data)));
      await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
      const reply = (ref) => new Promise((resolve, reject) => {
        const deadline = Date.now() + 5000;
        const look = () => {
          const found = frames.find((f) => f.ref === ref);
          if (found !== undefined) resolve(found);
          else if (Date.now() > deadline) reject(new Error('no reply to ' + ref));
          else setTimeout(look, 10);
        };
        look();
      });
      ws.send(JSON.stringify({ type: 'auth', token, ref: 'auth' }));
      await reply('auth');
      ws.send(JSON.stringify({ type: 'subscribe', channel: 'general', history: 0, ref: 'sub' }));
      await reply('sub');
      const acks = [];
      for (const [i, text] of texts.entries()) {
        ws.send(JSON.stringify({ type: 'publish', channel: 'general', text, client_msg_id: 'c' + i, ref: 'p' + i }));
        acks.push(String((await reply('p' + i)).type));
      }
      ws.send(JSON.stringify({ type: 'history', channel: 'general', limit: 3, ref: 'h' }));
      const history = (await reply('h')).messages.map((m) => m.text);
      const received = frames.filter((f) => f.type === 'message').map((f) => String(f.text));
      const extensions = ws.extensions;
      ws.close();
      return { extensions, acks, texts: received, history };
    })(${JSON.stringify({ url: server.url, token: await server.token('browser', 'Browser'), texts })})`;
    const seen = (await page.evaluate(script)) as Seen;
    assert.equal(
      seen.extensions,
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
    );
    assert.deepEqual(seen.acks, ['ack', 'ack', 'ack']);
    assert.deepEqual(
      seen.texts,
      texts,
      'each broadcast, compressed once by the server, inflated by the browser',
    );
    assert.deepEqual(seen.history, texts, 'and a compressed history page');
  });
});
