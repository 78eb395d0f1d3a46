import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/server/config.js';
import { builtWeb } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/start-server.js';

describe('the chat page over HTTP', () => {
  let srv: TestServer;
  let dir: string;

  before(async () => {
    dir = await builtWeb();
    srv = await startTestServer({ env: { PARLEY_WEB_DIR: dir } });
  });
  after(() => srv?.close());

  it('serves the page at / and /embed with a strict Content-Security-Policy and no inline script', async () => {
    for (const path of ['/', '/embed']) {
      const res = await fetch(`${srv.httpUrl}${path}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.match(csp, /style-src 'self'(;|$)/);
      assert.match(csp, /connect-src 'self'(;|$)/);
      assert.match(csp, /frame-ancestors 'self'(;|$)/);
      assert.doesNotMatch(csp, /unsafe/);
      const html = await res.text();
      const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)];
      assert.ok(scripts.length > 0);
      for (const [tag, body] of scripts) {
        assert.match(tag, /\bsrc="assets\/app-[A-Z0-9]+\.js"/, 'scripts come from files');
        assert.equal(body, '', 'no inline script');
      }
      assert.doesNotMatch(html, /\son[a-z]+=|style="/i, 'no inline handlers or styles');
    }
  });

  it('serves the bundles for good (hashed names), answers 304 to a known ETag, and 404 to the unknown', async () => {
    const html = await (await fetch(`${srv.httpUrl}/`)).text();
    const js = /src="(assets\/app-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    const css = /href="(assets\/app-[A-Z0-9]+\.css)"/.exec(html)?.[1];
    assert.ok(js !== undefined && css !== undefined);
    const res = await fetch(`${srv.httpUrl}/${js}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const etag = res.headers.get('etag');
    assert.ok(etag !== null);
    await res.arrayBuffer();
    const again = await fetch(`${srv.httpUrl}/${js}`, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    assert.equal(
      (await fetch(`${srv.httpUrl}/${css}`)).headers.get('content-type'),
      'text/css; charset=utf-8',
    );
    const head = await fetch(`${srv.httpUrl}/`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    const missing = await fetch(`${srv.httpUrl}/assets/app-NOPE.js`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
  });

  it('serves widget.js for other sites to load', async () => {
    const res = await fetch(`${srv.httpUrl}/widget.js`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(res.headers.get('cross-origin-resource-policy'), 'cross-origin');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.match(await res.text(), /parley:token-request/);
  });

  it('lets the operator name the sites that may frame the page, and refuses a malformed list', async () => {
    const framed = await startTestServer({
      env: {
        PARLEY_WEB_DIR: dir,
        PARLEY_FRAME_ANCESTORS: "'self' https://www.example.com, https://*.example.org:8443",
      },
    });
    try {
      const csp = (await fetch(`${framed.httpUrl}/embed`)).headers.get('content-security-policy') ?? '';
      assert.match(
        csp,
        /frame-ancestors 'self' https:\/\/www\.example\.com https:\/\/\*\.example\.org:8443$/,
      );
    } finally {
      await framed.close();
    }
    for (const bad of [
      'https://x.com; script-src *',
      'javascript:alert(1)',
      "'none' https://x.com",
      'www.example.com',
      'https:',
    ]) {
      assert.throws(
        () => loadConfig({ PARLEY_JWT_SECRET: 'x'.repeat(40), PARLEY_FRAME_ANCESTORS: bad }, {}),
        /PARLEY_FRAME_ANCESTORS/,
        bad,
      );
    }
  });

  it('answers / with a short text when the page is off', async () => {
    const off = await startTestServer({ env: { PARLEY_WEB_DIR: dir, PARLEY_WEB: 'off' } });
    try {
      const res = await fetch(`${off.httpUrl}/`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      assert.match(await res.text(), /Parley is running/);
      assert.equal((await fetch(`${off.httpUrl}/widget.js`)).status, 404);
    } finally {
      await off.close();
    }
  });

  it('serves only the page, its bundles, widget.js and the icon from the build, and refuses a build without a page', async () => {
    const dir2 = await mkdtemp(join(tmpdir(), 'parley-webdir-'));
    await mkdir(join(dir2, 'api'), { recursive: true });
    await mkdir(join(dir2, 'assets'), { recursive: true });
    await writeFile(join(dir2, 'index.html'), '<!doctype html><title>custom</title>');
    await writeFile(join(dir2, '.env'), 'SECRET=1');
    await writeFile(join(dir2, 'parley.db'), 'data');
    await writeFile(join(dir2, 'notes.txt'), 'private notes');
    await writeFile(join(dir2, 'api', 'me'), '{"user":"forged"}');
    await writeFile(join(dir2, 'assets', 'app-X.js'), 'console.log(1)');
    const custom = await startTestServer({ env: { PARLEY_WEB_DIR: dir2 } });
    try {
      assert.match(await (await fetch(`${custom.httpUrl}/`)).text(), /custom/);
      assert.equal((await fetch(`${custom.httpUrl}/assets/app-X.js`)).status, 200);
      for (const path of ['/.env', '/parley.db', '/notes.txt', '/api/me', '/assets/../.env']) {
        const res = await fetch(`${custom.httpUrl}${path}`);
        assert.ok(res.status === 404 || res.status === 401, `${path}: ${res.status}`);
        assert.doesNotMatch(await res.text(), /SECRET|data|private|forged/, path);
      }
    } finally {
      await custom.close();
      await rm(dir2, { recursive: true, force: true });
    }
    const empty = await mkdtemp(join(tmpdir(), 'parley-webdir-'));
    await assert.rejects(
      startTestServer({ env: { PARLEY_WEB_DIR: empty } }),
      /PARLEY_WEB_DIR: no index\.html/,
    );
    await rm(empty, { recursive: true, force: true });
  });
});
