import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { buildWeb } from '../../scripts/build-web.js';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it). Never a downloaded browser. */
export const CHROMIUM = process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Why the browser tests cannot run here, or false when they can. A browser named in
 * `PARLEY_CHROMIUM` (as .ci/run does) is never skipped: missing, the tests fail.
 */
export const browserSkip: string | false =
  existsSync(CHROMIUM) || process.env.PARLEY_CHROMIUM !== undefined
    ? false
    : `no Chromium at ${CHROMIUM} (install Debian's chromium package, or set PARLEY_CHROMIUM); .ci/run installs it`;

/** Starts headless Chromium the way this machine allows (no sandbox as root, no background traffic). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

let built: Promise<string> | undefined;

/** The chat page built from the current sources, once per test process. */
export function builtWeb(): Promise<string> {
  built ??= mkdtemp(join(tmpdir(), 'parley-web-')).then((dir) => buildWeb({ outdir: dir, minify: false }));
  return built;
}

/** What went wrong in a page: script errors and Content-Security-Policy violations. */
export interface PageProblems {
  readonly errors: string[];
}

/** Opens a page in `context` that records script errors and CSP violations. */
export async function openPage(context: BrowserContext): Promise<{ page: Page; problems: PageProblems }> {
  const page = await context.newPage();
  const problems: PageProblems = { errors: [] };
  page.on('pageerror', (err) => problems.errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) {
      problems.errors.push(`csp: ${msg.text()}`);
    }
  });
  return { page, problems };
}
