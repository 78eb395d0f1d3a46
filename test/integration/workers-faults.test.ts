import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ParleyClient } from '../../src/client/index.js';
import type { Message } from '../../src/protocol/frames.js';
import { liveSockets } from '../support/droppable-web-socket.js';
import { connectResilientClient } from '../support/resilient-client.js';
import { type ServeProcess, startServeProcess } from '../support/serve-process.js';
import { signTestToken } from '../support/sign-test-token.js';
import { until } from '../support/until.js';

/** The pids of a process's children (its cluster workers), from /proc. */
async function childPids(pid: number): Promise<number[]> {
  const raw = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
  return raw.trim().split(/\s+/).filter(Boolean).map(Number);
}

describe('parley serve --workers 2 on SQLite, with a worker killed', { timeout: 120_000 }, () => {
  let proc: ServeProcess;
  let dir: string;
  let secret: string;
  const clients: ParleyClient[] = [];
  const token = (id: string) => signTestToken(secret, id);
  const client = (id: string) => connectResilientClient(proc.url, () => token(id), clients);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-wfault-'));
    secret = randomBytes(32).toString('hex');
    proc = await startServeProcess(['--workers', '2', '--db', `sqlite:${join(dir, 'p.db')}`], {
      PARLEY_JWT_SECRET: secret,
      PARLEY_PUBLISH_PER_SECOND: '10000',
      PARLEY_PUBLISH_BURST: '10000',
    });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    if (proc.child.exitCode === null) {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('delivers every acked message to every client in the database’s order, once', async () => {
    const received = new Map<ParleyClient, Message[]>();
    for (let i = 0; i < 6; i++) {
      const c = await client(`l${i}`);
      const got: Message[] = [];
      received.set(c, got);
      c.on('message', (m) => {
        if (m.channel === 'general') got.push(m);
      });
      await c.subscribe('general', { history: 0 });
    }
    const senders = await Promise.all([0, 1].map((i) => client(`s${i}`)));
    const acked: string[] = [];
    const perSender = 60;
    await Promise.all(
      senders.map(async (s, i) => {
        for (let n = 0; n < perSender; n++) {
          if (i === 0 && n === 20) {
            // One worker dies without a goodbye; the primary starts another.
            const [victim] = await childPids(proc.child.pid!);
            process.kill(victim!, 'SIGKILL');
          } else if (i === 0 && n % 15 === 7) {
            for (const ws of [...liveSockets].filter((_, k) => k % 3 === n % 3)) ws.terminate();
          }
          acked.push((await s.publish('general', `s${i} #${n}`)).id);
        }
      }),
    );
    const reader = await client('reader');
    const stored: string[] = [];
    for (let after = 0; ; ) {
      const page = await reader.history('general', { after, limit: 100 });
      stored.push(...page.messages.map((m) => m.id));
      if (!page.has_more) break;
      after = page.messages.at(-1)!.seq;
    }
    for (const id of acked) assert.ok(stored.includes(id), `acked ${id} is stored`);
    await until(() => [...received.values()].every((g) => g.length >= stored.length), 'all messages', 60_000);
    for (const got of received.values()) {
      assert.deepEqual(
        got.map((m) => m.id),
        stored,
      );
    }
  });
});
