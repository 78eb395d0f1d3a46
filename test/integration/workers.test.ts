import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ServeProcess, startServeProcess } from '../support/serve-process.js';
import { signTestToken } from '../support/sign-test-token.js';
import { TestClient } from '../support/test-client.js';

describe('parley serve --workers 2 on SQLite', () => {
  let proc: ServeProcess;
  let dir: string;
  let secret: string;
  const clients: TestClient[] = [];
  const token = (id: string) => signTestToken(secret, id);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-workers-'));
    secret = randomBytes(32).toString('hex');
    proc = await startServeProcess(['--workers', '2', '--db', `sqlite:${join(dir, 'p.db')}`], {
      PARLEY_JWT_SECRET: secret,
      PARLEY_PUBLISH_PER_SECOND: '10000',
      PARLEY_PUBLISH_BURST: '10000',
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

  it('gives clients on different workers one gap-free order and shared presence', async () => {
    for (let i = 0; i < 6; i++) clients.push(await TestClient.authed(proc.url, await token(`w${i}`)));
    const sessions = new Set(clients.map((c) => c.frames[0]!.session_id));
    assert.equal(sessions.size, 6);
    for (const c of clients) await c.request({ type: 'subscribe', channel: 'general' });
    const senders = clients.slice(0, 3);
    const per = 40;
    await Promise.all(
      senders.map((s, i) =>
        Promise.all(
          Array.from({ length: per }, (_, n) =>
            s.request({ type: 'publish', channel: 'general', text: `${i}:${n}`, client_msg_id: `${i}-${n}` }),
          ),
        ),
      ),
    );
    const total = per * senders.length;
    const orders = await Promise.all(
      clients.map(async (c) =>
        (await c.collect((f) => f.type === 'message' && f.channel === 'general', total)).map(
          (f) => `${f.seq}/${f.id}`,
        ),
      ),
    );
    assert.deepEqual(
      orders[0]!.map((o) => Number(o.split('/')[0])),
      Array.from({ length: total }, (_, i) => i + 1),
    );
    for (const o of orders) assert.deepEqual(o, orders[0]);
    // Presence is one view across both workers.
    const list = await clients[5]!.request({ type: 'presence', channel: 'general' });
    assert.deepEqual(
      (list.users as { id: string }[]).map((u) => u.id),
      ['w0', 'w1', 'w2', 'w3', 'w4', 'w5'],
    );
  });

  it('drains every worker on SIGTERM and exits 0', async () => {
    const closes = clients.map((c) => c.closed);
    proc.child.kill('SIGTERM');
    assert.deepEqual(new Set(await Promise.all(closes)), new Set([4000]));
    assert.equal(await proc.exited, 0, proc.stderr());
  });
});
