import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import { TEST_API_KEY } from '../support/server-api.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';

// Every code block of README.md and docs/api.md, run as a reader would paste it (against a test
// port instead of 8080). Each block is named by a `<!-- snippet: NAME -->` line above it; a block
// that cannot run here says so there, `<!-- snippet: NAME, skip: why -->`, and nothing is left
// out by accident: an unnamed block, or a named one with no runner below, fails the first test.
// PHP is not on the machine: its blocks are checked for the lines a paste needs, and a token made
// the way the PHP example makes it must be accepted.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCS = ['README.md', 'docs/api.md'] as const;
const run = promisify(execFile);

/** One fenced code block of a doc. */
interface Snippet {
  readonly file: string;
  readonly line: number;
  readonly name: string | undefined;
  readonly skip: string | undefined;
  readonly lang: string;
  readonly code: string;
}

function snippetsOf(file: string): Snippet[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const found: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i] as string);
    if (open === null) continue;
    const end = lines.findIndex((l, k) => k > i && l.startsWith('```'));
    assert.ok(end > i, `${file}:${i + 1}: a block that never ends`);
    let k = i - 1;
    while (k >= 0 && (lines[k] as string).trim() === '') k--;
    const marker = /^<!-- snippet: ([\w-]+)(?:, skip: (.+?))? -->$/.exec((lines[k] ?? '').trim());
    found.push({
      file,
      line: i + 1,
      name: marker?.[1],
      skip: marker?.[2],
      lang: open[1] ?? '',
      code: `${lines.slice(i + 1, end).join('\n')}\n`,
    });
    i = end;
  }
  return found;
}

const ALL = DOCS.flatMap(snippetsOf);

function snippet(name: string): Snippet {
  const s = ALL.find((x) => x.name === name);
  assert.ok(s !== undefined, `no snippet ${name}`);
  return s;
}

/** What is wrong with a PHP block as pasted into a project with php-jwt installed. */
function phpProblems(code: string): string[] {
  const problems: string[] = [];
  const at = (needle: string) => code.indexOf(needle);
  if (!code.startsWith('<?php')) problems.push('does not start with <?php');
  const usesJwt = at('JWT::');
  if (usesJwt >= 0) {
    const require = at("require __DIR__ . '/vendor/autoload.php';");
    if (require < 0 || require > usesJwt) problems.push("no require of Composer's autoload before JWT::");
    const use = at('use Firebase\\JWT\\JWT;');
    if (use < 0 || use > usesJwt) problems.push('no `use Firebase\\JWT\\JWT;` before JWT::');
  }
  const key = code.search(/\$key\b/);
  if (key >= 0 && key !== at("$key = getenv('PARLEY_JWT_SECRET')"))
    problems.push("$key used before `$key = getenv('PARLEY_JWT_SECRET')`");
  if (code.includes('example_key')) problems.push("the tutorial's example_key (php-jwt refuses it)");
  return problems;
}

/** Runs a block of shell against the test server; resolves with its output. */
function shell(code: string, env: Record<string, string>, until?: (out: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    // Detached: its own process group, so what it leaves running in the background ends with it.
    const child = spawn('bash', ['-c', code], { cwd: ROOT, env: { ...process.env, ...env }, detached: true });
    let out = '';
    let err = '';
    const timer = setTimeout(() => finish(new Error(`timed out; output so far:\n${out}\n${err}`)), 45_000);
    const finish = (e?: Error) => {
      clearTimeout(timer);
      try {
        process.kill(-(child.pid as number), 'SIGTERM');
      } catch {}
      if (e === undefined) resolve(out);
      else reject(e);
    };
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (until?.(out) === true) finish();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('exit', (code) => {
      if (until !== undefined) return; // what it started in the background may still print
      if (code === 0) finish();
      else finish(new Error(`exit ${code}:\n${out}\n${err}`));
    });
  });
}

const node = async (code: string) =>
  (await run(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, timeout: 45_000 })).stdout;

// The snippets that run, by name; the skipped ones say why in the docs.
const RUNNERS = new Set([
  'quick-start',
  'cli',
  'php-token',
  'browser-ws',
  'php-widget-page',
  'php-token-endpoint',
  'sdk',
  'accounts',
  'channels',
  'messages',
  'server-api',
  'webhooks',
  'php-api',
]);

