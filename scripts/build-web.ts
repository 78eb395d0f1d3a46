/**
 * Builds the browser chat page (web/) into dist/web: the app bundle and its stylesheet under
 * assets/ with content hashes, index.html pointing at them, and widget.js (the loader a host
 * site adds with one <script> tag) under a fixed name. Run by `npm run build`; tests call
 * buildWeb() with their own directory so they always test the current sources.
 */
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
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

  const app = await build({
    entryPoints: { app: join(WEB, 'src', 'main.tsx') },
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
  const outputs = Object.keys(app.metafile.outputs).map((file) => basename(file));
  const js = outputs.find((f) => f.startsWith('app-') && f.endsWith('.js'));
  const css = outputs.find((f) => f.startsWith('app-') && f.endsWith('.css'));
  if (js === undefined || css === undefined)
    throw new Error(`the app build made no bundle: ${outputs.join(', ')}`);

  await build({
    entryPoints: [join(WEB, 'src', 'widget.ts')],
    outfile: join(outdir, 'widget.js'),
    bundle: true,
    format: 'iife',
    target: TARGET,
    minify,
    logLevel: 'warning',
  });

  // The service worker under a fixed name at the top, so its scope can be the page's directory.
  await build({
    entryPoints: [join(WEB, 'src', 'sw.ts')],
    outfile: join(outdir, 'sw.js'),
    bundle: true,
    format: 'iife',
    target: TARGET,
    minify,
    logLevel: 'warning',
  });

  // Relative URLs, so the page also works behind a proxy under a path (/chat/).
  const html = (await readFile(join(WEB, 'index.html'), 'utf8'))
    .replace('<!-- parley:css -->', `<link rel="stylesheet" href="assets/${css}">`)
    .replace('<!-- parley:js -->', `<script type="module" src="assets/${js}"></script>`);
  await writeFile(join(outdir, 'index.html'), html);
  await copyFile(join(WEB, 'public', 'favicon.svg'), join(outdir, 'favicon.svg'));
  await buildAdmin(outdir, minify);
  return outdir;
}

/**
 * The admin console (#17), its own entry like the page's: admin-[hash].js and .css under
 * assets/, and admin/index.html pointing one level up at them (it is served at /admin/).
 */
async function buildAdmin(outdir: string, minify: boolean): Promise<void> {
  const admin = await build({
    entryPoints: { admin: join(WEB, 'admin', 'main.tsx') },
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
  const outputs = Object.keys(admin.metafile.outputs).map((file) => basename(file));
  const js = outputs.find((f) => f.startsWith('admin-') && f.endsWith('.js'));
  const css = outputs.find((f) => f.startsWith('admin-') && f.endsWith('.css'));
  if (js === undefined || css === undefined)
    throw new Error(`the admin build made no bundle: ${outputs.join(', ')}`);
  const html = (await readFile(join(WEB, 'admin', 'index.html'), 'utf8'))
    .replace('<!-- parley:css -->', `<link rel="stylesheet" href="../assets/${css}">`)
    .replace('<!-- parley:js -->', `<script type="module" src="../assets/${js}"></script>`);
  await mkdir(join(outdir, 'admin'), { recursive: true });
  await writeFile(join(outdir, 'admin', 'index.html'), html);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = await buildWeb();
  console.log(`chat page built in ${outdir}`);
}
