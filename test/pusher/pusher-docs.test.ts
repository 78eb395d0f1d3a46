import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadPusherConfig } from '../../src/server/config-pusher.js';
import { TEST_API_KEY } from '../support/server-api.js';
import { startTestServer, type TestServer } from '../support/start-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

// docs/pusher.md's snippets, run as the reader would paste them (against a test port).
async function snippets(): Promise<{ readonly tagged: Map<string, string>; readonly json: string }> {
  const doc = await readFile(join(ROOT, 'docs/pusher.md'), 'utf8');
  const tagged = new Map<string, string>();
  for (const m of doc.matchAll(/<!-- test: (\w+) -->\s*```\w*\n([\s\S]*?)```/g))
    tagged.set(m[1] as string, m[2] as string);
  const json = /```json\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(json !== undefined, 'the apps file example');
  return { tagged, json };
}

const node = (code: string) =>
  run(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, timeout: 20_000 });

describe('docs/pusher.md', () => {
  let srv: TestServer;
  let docs: Awaited<ReturnType<typeof snippets>>;
  before(async () => {
    docs = await snippets();
    const env = Object.fromEntries(
      [...(docs.tagged.get('env') ?? '').matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [
        m[1] as string,
        m[2] as string,
      ]),
    );
    assert.ok(Object.keys(env).length >= 3, 'the quick start sets the app');
    srv = await startTestServer({ env: { PARLEY_API_KEY: TEST_API_KEY, ...env } });
  });
  after(() => srv?.close());

  it('the quick start’s SDK snippet triggers an event and reads it back from Parley’s history', async () => {
    const code = (docs.tagged.get('node') ?? '').replace("port: '8080'", `port: '${srv.port}'`);
    const { stdout } = await node(code);
    const page = JSON.parse(stdout) as {
      messages: { seq: number; event: string; data: string }[];
      has_more: boolean;
    };
    assert.equal(page.messages[0]?.seq, 1);
    assert.equal(page.messages[0]?.event, 'order.shipped');
    assert.deepEqual(JSON.parse(page.messages[0]?.data ?? ''), { id: 7 });
    assert.equal(page.has_more, false);
  });

  it('the Echo setup, with the Vite variables filled in, connects and receives an event', async () => {
    const vite: Record<string, string> = {
      VITE_PUSHER_APP_KEY: JSON.stringify('my-key'),
      VITE_PUSHER_HOST: JSON.stringify('127.0.0.1'),
      VITE_PUSHER_PORT: String(srv.port),
      VITE_PUSHER_SCHEME: JSON.stringify('http'),
    };
    const setup = (docs.tagged.get('echo') ?? '').replace(/import\.meta\.env\.(\w+)/g, (_, name: string) => {
      const value = vite[name];
      assert.ok(value !== undefined, `no value for ${name}`);
      return value;
    });
    const code = `globalThis.window = globalThis;\n${setup}
const channel = window.Echo.channel('docs-echo');
await new Promise((resolve) => window.Pusher && window.Echo.connector.pusher.channel('docs-echo').bind('pusher:subscription_succeeded', resolve));
const got = new Promise((resolve) => channel.listen('.hello', resolve));
const { default: Sdk } = await import('pusher');
await new Sdk({ appId: 'my-app', key: 'my-key', secret: 'my-secret-0123456789abcdef', host: '127.0.0.1', port: '${srv.port}', useTLS: false }).trigger('docs-echo', 'hello', { ok: true });
console.log(JSON.stringify(await got));
window.Echo.disconnect();`;
    const { stdout } = await node(code);
    assert.deepEqual(JSON.parse(stdout), { ok: true });
  });

  it('the apps file example is a valid configuration', async () => {
    const file = join(tmpdir(), `parley-docs-apps-${process.pid}.json`);
    await writeFile(file, docs.json);
    const { apps } = loadPusherConfig({ PARLEY_PUSHER_APPS_FILE: file }, false);
    assert.equal(apps.length, 1);
    assert.equal(apps[0]?.channelPrefix, 'shop.');
    assert.equal(apps[0]?.maxPresenceMembers, 500);
    assert.equal(apps[0]?.clientEvents, true);
  });
});
