import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ParleyError } from '../../protocol/error-catalogue.js';
import type { WebConfig } from '../config.js';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
};

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
  /** Names with a content hash (under `assets/`) never change: cache them for good. */
  readonly immutable: boolean;
}

/** The admin console's page in the build (#17). */
const ADMIN_PAGE = '/admin/index.html';
/** Paths that answer with the page itself: the full app and the embeddable one. */
const PAGE_PATHS = new Set(['/', '/index.html', '/embed']);
/** The built pages: the chat page, and the admin console (#17) at /admin/. */
const PAGES = new Set(['/index.html', ADMIN_PAGE]);
/** What else is served from the build: nothing else there (a stray file, a dotfile) ever is. */
const ASSET_PATH = /^\/(?:widget\.js|sw\.js|favicon\.svg|assets\/[A-Za-z0-9][\w.-]*)$/;

/**
 * The browser chat page (`npm run build` → dist/web), held in memory and served with a strict
 * Content-Security-Policy: scripts and styles from this origin only, no inline code, WebSocket
 * and fetch to this origin only, framing only by `frameAncestors`.
 */
export class WebPage {
  readonly #assets: ReadonlyMap<string, Asset>;
  readonly #csp: string;
  readonly #adminCsp: string;

  private constructor(assets: ReadonlyMap<string, Asset>, config: WebConfig) {
    this.#assets = assets;
    this.#csp = [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      "connect-src 'self'",
      "manifest-src 'self'",
      "base-uri 'none'",
      "form-action 'none'",
      `frame-ancestors ${config.frameAncestors.join(' ')}`,
    ].join('; ');
    this.#adminCsp = this.#csp.replace(/frame-ancestors [^;]*$/, "frame-ancestors 'none'");
  }

  /**
   * Loads the built page. Resolves with undefined when there is none (the page was not built:
   * `npm run build`), so the API still runs.
   */
  static async load(config: WebConfig): Promise<WebPage | undefined> {
    if (config.dir !== undefined && !existsSync(join(config.dir, 'index.html'))) {
      throw new ParleyError(
        'bad_request',
        `PARLEY_WEB_DIR: no index.html in ${config.dir} (npm run build makes one)`,
      );
    }
    const dir = config.dir ?? defaultDir();
    if (dir === undefined) return undefined;
    const assets = new Map<string, Asset>();
    for (const file of await listFiles(dir)) {
      const path = `/${relative(dir, file).split(sep).join('/')}`;
      const type = CONTENT_TYPES[extname(file)];
      if (type === undefined || (!PAGES.has(path) && !ASSET_PATH.test(path))) continue;
      const body = await readFile(file);
      assets.set(path, {
        body,
        type,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
        immutable: path.startsWith('/assets/'),
      });
    }
    return new WebPage(assets, config);
  }

  /** The CSP sent with the page. */
  get contentSecurityPolicy(): string {
    return this.#csp;
  }

  /** Serves `path` when it is part of the page; false when it is not (the caller answers 404). */
  serve(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    // The console's relative URLs (../assets/, ../api/) need the trailing slash.
    if (path === '/admin' && this.#assets.has(ADMIN_PAGE)) {
      res.writeHead(308, { Location: 'admin/' });
      res.end();
      return true;
    }
    const isAdmin = path === '/admin/' || path === ADMIN_PAGE;
    const isPage = isAdmin || PAGE_PATHS.has(path);
    const asset = this.#assets.get(isAdmin ? ADMIN_PAGE : isPage ? '/index.html' : path);
    if (asset === undefined) return false;
    res.setHeader('Content-Type', asset.type);
    res.setHeader('ETag', asset.etag);
    res.setHeader('Cache-Control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (isPage) {
      // The console is never framed, whatever may frame the chat page.
      res.setHeader('Content-Security-Policy', isAdmin ? this.#adminCsp : this.#csp);
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
    } else if (path === '/sw.js') {
      // The service worker's own policy: it loads and fetches nothing (docs/api.md § Web Push).
      res.setHeader('Content-Security-Policy', "default-src 'none'");
    } else if (path === '/widget.js') {
      // Host pages load it with a plain <script> from another origin.
      res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    }
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304);
      res.end();
      return true;
    }
    res.writeHead(200, { 'Content-Length': asset.body.length });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
    return true;
  }
}

/** dist/web next to the compiled server (dist/server/http), or from the sources (src/server/http). */
function defaultDir(): string | undefined {
  for (const candidate of ['../../web/', '../../../dist/web/']) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}
