import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setImmediate as nextTick } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { KyselyStore, type StoreTables } from '../../src/server/store/kysely-store.js';
import { openStore } from '../../src/server/store/open-store.js';
import { SqliteAppender } from '../../src/server/store/sqlite-appender.js';
import { SqliteWriteDialect } from '../../src/server/store/sqlite-write-dialect.js';
import type { AppendResult, NewMessage, Store } from '../../src/server/store/store.js';
import { EXIT_NOW } from '../support/exiting-append-worker.js';

const isError = (code: string, message?: RegExp) => (error: unknown) =>
  error instanceof Error &&
  error.name === 'ParleyError' &&
  (error as { code?: unknown }).code === code &&
  (message === undefined || message.test(error.message));

const msg = (channelId: string, text: string, clientMsgId: string | null = null): NewMessage => ({
  channelId,
  userId: 'alice',
  username: 'Alice',
  text,
  clientMsgId,
});

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The file descriptors of this process open on `path` (Linux; [] elsewhere). */
function openDescriptors(path: string): string[] {
  try {
    return readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(path);
      } catch {
        return false;
      }
    });
  } catch {
    return [];
  }
}

describe('SQLite appends in a worker thread', () => {
  let dir: string;
  let path: string;
  const stores: Store[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-append-worker-'));
    path = join(dir, 'parley.db');
    const setup = await openStore(`sqlite:${path}`);
    await setup.migrate();
    await setup.upsertUser({ id: 'alice', username: 'Alice' });
    for (const id of ['crash', 'retry', 'writes', 'inside'])
      await setup.createChannel({ id, kind: 'public', title: id, owner: 'alice' });
    await setup.close();
  });
  after(async () => {
    await Promise.allSettled(stores.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  /** A store on the test's file whose appender runs `workerUrl`. */
  async function storeWithWorker(workerUrl?: URL): Promise<Store> {
    const database = new Database(path, { timeout: 5_000 });
    const appender = new SqliteAppender({
      path,
      busyTimeoutMs: 5_000,
      synchronous: 'full',
      ...(workerUrl === undefined ? {} : { workerUrl }),
    });
    await appender.start();
    const store = new KyselyStore({
      db: new Kysely<StoreTables>({ dialect: new SqliteDialect({ database }) }),
      dialect: 'sqlite',
      appender,
      writeDb: new Kysely<StoreTables>({ dialect: new SqliteWriteDialect(appender) }),
    });
    stores.push(store);
    return store;
  }

  it('rejects the appends of the batch in flight with unavailable when the worker dies, then starts a new worker', async () => {
    const store = await storeWithWorker(new URL('../support/exiting-append-worker.ts', import.meta.url));
    const first = await store.append(msg('crash', 'before', 'c-1'));
    const doomed = await Promise.allSettled([
      store.append(msg('crash', 'in the dying batch', 'c-2')),
      store.append(msg('crash', EXIT_NOW, 'c-3')),
    ]);
    for (const outcome of doomed) {
      assert.ok(
        outcome.status === 'rejected' &&
          isError('unavailable', /append worker stopped during a commit \(exit code 1\)/)(outcome.reason),
        outcome.status === 'rejected' ? String(outcome.reason) : 'fulfilled',
      );
    }
    // Nothing of the dying batch was stored, so the retry is new and the seqs stay gap-free.
    const retried = await store.append(msg('crash', 'in the dying batch', 'c-2'));
    assert.deepEqual([first.message.seq, retried.message.seq, retried.duplicate], [1, 2, false]);
    assert.deepEqual(
      (await store.latest('crash', 10)).map((m) => m.text),
      ['before', 'in the dying batch'],
    );
    assert.equal(await store.ping(), true);
  });

  it('refuses to start, with unavailable, when the worker cannot open the database', async () => {
    const appender = new SqliteAppender({
      path: join(dir, 'missing', 'nothing.db'),
      busyTimeoutMs: 100,
      synchronous: 'full',
    });
    await assert.rejects(
      appender.start(),
      isError('unavailable', /could not start \(.*directory does not exist/),
    );
    assert.equal(await appender.ping(), false);
    await appender.close();
  });

  it('close() commits the batch in flight and the pending ones, then closes the worker and its connection', async () => {
    // A file of its own, so that no other test's connection is open on it.
    const own = join(dir, 'close.db');
    const store = await openStore(`sqlite:${own}`);
    await store.migrate();
    await store.createChannel({ id: 'close', kind: 'public', title: 'close', owner: null });
    const pending: Promise<AppendResult>[] = [];
    for (let burst = 0; burst < 5; burst++) {
      for (let i = 0; i < 200; i++) pending.push(store.append(msg('close', `m${burst}-${i}`)));
      await nextTick();
    }
    await store.close();
    assert.deepEqual(
      (await Promise.all(pending)).map((r) => r.message.seq),
      range(1, 1000),
    );
    assert.deepEqual(openDescriptors(own), []);
    assert.equal(await store.ping(), false);
    await assert.rejects(store.append(msg('close', 'late')), isError('unavailable'));
    const reader = await openStore(`sqlite:${own}`);
    stores.push(reader);
    assert.equal((await reader.getChannel('close'))?.lastSeq, 1000);
  });

  it('returns the stored message for a clientMsgId retried in later batches, never a second one', async () => {
    const store = await storeWithWorker();
    const firsts = await Promise.all(range(1, 50).map((i) => store.append(msg('retry', `r${i}`, `r-${i}`))));
    const again: Promise<AppendResult>[] = [];
    for (let burst = 0; burst < 3; burst++) {
      for (const i of range(1, 50)) again.push(store.append(msg('retry', `r${i} again`, `r-${i}`)));
      again.push(store.append(msg('retry', `new ${burst}`, `new-${burst}`)));
      await nextTick();
    }
    const results = await Promise.all(again);
    for (const [n, result] of results.entries()) {
      const i = n % 51;
      if (i === 50)
        assert.deepEqual([result.message.seq, result.duplicate], [51 + Math.floor(n / 51), false]);
      else assert.deepEqual(result, { message: firsts[i]?.message, duplicate: true });
    }
    assert.deepEqual(
      (await store.after('retry', 0, 100)).map((m) => m.seq),
      range(1, 53),
    );
  });

  it('keeps the event loop free while a write waits for the lock another process holds', async () => {
    const store = await storeWithWorker();
    // Another process's transaction, as a second node on the same file would hold one.
    const other = new Database(path, { timeout: 5_000 });
    other.exec('begin immediate');
    let longestGapMs = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGapMs = Math.max(longestGapMs, now - last);
      last = now;
    }, 5);
    const started = performance.now();
    // Released by a timer: it fires only if the event loop is free meanwhile.
    const release = setTimeout(() => other.exec('commit'), 400);
    try {
      const saved = await Promise.all([
        store.upsertUser({ id: 'waiter', username: 'Waiter' }),
        store.setReadPosition('writes', 'alice', 1),
      ]);
      assert.equal(saved[0].id, 'waiter');
      assert.ok(performance.now() - started >= 350, 'the write waited for the other transaction');
      assert.ok(longestGapMs < 150, `the event loop stood still for ${longestGapMs.toFixed(0)} ms`);
    } finally {
      clearInterval(ticker);
      clearTimeout(release);
      if (other.inTransaction) other.exec('rollback');
      other.close();
    }
  });

  it('rolls back a write transaction whose worker dies, and runs the next on a new worker', async () => {
    const store = await storeWithWorker(new URL('../support/exiting-append-worker.ts', import.meta.url));
    // Three upserts of one tick share a transaction; the worker dies at the second statement.
    // The third must not run on the next worker on its own (it would commit by itself there).
    const doomed = await Promise.allSettled([
      store.upsertUser({ id: 'bob', username: 'Bob' }),
      store.upsertUser({ id: 'eve', username: EXIT_NOW }),
      store.upsertUser({ id: 'carol', username: 'Carol' }),
    ]);
    for (const outcome of doomed) {
      assert.ok(
        outcome.status === 'rejected' && isError('unavailable')(outcome.reason),
        outcome.status === 'rejected' ? String(outcome.reason) : 'fulfilled',
      );
    }
    assert.equal(await store.getUser('bob'), undefined, 'nothing of the transaction was committed');
    assert.equal(await store.getUser('carol'), undefined, 'nor run after it on a new worker');
    assert.equal((await store.upsertUser({ id: 'bob', username: 'Bob' })).username, 'Bob');
    assert.ok(
      doomed.every((o) => o.status === 'rejected' && /stopped during a write/.test(String(o.reason))),
    );
    assert.equal((await store.getUser('bob'))?.username, 'Bob');
    assert.equal(await store.ping(), true);
  });

  it('refuses the rest of a transaction on the next worker once the one that began it has died', async () => {
    const appender = new SqliteAppender({
      path,
      busyTimeoutMs: 5_000,
      synchronous: 'full',
      workerUrl: new URL('../support/exiting-append-worker.ts', import.meta.url),
    });
    const db = new Kysely<StoreTables>({ dialect: new SqliteWriteDialect(appender) });
    try {
      await db.connection().execute(async (conn) => {
        await sql`begin immediate`.execute(conn);
        await sql`insert into users (id, username, created_at) values ('dave', 'Dave', 0)`.execute(conn);
        await assert.rejects(
          sql`select ${EXIT_NOW}`.execute(conn),
          isError('unavailable', /stopped during a write/),
        );
        // Without the transaction's worker, this would run, and commit, on its own.
        await assert.rejects(
          sql`insert into users (id, username, created_at) values ('frank', 'Frank', 0)`.execute(conn),
          isError('unavailable', /stopped during a transaction/),
        );
        await sql`rollback`.execute(conn).catch(() => undefined);
      });
      // Outside a transaction, the next statement starts a new worker.
      const { rows } = await sql<{
        n: number;
      }>`select count(*) as n from users where id in ('dave', 'frank')`.execute(db);
      assert.deepEqual(rows, [{ n: 0 }]);
    } finally {
      await appender.close();
    }
  });

  it('refuses an append batch that would run inside an open write transaction', async () => {
    const appender = new SqliteAppender({ path, busyTimeoutMs: 5_000, synchronous: 'full' });
    try {
      const { worker } = await appender.query('begin immediate', []);
      // better-sqlite3 would run it as a savepoint of that transaction, and a rollback would undo it.
      await assert.rejects(appender.commit([msg('inside', 'inside')]), /inside an open write transaction/);
      await appender.query('rollback', [], worker);
      const [stored] = await appender.commit([msg('inside', 'after')]);
      assert.ok(stored !== undefined && !(stored instanceof Error) && stored.message.text === 'after');
    } finally {
      await appender.close();
    }
  });

  it('runs writes on the worker (users, members, channels, edits) while batches commit, without failures', async () => {
    const store = await storeWithWorker();
    const appends: Promise<AppendResult>[] = [];
    const writes: Promise<unknown>[] = [];
    for (let burst = 0; burst < 10; burst++) {
      for (let i = 0; i < 100; i++) appends.push(store.append(msg('writes', `w${burst}-${i}`)));
      writes.push(
        store.upsertUser({ id: `user-${burst}`, username: `User ${burst}` }),
        store.setMember('writes', `user-${burst}`, 'member'),
        store.createChannel({ id: `side-${burst}`, kind: 'public', title: 'side', owner: null }),
      );
      if (burst > 0) {
        const earlier = await appends[0];
        writes.push(store.editMessage('writes', earlier?.message.id ?? '', `edited ${burst}`));
      }
      await nextTick();
    }
    await Promise.all(writes);
    assert.deepEqual(
      (await Promise.all(appends)).map((r) => r.message.seq),
      range(1, 1000),
    );
    assert.equal((await store.listMembers('writes')).length, 11);
  });

  it('commits appends to sqlite::memory: on the store thread', async () => {
    const store = await openStore('sqlite::memory:');
    stores.push(store);
    await store.migrate();
    await store.createChannel({ id: 'memory', kind: 'public', title: 'memory', owner: null });
    const results = await Promise.all(
      range(1, 20).map((i) => store.append(msg('memory', `m${i}`, `k${i % 10}`))),
    );
    assert.deepEqual(
      results.map((r) => [r.message.seq, r.duplicate]),
      range(1, 20).map((i) => (i <= 10 ? [i, false] : [i - 10, true])),
    );
    assert.equal(await store.ping(), true);
  });
});
