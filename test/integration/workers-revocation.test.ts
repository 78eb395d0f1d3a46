import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ServeProcess, startServeProcess } from '../support/serve-process.js';
import { TEST_API_KEY } from '../support/server-api.js';
import { signTestToken } from '../support/sign-test-token.js';
import { TestClient } from '../support/test-client.js';

// With --workers and no Redis, workers hear each other's membership changes and kicks over the
// primary's IPC relay: a removal or a ban made through one worker reaches the connections on
// every worker (the primary hands connections to the workers in turn, so four land on both).

describe('parley serve --workers 2: revocation on every worker', { timeout: 120_000 }, () => {
  let proc: ServeProcess;
  let dir: string;
  let secret: string;
  const clients: TestClient[] = [];

  const api = async (method: string, path: string, body: unknown = {}) => {
    const res = await fetch(`http://127.0.0.1:${proc.port}/api/server/${path}`, {
      method,
      headers: { 'X-Api-Key': TEST_API_KEY, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.text()}`);
  };
  const connections = async (user: string, count: number) => {
    const token = await signTestToken(secret, user);
    const opened = await Promise.all(Array.from({ length: count }, () => TestClient.authed(proc.url, token)));
    clients.push(...opened);
    return opened;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-workers-revocation-'));
    secret = randomBytes(32).toString('hex');
    proc = await startServeProcess(['--workers', '2', '--db', `sqlite:${join(dir, 'p.db')}`], {
      PARLEY_JWT_SECRET: secret,
      PARLEY_API_KEY: TEST_API_KEY,
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    if (proc.child.exitCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('ends a removed member’s subscriptions on every worker', async () => {
    for (const id of ['owner', 'mallory']) await api('PUT', `users/${id}`, { username: id });
    await api('POST', 'channels', { id: 'secret', private: true, owner: 'owner' });
    await api('PUT', 'channels/secret/members/mallory', {});
    const tabs = await connections('mallory', 4);
    for (const tab of tabs) {
      assert.equal((await tab.request({ type: 'subscribe', channel: 'secret' })).type, 'subscribed');
    }
    await api('DELETE', 'channels/secret/members/mallory');
    for (const tab of tabs) {
      const gone = await tab.next((f) => f.type === 'unsubscribed' && f.channel === 'secret');
      assert.equal(gone.reason, 'removed');
      assert.equal((await tab.request({ type: 'history', channel: 'secret' })).code, 'forbidden');
    }
  });

  it('closes a banned user’s connections on every worker', async () => {
    await api('PUT', 'users/dave', { username: 'dave' });
    const tabs = await connections('dave', 4);
    await api('POST', 'users/dave/ban', {});
    assert.deepEqual(await Promise.all(tabs.map((t) => t.closed)), [4503, 4503, 4503, 4503]);
  });
});
