/**
 * Builds the browser chat page (web/) into dist/web: the app bundle and its stylesheet under
 * assets/ with content hashes, index.html pointing at them, and widget.js (the loader a host
 * site adds with one <script> tag) under a fixed name. Run by `npm run build`; tests call
 * buildWeb() with their own directory so they always test the current sources.
 */
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WEB = join(ROOT, 'web');
// Browsers of the last few years; nothing here needs a polyfill.
const TARGET = ['es2022', 'chrome109', 'firefox115', 'safari16'];

/** Options of buildWeb. */
export interface BuildWebOptions {
  /** Where to write; default dist/web. Emptied first. */
  readonly outdir?: string;
  /** Minify (default true). */
  readonly minify?: boolean;
}

/** Builds the page; resolves with the output directory. */
export async function buildWeb(options: BuildWebOptions = {}): Promise<string> {
  const outdir = resolve(options.outdir ?? join(ROOT, 'dist', 'web'));
  const minify = options.minify ?? true;
  await rm(outdir, { recursive: true, force: true });
  await mkdir(join(outdir, 'assets'), { recursive: true });

  // Relative URLs, so the page also works behind a proxy under a path (/chat/).
  await buildPage('app', join(WEB, 'src', 'main.tsx'), join(WEB, 'index.html'), outdir, '', minify);
  await buildScript(join(WEB, 'src', 'widget.ts'), join(outdir, 'widget.js'), minify);
  // The service worker under a fixed name at the top, so its scope can be the page's directory.
  await buildScript(join(WEB, 'src', 'sw.ts'), join(outdir, 'sw.js'), minify);
  await copyFile(join(WEB, 'public', 'favicon.svg'), join(outdir, 'favicon.svg'));
  // The admin console (#17): its own entry, admin/index.html pointing one level up at assets/
  // (it is served at /admin/).
  await mkdir(join(outdir, 'admin'), { recursive: true });
  await buildPage(
    'admin',
    join(WEB, 'admin', 'main.tsx'),
    join(WEB, 'admin', 'index.html'),
    outdir,
    '../',
    minify,
  );
  return outdir;
}

/**
 * One preact entry as `assets/NAME-[hash].js|css`, and its HTML (the template's `parley:css` and
 * `parley:js` markers filled, the assets reached through `up`) at the template's place in `outdir`.
 */
async function buildPage(
  name: string,
  entry: string,
  template: string,
  outdir: string,
  up: string,
  minify: boolean,
): Promise<void> {
  const result = await build({
    entryPoints: { [name]: entry },
    outdir: join(outdir, 'assets'),
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    target: TARGET,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify,
    sourcemap: 'linked',
    metafile: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
  const js = outputs.find((f) => f.startsWith(`${name}-`) && f.endsWith('.js'));
  const css = outputs.find((f) => f.startsWith(`${name}-`) && f.endsWith('.css'));
  if (js === undefined || css === undefined)
    throw new Error(`the ${name} build made no bundle: ${outputs.join(', ')}`);
  const html = (await readFile(template, 'utf8'))
    .replace('<!-- parley:css -->', `<link rel="stylesheet" href="${up}assets/${css}">`)
    .replace('<!-- parley:js -->', `<script type="module" src="${up}assets/${js}"></script>`);
  await writeFile(join(outdir, relative(WEB, template)), html);
}

/** A classic script (the widget, the service worker): one IIFE file under a fixed name. */
async function buildScript(entry: string, outfile: string, minify: boolean): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'iife',
    target: TARGET,
    minify,
    logLevel: 'warning',
  });
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = await buildWeb();
  console.log(`chat page built in ${outdir}`);
}
