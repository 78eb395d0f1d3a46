import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { startServeProcess } from '../support/serve-process.js';
import { TestClient } from '../support/test-client.js';

describe('durability', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('loses no acked message when the server is killed with SIGKILL mid-stream', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-kill-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const secret = randomBytes(32).toString('hex');
    const env = {
      PARLEY_JWT_SECRET: secret,
      PARLEY_PUBLISH_PER_SECOND: '100000',
      PARLEY_PUBLISH_BURST: '100000',
      PARLEY_FRAMES_PER_SECOND: '100000',
      PARLEY_FRAMES_BURST: '100000',
    };
    const db = `sqlite:${join(dir, 'parley.db')}`;
    const token = await new SignJWT({ user_id: 7, username: 'writer' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));

    const first = await startServeProcess(['--db', db], env);
    cleanups.push(async () => {
      first.child.kill('SIGKILL');
    });
    const c = await TestClient.authed(first.url, token);
    const acks = new Map<string, number>();
    let killed = false;
    c.ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as { type: string; id: string; seq: number };
      if (f.type !== 'ack') return;
      acks.set(f.id, f.seq);
      if (acks.size === 300 && !killed) {
        killed = true;
        first.child.kill('SIGKILL');
      }
    });
    for (let i = 0; i < 1000; i++) {
      c.send({ type: 'publish', channel: 'general', text: `durable ${i}`, client_msg_id: `k${i}` });
    }
    assert.equal(await first.exited, 'SIGKILL');
    assert.ok(acks.size >= 300);

    const second = await startServeProcess(['--db', db], env);
    cleanups.push(async () => {
      second.child.kill('SIGTERM');
      await second.exited;
    });
    const reader = await TestClient.authed(second.url, token);
    const stored: { id: string; seq: number; text: string }[] = [];
    for (let after = 0; ; ) {
      const page = await reader.request({ type: 'history', channel: 'general', after, limit: 100 });
      const msgs = page.messages as { id: string; seq: number; text: string }[];
      stored.push(...msgs);
      if (!page.has_more) break;
      after = msgs.at(-1)!.seq;
    }
    const bySeq = new Map(stored.map((m) => [m.id, m.seq]));
    for (const [id, seq] of acks)
      assert.equal(bySeq.get(id), seq, `acked message ${id} (seq ${seq}) is stored`);
    assert.deepEqual(
      stored.map((m) => m.seq),
      Array.from({ length: stored.length }, (_, i) => i + 1),
      'seqs have no gaps',
    );
    // Messages were stored in the order they were sent.
    assert.deepEqual(
      stored.map((m) => m.text),
      Array.from({ length: stored.length }, (_, i) => `durable ${i}`),
    );
    reader.close();
    c.ws.terminate();
  });

  it('drains on SIGTERM: clients are closed with 4000 and the process exits 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-term-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const secret = randomBytes(32).toString('hex');
    const proc = await startServeProcess(['--db', `sqlite:${join(dir, 'p.db')}`], {
      PARLEY_JWT_SECRET: secret,
    });
    const token = await new SignJWT({ user_id: 'u', username: 'u' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    const c = await TestClient.authed(proc.url, token);
    proc.child.kill('SIGTERM');
    assert.equal(await c.closed, 4000);
    assert.equal(await proc.exited, 0);
  });
});