describe('the snippets of README.md and docs/api.md, as pasted', () => {
  let srv: TestServer;
  let local: (code: string) => string;

  before(async () => {
    srv = await startTestServer({
      env: {
        PARLEY_API_KEY: TEST_API_KEY,
        // Webhooks on (their API answers 404 otherwise), to a port nothing listens on.
        PARLEY_WEBHOOK_URLS: 'http://127.0.0.1:9/parley',
        PARLEY_WEBHOOK_SECRET: 'w'.repeat(40),
      },
    });
    local = (code) => code.replaceAll('localhost:8080', `127.0.0.1:${srv.port}`);
  });
  after(() => srv?.close());

  it('names every block, gives each skipped one a reason, and has a runner for every other', () => {
    assert.ok(ALL.length >= 18, `${ALL.length} blocks found`);
    const unnamed = ALL.filter((s) => s.name === undefined).map((s) => `${s.file}:${s.line}`);
    assert.deepEqual(unnamed, [], 'blocks without a <!-- snippet: NAME --> line');
    const names = ALL.map((s) => s.name as string);
    assert.equal(new Set(names).size, names.length, 'names are unique');
    const unrun = ALL.filter((s) => s.skip === undefined && !RUNNERS.has(s.name as string)).map(
      (s) => s.name,
    );
    assert.deepEqual(unrun, [], 'named blocks nothing runs');
    for (const name of RUNNERS) assert.equal(snippet(name).skip, undefined, `${name} is run, not skipped`);
  });

  it('quick-start: exports a PARLEY_JWT_SECRET of at least 32 bytes before npm start', async () => {
    const code = snippet('quick-start').code;
    const exportLine = code.split('\n').find((l) => l.startsWith('export PARLEY_JWT_SECRET='));
    assert.ok(exportLine !== undefined, 'the export line');
    assert.ok(code.indexOf(exportLine) < code.indexOf('npm start'), 'before npm start');
    const secret = (await shell(`${exportLine}\nprintf %s "$PARLEY_JWT_SECRET"`, {})).trim();
    assert.ok(Buffer.byteLength(secret) >= 32, `${Buffer.byteLength(secret)} bytes`);
  });

  it('cli: signs a token, listens and sends; the listener prints the message', async () => {
    const out = await shell(local(snippet('cli').code), { PARLEY_JWT_SECRET: srv.secret }, (o) =>
      o.split('\n').some((l) => l.includes('"text":"hello, world"') && l.includes('"user_id":"42"')),
    );
    assert.match(out, /"duplicate":false/, 'the ack of send');
  });

  it('php-token: has the lines a paste needs, and a token made the same way is accepted', async () => {
    const code = snippet('php-token').code;
    assert.deepEqual(phpProblems(code), []);
    const payload = /\$payload = \[(.*)\];/.exec(code)?.[1];
    assert.ok(payload !== undefined, 'the claims');
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {};
    for (const m of payload.matchAll(/'(\w+)' => ('[^']*'|\d+|time\(\))/g)) {
      const v = m[2] as string;
      claims[m[1] as string] = v === 'time()' ? now : v.startsWith("'") ? v.slice(1, -1) : Number(v);
    }
    assert.deepEqual(Object.keys(claims).sort(), ['aud', 'iat', 'iss', 'nbf', 'user_id', 'username']);
    assert.match(code, /JWT::encode\(\$payload, \$key, 'HS256'\)/);
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(new TextEncoder().encode(srv.secret));
    const client = await TestClient.authed(srv.url, token);
    client.close();
    // php-jwt's key rule: HS256 keys of 32 bytes or more, as Parley's own.
    assert.ok(Buffer.byteLength(srv.secret) >= 32);
  });

  for (const name of ['php-widget-page', 'php-token-endpoint', 'php-api']) {
    it(`${name}: has the require, use and $key lines a paste needs`, () => {
      assert.deepEqual(phpProblems(snippet(name).code), []);
    });
  }

  it('php-api: posts to a channel that exists on a fresh server', () => {
    const channel = /'channel' => '([\w-]+)'/.exec(snippet('php-api').code)?.[1];
    assert.equal(channel, 'general');
  });

  it('browser-ws: authenticates, subscribes, publishes and shows the message (ws and a stand-in DOM)', async () => {
    const token = await srv.token('docs-ws', 'wanda');
    const code = snippet('browser-ws').code.replace('wss://chat.example.com/ws', srv.url);
    const out = await node(`import WebSocket from 'ws';
const shown = [];
const document = {
  createElement: () => ({ textContent: '' }),
  querySelector: () => ({ append: (li) => {
    shown.push(li.textContent);
    if (li.textContent === 'wanda: hello from the docs') { console.log(JSON.stringify(shown)); process.exit(0); }
  } }),
};
const jwtFromYourPage = ${JSON.stringify(token)};
${code}
const started = Date.now();
const wait = setInterval(() => {
  if (epoch !== undefined) { clearInterval(wait); publish('hello from the docs'); }
  else if (Date.now() - started > 10000) process.exit(3);
}, 20);
setTimeout(() => process.exit(2), 15000).unref();`);
    assert.ok(JSON.parse(out).includes('wanda: hello from the docs'));
  });

  it('sdk: connects, subscribes, publishes and pages back (with a fetchToken of the reader)', async () => {
    const token = await srv.token('docs-sdk', 'sid');
    const out = await node(`const fetchToken = async () => ${JSON.stringify(token)};
${local(snippet('sdk').code)}
console.log(JSON.stringify({ seq: ack.seq, duplicate: ack.duplicate, older: Array.isArray(older.messages) }));
await client.close();`);
    // The snippet logs each message first; the last line is the check's.
    const result = JSON.parse(out.trim().split('\n').at(-1) as string) as {
      seq: number;
      duplicate: boolean;
      older: boolean;
    };
    assert.ok(result.seq >= 1);
    assert.deepEqual({ duplicate: result.duplicate, older: result.older }, { duplicate: false, older: true });
  });

  it('docs/api.md: the curl blocks run in order, each request answered 2xx', async () => {
    // curl as pasted, but failing on an HTTP error (the blocks use -s, which hides it).
    const strict = 'set -eo pipefail\ncurl() { command curl --fail-with-body "$@"; }\n';
    const blocks = ['accounts', 'channels', 'messages', 'server-api', 'webhooks'].map(
      (name) => `echo "== ${name}"\n${local(snippet(name).code)}`,
    );
    const out = await shell(strict + blocks.join('\n'), { PARLEY_API_KEY: TEST_API_KEY });
    assert.match(out, /"reply_to":"[0-9a-f-]{36}"/, 'the reply names the message it answers');
    assert.match(out, /"topic":"Release planning"/);
    assert.match(out, /"banned":true/);
    assert.match(out, /"deliveries":\[/);
    assert.match(out, /"replayed":\d+/);
  });
});
