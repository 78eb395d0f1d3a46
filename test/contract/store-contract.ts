import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setImmediate as nextTick } from 'node:timers/promises';
import type { Message } from '../../src/protocol/frames.js';
import { type OpenStoreOptions, openStore } from '../../src/server/store/open-store.js';
import type { AppendResult, NewMessage, Store } from '../../src/server/store/store.js';
import type { FreshDatabase } from '../support/fresh-database.js';
import { spawnStoreWorker, type WorkerReport } from '../support/store-worker.js';

/** A Store under test on a database of its own. */
export interface StoreHarness {
  /** A store on a fresh database whose schema is not migrated yet. */
  readonly store: Store;
  /** The database's URL, for stores in other processes. */
  readonly url: string;
  /** Opens another, independent Store on the same database (as another process would). */
  reopen(): Promise<Store>;
  /** Closes every store opened through the harness, then drops the database. */
  cleanup(): Promise<void>;
}

/** Opens a `StoreHarness` on a fresh database (see `test/support/fresh-database.ts`). */
export async function openHarness(
  database: FreshDatabase,
  options?: OpenStoreOptions,
): Promise<StoreHarness> {
  const stores: Store[] = [];
  const open = async () => {
    const store = await openStore(database.url, options);
    stores.push(store);
    return store;
  };
  let store: Store;
  try {
    store = await open();
  } catch (error) {
    await database.drop();
    throw error;
  }
  return {
    store,
    url: database.url,
    reopen: open,
    cleanup: async () => {
      await Promise.allSettled(stores.map((s) => s.close()));
      await database.drop();
    },
  };
}

const isError = (code: string) => (error: unknown) =>
  error instanceof Error && error.name === 'ParleyError' && (error as { code?: unknown }).code === code;

/** A short random suffix, so every test works on channels and users of its own. */
const unique = () => randomBytes(4).toString('hex');

function msg(
  channelId: string,
  text: string,
  clientMsgId: string | null = null,
  userId = 'alice',
): NewMessage {
  return { channelId, userId, username: userId === 'alice' ? 'Alice' : userId, text, clientMsgId };
}

/** seq values grouped by channel, in the order given. */
function seqsByChannel(results: readonly AppendResult[]): Map<string, number[]> {
  const map = new Map<string, number[]>();
  for (const { message } of results) {
    const list = map.get(message.channel) ?? [];
    list.push(message.seq);
    map.set(message.channel, list);
  }
  return map;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * The contract every `Store` implementation passes (the doc comments of `store.ts` are the
 * spec). `make` opens a store on a fresh, unmigrated database; the suite migrates it and keeps
 * it for all tests, each test working on channels of its own.
 */
export function storeContract(name: string, make: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${name}`, () => {
    let h: StoreHarness;
    let store: Store;

    before(async () => {
      h = await make();
      store = h.store;
      await store.migrate();
      await store.upsertUser({ id: 'alice', username: 'Alice' });
      await store.upsertUser({ id: 'bob', username: 'Bob' });
    });
    after(async () => {
      await h?.cleanup();
    });

    /** A new public channel owned by alice. */
    async function channel(kind: 'public' | 'private' | 'dm' = 'public'): Promise<string> {
      const id = `ch-${unique()}`;
      await store.createChannel({ id, kind, title: id, owner: 'alice' });
      return id;
    }

    describe('migrate', () => {
      it('is a no-op on a current schema, from this store or another', async () => {
        const id = await channel();
        await store.append(msg(id, 'kept'));
        await store.migrate();
        const other = await h.reopen();
        await other.migrate();
        assert.deepEqual(
          (await other.latest(id, 10)).map((m) => m.text),
          ['kept'],
        );
        await other.close();
      });

      it('runs from several processes at once on a fresh database, which then append to one channel without gaps or duplicates', {
        timeout: 120_000,
      }, async (t) => {
        const fresh = await make();
        t.after(() => fresh.cleanup());
        const channelId = `procs-${unique()}`;
        const bursts = 8;
        const burstSize = 25;
        const workers = ['w1', 'w2', 'w3'].map((worker) =>
          spawnStoreWorker({ url: fresh.url, channelId, worker, bursts, burstSize }),
        );
        t.after(() => Promise.all(workers.map((w) => w.stop())));
        const signal = AbortSignal.timeout(100_000);
        // Barriers: all processes migrate together, then all append together.
        await Promise.all(workers.map((w) => w.expect('loaded', signal)));
        for (const w of workers) w.send('migrate');
        await Promise.all(workers.map((w) => w.expect('ready', signal)));
        for (const w of workers) w.send('go');
        const reports = await Promise.all(
          workers.map(async (w) => JSON.parse(await w.expect('done', signal)) as WorkerReport),
        );

        await fresh.store.migrate();
        const stored = await fresh.store.after(channelId, 0, 10_000);
        const total = workers.length * bursts * burstSize + bursts;
        assert.deepEqual(
          stored.map((m) => m.seq),
          range(1, total),
        );
        assert.equal(new Set(stored.map((m) => m.id)).size, total);
        const byId = new Map(stored.map((m) => [m.id, m]));
        for (const report of reports) {
          // A duplicate carries the seq another process stored it under; the rest resolve in commit order.
          const seqs = report.appends.filter((a) => !a.duplicate).map((a) => a.seq);
          assert.deepEqual(
            seqs,
            [...seqs].sort((a, b) => a - b),
            'a worker saw its commits in seq order',
          );
          for (const a of report.appends) {
            assert.equal(byId.get(a.id)?.seq, a.seq);
            assert.equal(byId.get(a.id)?.client_msg_id, a.clientMsgId);
          }
        }
        for (let burst = 0; burst < bursts; burst++) {
          const sent = reports.flatMap((r) => r.appends.filter((a) => a.clientMsgId === `shared-${burst}`));
          assert.equal(sent.length, workers.length);
          assert.equal(new Set(sent.map((a) => a.id)).size, 1, 'every process got the one stored message');
          assert.equal(sent.filter((a) => !a.duplicate).length, 1, 'exactly one process stored it');
        }
      });
    });

    describe('users', () => {
      it('upsertUser inserts a user that getUser returns', async () => {
        const id = `u-${unique()}`;
        const before = Date.now();
        const user = await store.upsertUser({ id, username: 'Zoë 🦊' });
        assert.equal(user.id, id);
        assert.equal(user.username, 'Zoë 🦊');
        assert.ok(user.createdAt >= before && user.createdAt <= Date.now());
        assert.deepEqual(await store.getUser(id), user);
      });

      it('upsertUser renames an existing user and keeps createdAt', async () => {
        const id = `u-${unique()}`;
        const first = await store.upsertUser({ id, username: 'old' });
        const second = await store.upsertUser({ id, username: 'new' });
        assert.deepEqual(second, { id, username: 'new', createdAt: first.createdAt });
        assert.deepEqual(await store.getUser(id), second);
      });

      it('getUser returns undefined for an unknown id', async () => {
        assert.equal(await store.getUser(`nobody-${unique()}`), undefined);
      });

      it('findUsers finds users by the start of their name, case-insensitively, ordered and bounded', async () => {
        const tag = unique()
          .replace(/[^a-z0-9]/gi, '')
          .slice(-6)
          .toLowerCase();
        const ids = ['a', 'b', 'c', 'd', 'e'].map((x) => `fu-${tag}-${x}`);
        await store.upsertUser({ id: ids[0] as string, username: `Q${tag}zed` });
        await store.upsertUser({ id: ids[1] as string, username: `q${tag}alpha` });
        await store.upsertUser({ id: ids[2] as string, username: `Q${tag}Beta` });
        await store.upsertUser({ id: ids[3] as string, username: `x q${tag}` });
        await store.upsertUser({ id: ids[4] as string, username: `q${tag}banned` });
        await store.setUserStatus(ids[4] as string, { banned: true });
        const names = async (prefix: string, limit = 10) =>
          (await store.findUsers(prefix, limit)).map((u) => u.username);
        assert.deepEqual(await names(`q${tag}`), [`q${tag}alpha`, `Q${tag}Beta`, `Q${tag}zed`]);
        assert.deepEqual(await names(`Q${tag}B`), [`Q${tag}Beta`], 'the prefix is folded too');
        assert.deepEqual(await names(`q${tag}`, 2), [`q${tag}alpha`, `Q${tag}Beta`], 'at most limit');
        assert.deepEqual(await names(`${tag}`), [], 'the start of the name only');
        assert.deepEqual(await names(`q${tag}%`), [], 'no wildcards');
        assert.deepEqual(await names(`q${tag}_lpha`), [], 'no wildcards');
        assert.deepEqual(await names(''), [], 'an empty prefix finds no one');
        const [first] = await store.findUsers(`q${tag}a`, 1);
        assert.deepEqual(first, await store.getUser(ids[1] as string));
      });
    });

    describe('channels', () => {
      it('createChannel stores lastSeq 0, a fresh epoch and makes the owner its owner', async () => {
        const id = `ch-${unique()}`;
        const before = Date.now();
        const created = await store.createChannel({ id, kind: 'private', title: 'Plans 📅', owner: 'alice' });
        assert.equal(created.id, id);
        assert.equal(created.kind, 'private');
        assert.equal(created.title, 'Plans 📅');
        assert.equal(created.lastSeq, 0);
        assert.equal(created.createdBy, 'alice');
        assert.ok(created.createdAt >= before && created.createdAt <= Date.now());
        assert.ok(created.epoch.length > 0);
        assert.deepEqual(await store.getChannel(id), created);
        assert.equal(await store.getRole(id, 'alice'), 'owner');

        const other = await store.createChannel({
          id: `ch-${unique()}`,
          kind: 'public',
          title: 't',
          owner: null,
        });
        assert.notEqual(other.epoch, created.epoch);
      });

      it('createChannel without an owner has no members', async () => {
        const id = `ch-${unique()}`;
        const created = await store.createChannel({ id, kind: 'public', title: 't', owner: null });
        assert.equal(created.createdBy, null);
        assert.deepEqual(await store.listMembers(id), []);
      });

      it('createChannel throws conflict when the id is taken and leaves the channel as it was', async () => {
        const id = await channel();
        const original = await store.getChannel(id);
        await assert.rejects(
          store.createChannel({ id, kind: 'private', title: 'other', owner: 'bob' }),
          isError('conflict'),
        );
        assert.deepEqual(await store.getChannel(id), original);
        assert.equal(await store.getRole(id, 'bob'), undefined);
      });

      it('channel ids are case-sensitive', async () => {
        const id = `case-${unique()}`;
        await store.createChannel({ id, kind: 'public', title: 'lower', owner: null });
        await store.createChannel({ id: id.toUpperCase(), kind: 'public', title: 'upper', owner: null });
        assert.equal((await store.getChannel(id))?.title, 'lower');
        assert.equal((await store.getChannel(id.toUpperCase()))?.title, 'upper');
      });

      it('getChannel returns undefined for an unknown id', async () => {
        assert.equal(await store.getChannel(`nope-${unique()}`), undefined);
      });
    });

    describe('members', () => {
      it('setMember adds a member and changes the role of an existing one', async () => {
        const id = await channel();
        assert.equal(await store.getRole(id, 'bob'), undefined);
        await store.setMember(id, 'bob', 'member');
        assert.equal(await store.getRole(id, 'bob'), 'member');
        await store.setMember(id, 'bob', 'admin');
        assert.equal(await store.getRole(id, 'bob'), 'admin');
        assert.equal((await store.listMembers(id)).filter((m) => m.userId === 'bob').length, 1);
      });

      it('setMember throws not_found for an unknown user or channel', async () => {
        const id = await channel();
        await assert.rejects(store.setMember(id, `ghost-${unique()}`, 'member'), isError('not_found'));
        await assert.rejects(store.setMember(`nope-${unique()}`, 'bob', 'member'), isError('not_found'));
      });

      it('concurrent upserts each take effect, and one that fails fails alone', async () => {
        const id = await channel();
        const users = Array.from({ length: 20 }, () => `many-${unique()}`);
        // All in one tick: on SQLite they share one transaction.
        const upserted = await Promise.all(users.map((u) => store.upsertUser({ id: u, username: u })));
        assert.deepEqual(
          upserted.map((u) => u.id),
          users,
        );
        const joins = users.map((u) => store.setMember(id, u, 'member'));
        const ghost = store.setMember(id, `ghost-${unique()}`, 'member');
        const renamed = store.upsertUser({ id: users[0]!, username: 'renamed' });
        await assert.rejects(ghost, isError('not_found'));
        await Promise.all(joins);
        assert.equal((await renamed).username, 'renamed');
        const members = new Set((await store.listMembers(id)).map((m) => m.userId));
        for (const u of users) assert.ok(members.has(u), `${u} is a member`);
        assert.equal((await store.getUser(users[0]!))?.username, 'renamed');
      });

      it('removeMember removes a member once and then returns false', async () => {
        const id = await channel();
        await store.setMember(id, 'bob', 'readonly');
        assert.equal(await store.removeMember(id, 'bob'), true);
        assert.equal(await store.getRole(id, 'bob'), undefined);
        assert.equal(await store.removeMember(id, 'bob'), false);
      });

      it('listMembers lists members ordered by user id, with usernames and join times', async () => {
        const id = await channel();
        const suffix = unique();
        // Code-point order: 'B' < '_' < 'a'.
        for (const userId of [`m-a${suffix}`, `m-B${suffix}`, `m-_${suffix}`]) {
          await store.upsertUser({ id: userId, username: `name of ${userId}` });
          await store.setMember(id, userId, 'member');
        }
        const members = await store.listMembers(id);
        assert.deepEqual(
          members.map((m) => m.userId),
          ['alice', `m-B${suffix}`, `m-_${suffix}`, `m-a${suffix}`],
        );
        const alice = members[0];
        assert.ok(alice !== undefined);
        assert.equal(alice.channelId, id);
        assert.equal(alice.username, 'Alice');
        assert.equal(alice.role, 'owner');
        assert.ok(alice.joinedAt > 0);
        assert.equal(members[1]?.username, `name of m-B${suffix}`);
        assert.deepEqual(await store.listMembers(`nope-${unique()}`), []);
      });
    });

    describe('listChannelsFor', () => {
      it("lists public channels and the user's own channels by id, with the user's role, hiding others' private ones", async () => {
        const p = `lc-${unique()}`;
        const userId = `u-${unique()}`;
        await store.upsertUser({ id: userId, username: 'Lister' });
        await store.createChannel({ id: `${p}-a-public`, kind: 'public', title: 't', owner: 'alice' });
        await store.createChannel({ id: `${p}-B-mine`, kind: 'private', title: 't', owner: userId });
        await store.createChannel({ id: `${p}-c-joined`, kind: 'public', title: 't', owner: 'alice' });
        await store.setMember(`${p}-c-joined`, userId, 'readonly');
        await store.createChannel({ id: `${p}-d-dm`, kind: 'dm', title: 't', owner: null });
        await store.setMember(`${p}-d-dm`, userId, 'member');
        await store.createChannel({ id: `${p}-e-secret`, kind: 'private', title: 't', owner: 'alice' });
        await store.createChannel({ id: `${p}-f-otherdm`, kind: 'dm', title: 't', owner: 'bob' });

        const mine = (await store.listChannelsFor(userId)).filter((c) => c.id.startsWith(p));
        assert.deepEqual(
          mine.map((c) => [c.id, c.kind, c.role]),
          [
            [`${p}-B-mine`, 'private', 'owner'],
            [`${p}-a-public`, 'public', null],
            [`${p}-c-joined`, 'public', 'readonly'],
            [`${p}-d-dm`, 'dm', 'member'],
          ],
        );
        const all = await store.listChannelsFor(userId);
        assert.deepEqual(
          all.map((c) => c.id),
          [...all.map((c) => c.id)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
        );
        const first = mine[0];
        assert.ok(first !== undefined);
        const { role: _role, ...stored } = first;
        assert.deepEqual(stored, await store.getChannel(first.id));
      });
    });

    describe('append', () => {
      it('assigns seq 1, 2, 3… per channel, independently in each channel', async () => {
        const a = await channel();
        const b = await channel();
        const seqs: [string, number][] = [];
        for (const id of [a, a, b, a, b]) {
          const { message, duplicate } = await store.append(msg(id, 'x'));
          assert.equal(duplicate, false);
          seqs.push([id, message.seq]);
        }
        assert.deepEqual(seqs, [
          [a, 1],
          [a, 2],
          [b, 1],
          [a, 3],
          [b, 2],
        ]);
        assert.equal((await store.getChannel(a))?.lastSeq, 3);
        assert.equal((await store.getChannel(b))?.lastSeq, 2);
      });

      it('returns the stored message, equal to what history returns, with a commit-time ts', async () => {
        const id = await channel();
        const before = Date.now();
        const { message } = await store.append(msg(id, 'hello', 'c-1'));
        const after = Date.now();
        assert.match(message.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        assert.deepEqual(
          { ...message, id: '', ts: 0 },
          {
            id: '',
            channel: id,
            seq: 1,
            user_id: 'alice',
            username: 'Alice',
            text: 'hello',
            ts: 0,
            client_msg_id: 'c-1',
          },
        );
        assert.ok(
          Number.isInteger(message.ts) && message.ts >= before && message.ts <= after,
          `ts ${message.ts}`,
        );
        assert.deepEqual(await store.latest(id, 1), [message]);
      });

      it('returns the stored message with duplicate: true when a clientMsgId is retried', async () => {
        const id = await channel();
        const first = await store.append(msg(id, 'once', 'retry-me'));
        await store.append(msg(id, 'between'));
        const again = await store.append(msg(id, 'once (retried, text ignored)', 'retry-me'));
        assert.equal(first.duplicate, false);
        assert.deepEqual(again, { message: first.message, duplicate: true });
        assert.deepEqual(
          (await store.latest(id, 10)).map((m) => m.seq),
          [1, 2],
        );
      });

      it('stores a clientMsgId repeated within one batch once', async () => {
        const id = await channel();
        const results = await Promise.all([
          store.append(msg(id, 'a', 'same')),
          store.append(msg(id, 'b', 'other')),
          store.append(msg(id, 'a', 'same')),
          store.append(msg(id, 'a', 'same')),
        ]);
        assert.deepEqual(
          results.map((r) => [r.message.seq, r.duplicate]),
          [
            [1, false],
            [2, false],
            [1, true],
            [1, true],
          ],
        );
        assert.equal(results[2]?.message.id, results[0]?.message.id);
        assert.equal((await store.latest(id, 10)).length, 2);
      });

      it('lets different users, and different channels, use the same clientMsgId', async () => {
        const a = await channel();
        const b = await channel();
        const results = await Promise.all([
          store.append(msg(a, 'from alice', 'k')),
          store.append(msg(a, 'from bob', 'k', 'bob')),
          store.append(msg(b, 'from alice elsewhere', 'k')),
        ]);
        assert.deepEqual(
          results.map((r) => [r.message.channel, r.message.seq, r.duplicate]),
          [
            [a, 1, false],
            [a, 2, false],
            [b, 1, false],
          ],
        );
      });

      it('never deduplicates messages without a clientMsgId', async () => {
        const id = await channel();
        const results = await Promise.all([store.append(msg(id, 'same')), store.append(msg(id, 'same'))]);
        await store.append(msg(id, 'same'));
        assert.deepEqual(
          results.map((r) => r.duplicate),
          [false, false],
        );
        assert.equal((await store.latest(id, 10)).length, 3);
      });

      it('gives 500 appends to 3 channels pushed in one tick gap-free seqs, resolving in seq order', async () => {
        const ids = [await channel(), await channel(), await channel()];
        const resolved: AppendResult[] = [];
        const appends = range(0, 499).map((i) =>
          store.append(msg(ids[i % 3] as string, `m${i}`, i % 2 === 0 ? `cid-${i}` : null)).then((r) => {
            resolved.push(r);
            return r;
          }),
        );
        const results = await Promise.all(appends);
        const seqs = seqsByChannel(results);
        for (const id of ids) {
          const list = seqs.get(id) ?? [];
          assert.deepEqual(
            [...list].sort((x, y) => x - y),
            range(1, list.length),
          );
          assert.deepEqual(
            (await store.after(id, 0, 1000)).map((m) => m.seq),
            range(1, list.length),
          );
        }
        for (const [id, list] of seqsByChannel(resolved)) {
          assert.deepEqual(
            list,
            [...list].sort((x, y) => x - y),
            `resolution order of ${id}`,
          );
        }
        // Pushed in order within one channel → seqs in push order.
        assert.deepEqual(seqs.get(ids[0] as string), range(1, 167));
      });

      it('gives appends pushed across many ticks gap-free seqs, each readable with all lower seqs once it resolves', async () => {
        const ids = [await channel(), await channel(), await channel()];
        const checks: Promise<void>[] = [];
        const all: Promise<AppendResult>[] = [];
        for (let burst = 0; burst < 12; burst++) {
          for (let i = 0; i < 25; i++) {
            const id = ids[(burst + i) % 3] as string;
            const p = store.append(msg(id, `b${burst}-${i}`, `b${burst}-${i}`));
            all.push(p);
            // Durable before visible, no gaps: once acked, history holds it and everything before it.
            checks.push(
              p.then(async ({ message }) => {
                const page = await store.after(id, 0, message.seq);
                assert.deepEqual(
                  page.map((m) => m.seq),
                  range(1, message.seq),
                );
                assert.deepEqual(page.at(-1), message);
              }),
            );
          }
          await nextTick();
        }
        const results = await Promise.all(all);
        await Promise.all(checks);
        for (const list of seqsByChannel(results).values()) {
          assert.deepEqual(list, range(1, list.length));
        }
      });

      it('rejects only the message for an unknown channel, with not_found', async () => {
        const id = await channel();
        const outcomes = await Promise.allSettled([
          store.append(msg(id, 'one', 'x1')),
          store.append(msg(`missing-${unique()}`, 'lost', 'x2')),
          store.append(msg(id, 'two', 'x3')),
        ]);
        assert.equal(outcomes[0]?.status, 'fulfilled');
        assert.equal(outcomes[2]?.status, 'fulfilled');
        assert.equal(outcomes[1]?.status, 'rejected');
        assert.ok(outcomes[1]?.status === 'rejected' && isError('not_found')(outcomes[1].reason));
        assert.deepEqual(
          (await store.latest(id, 10)).map((m) => m.text),
          ['one', 'two'],
        );
      });

      it('rejects only a message with an over-long clientMsgId, with bad_request', async () => {
        const id = await channel();
        const outcomes = await Promise.allSettled([
          store.append(msg(id, 'ok')),
          store.append(msg(id, 'bad', 'k'.repeat(65))),
          store.append(msg(id, 'ok too', '🔑'.repeat(64))),
        ]);
        assert.ok(outcomes[1]?.status === 'rejected' && isError('bad_request')(outcomes[1].reason));
        assert.deepEqual(
          (await store.latest(id, 10)).map((m) => m.text),
          ['ok', 'ok too'],
        );
      });

      it('round-trips emoji and other unicode exactly', async () => {
        const id = await channel();
        const texts = [
          '👍🏽 👨‍👩‍👧‍👦 🇫🇷 🏳️‍🌈 😀',
          '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠜎𠜱 — astral planes',
          'e\u0301 vs \u00e9, ﬁ ligature, Ω≈ç√',
          'مرحبا بالعالم · שלום · 日本語 · 中文 · 한국어',
          'quotes \' " ` backslash \\ % _ tab\tnewline\n\r\nend',
          'trailing spaces   ',
          '',
          '😀'.repeat(4000),
        ];
        const results = await Promise.all(
          texts.map((text, i) => store.append({ ...msg(id, text, `ключ-🔑-${i}`), username: 'Zoë 🦊' })),
        );
        const stored = await store.after(id, 0, 100);
        assert.deepEqual(
          stored.map((m) => m.text),
          texts,
        );
        assert.deepEqual(
          stored.map((m) => m.client_msg_id),
          texts.map((_, i) => `ключ-🔑-${i}`),
        );
        assert.ok(stored.every((m) => m.username === 'Zoë 🦊'));
        assert.deepEqual(
          stored,
          results.map((r) => r.message),
        );
        const retried = await store.append(msg(id, 'again', 'ключ-🔑-0'));
        assert.equal(retried.duplicate, true);
      });

      it('keeps seqs gap-free when two stores on the same database append to one channel at once', async () => {
        const id = await channel();
        const other = await h.reopen();
        const stores = [store, other];
        const resolved: [number, number][] = [];
        const all: Promise<AppendResult>[] = [];
        for (let burst = 0; burst < 10; burst++) {
          for (let i = 0; i < 30; i++) {
            const s = i % 2;
            all.push(
              (stores[s] as Store).append(msg(id, `s${s}-${burst}-${i}`, `s${s}-${burst}-${i}`)).then((r) => {
                resolved.push([s, r.message.seq]);
                return r;
              }),
            );
          }
          // The same retry reaching both stores at once is stored once.
          for (const s of stores) all.push(s.append(msg(id, 'shared', `shared-${burst}`, 'bob')));
          await nextTick();
        }
        const results = await Promise.all(all);
        await other.close();
        const stored = await store.after(id, 0, 1000);
        assert.deepEqual(
          stored.map((m) => m.seq),
          range(1, 310),
        );
        assert.deepEqual(
          results
            .filter((r) => !r.duplicate)
            .map((r) => r.message.seq)
            .sort((a, b) => a - b),
          range(1, 310),
        );
        for (let burst = 0; burst < 10; burst++) {
          const pair = results.filter((r) => r.message.client_msg_id === `shared-${burst}`);
          assert.equal(pair.length, 2);
          assert.equal(pair[0]?.message.id, pair[1]?.message.id);
          assert.deepEqual(pair.map((r) => r.duplicate).sort(), [false, true]);
        }
        for (const s of [0, 1]) {
          const seqs = resolved.filter(([x]) => x === s).map(([, seq]) => seq);
          assert.deepEqual(
            seqs,
            [...seqs].sort((a, b) => a - b),
            `store ${s} resolved in seq order`,
          );
        }
      });

      it('close() commits pending appends before it resolves; later appends reject with unavailable', async () => {
        const id = await channel();
        const closing = await h.reopen();
        const pending = range(1, 50).map((i) => closing.append(msg(id, `p${i}`, `p${i}`)));
        await closing.close();
        const results = await Promise.all(pending);
        assert.deepEqual(
          results.map((r) => r.message.seq),
          range(1, 50),
        );
        assert.equal((await store.latest(id, 100)).length, 50);
        await assert.rejects(closing.append(msg(id, 'late')), isError('unavailable'));
        assert.equal(await closing.ping(), false);
      });
    });

    describe('history', () => {
      let id: string;
      let messages: readonly Message[];
      before(async () => {
        id = await channel();
        const results: AppendResult[] = [];
        for (let i = 1; i <= 10; i++) results.push(await store.append(msg(id, `m${i}`)));
        messages = results.map((r) => r.message);
      });
      const seqs = (page: readonly Message[]) => page.map((m) => m.seq);

      it('latest returns the newest `limit` messages, ascending', async () => {
        assert.deepEqual(seqs(await store.latest(id, 3)), [8, 9, 10]);
        assert.deepEqual(await store.latest(id, 100), messages);
      });

      it('before returns the nearest `limit` messages below a seq, ascending', async () => {
        assert.deepEqual(seqs(await store.before(id, 5, 2)), [3, 4]);
        assert.deepEqual(seqs(await store.before(id, 3, 10)), [1, 2]);
        assert.deepEqual(seqs(await store.before(id, 1, 10)), []);
        assert.deepEqual(seqs(await store.before(id, 1000, 2)), [9, 10]);
      });

      it('after returns the nearest `limit` messages above a seq, ascending', async () => {
        assert.deepEqual(seqs(await store.after(id, 5, 2)), [6, 7]);
        assert.deepEqual(seqs(await store.after(id, 0, 3)), [1, 2, 3]);
        assert.deepEqual(seqs(await store.after(id, 8, 10)), [9, 10]);
        assert.deepEqual(seqs(await store.after(id, 10, 10)), []);
      });

      it('returns [] for an empty or unknown channel and for a limit of 0', async () => {
        const empty = await channel();
        assert.deepEqual(await store.latest(empty, 10), []);
        assert.deepEqual(await store.after(empty, 0, 10), []);
        assert.deepEqual(await store.before(`nope-${unique()}`, 10, 10), []);
        assert.deepEqual(await store.latest(id, 0), []);
      });
    });

    describe('edits, deletes, replies and reactions', () => {
      it('editMessage replaces the text and sets edited_at; history shows the edit', async () => {
        const id = await channel();
        const { message } = await store.append(msg(id, 'frist'));
        const edited = await store.editMessage(id, message.id, 'first');
        assert.equal(edited.text, 'first');
        assert.equal(edited.seq, message.seq);
        assert.ok(typeof edited.edited_at === 'number' && edited.edited_at >= message.ts);
        assert.deepEqual(await store.latest(id, 10), [edited]);
        assert.deepEqual(await store.getMessage(id, message.id), edited);
      });

      it('deleteMessage empties the text in storage and search, keeps the seq, drops reactions', async () => {
        const id = await channel();
        const { message } = await store.append(msg(id, 'zebracorn secret'));
        await store.append(msg(id, 'after'));
        await store.toggleReaction(id, message.id, 'bob', '👍');
        assert.equal(
          (await store.search({ channelIds: [id], text: 'zebracorn', limit: 10, offset: 0 })).length,
          1,
        );
        const deleted = await store.deleteMessage(id, message.id);
        assert.equal(deleted.deleted, true);
        assert.equal(deleted.text, '');
        assert.equal(deleted.reactions, undefined);
        const page = await store.latest(id, 10);
        assert.deepEqual(
          page.map((m) => [m.seq, m.text, m.deleted ?? false]),
          [
            [1, '', true],
            [2, 'after', false],
          ],
        );
        assert.deepEqual(
          await store.search({ channelIds: [id], text: 'zebracorn', limit: 10, offset: 0 }),
          [],
        );
        // Deleting again is a no-op; editing a deleted message is a conflict.
        assert.deepEqual(await store.deleteMessage(id, message.id), deleted);
        await assert.rejects(store.editMessage(id, message.id, 'back'), isError('conflict'));
        await assert.rejects(store.toggleReaction(id, message.id, 'bob', '👍'), isError('conflict'));
      });

      it('edit, delete and react throw not_found for an unknown message or another channel', async () => {
        const id = await channel();
        const other = await channel();
        const { message } = await store.append(msg(id, 'x'));
        await assert.rejects(store.editMessage(other, message.id, 'y'), isError('not_found'));
        await assert.rejects(store.deleteMessage(id, 'nope'), isError('not_found'));
        await assert.rejects(store.toggleReaction(other, message.id, 'bob', '👍'), isError('not_found'));
        assert.equal(await store.getMessage(other, message.id), undefined);
      });

      it('editMessage keeps each replaced text as a version, oldest first', async () => {
        const id = await channel();
        const { message } = await store.append(msg(id, 'draft one 🦊'));
        assert.deepEqual(await store.messageVersions(id, message.id), []);
        const first = await store.editMessage(id, message.id, 'draft two');
        const second = await store.editMessage(id, message.id, 'final');
        assert.deepEqual(await store.messageVersions(id, message.id), [
          { version: 1, text: 'draft one 🦊', editedAt: first.edited_at },
          { version: 2, text: 'draft two', editedAt: second.edited_at },
        ]);
        assert.equal((await store.getMessage(id, message.id))?.text, 'final');
        // Versions are not searched: only the current text is found.
        assert.deepEqual(await store.search({ channelIds: [id], text: 'draft', limit: 10, offset: 0 }), []);
      });

      it('deleteMessage removes the versions with the text', async () => {
        const id = await channel();
        const { message } = await store.append(msg(id, 'v1'));
        await store.editMessage(id, message.id, 'v2');
        await store.editMessage(id, message.id, 'v3');
        await store.deleteMessage(id, message.id);
        assert.deepEqual(await store.messageVersions(id, message.id), []);
        const other = await h.reopen();
        assert.deepEqual(await other.messageVersions(id, message.id), []);
        await other.close();
      });

      it('messageVersions throws not_found for an unknown message or another channel', async () => {
        const id = await channel();
        const other = await channel();
        const { message } = await store.append(msg(id, 'x'));
        await store.editMessage(id, message.id, 'y');
        await assert.rejects(store.messageVersions(id, 'nope'), isError('not_found'));
        await assert.rejects(store.messageVersions(other, message.id), isError('not_found'));
      });

      it('concurrent edits keep every replaced text once, numbered without gaps', async () => {
        const id = await channel();
        const { message } = await store.append(msg(id, 'e0'));
        // One store: its pool runs the edits on several connections at once (SQLite: one).
        await Promise.all(range(1, 10).map((i) => store.editMessage(id, message.id, `e${i}`)));
        const versions = await store.messageVersions(id, message.id);
        assert.deepEqual(
          versions.map((v) => v.version),
          range(1, 10),
        );
        const current = (await store.getMessage(id, message.id))?.text;
        // Every text but the current one was replaced exactly once.
        assert.deepEqual(
          [...versions.map((v) => v.text), current].sort(),
          range(0, 10)
            .map((i) => `e${i}`)
            .sort(),
        );
        assert.equal(versions[0]?.text, 'e0');
      });

      it('toggleReaction adds, counts per emoji and removes again; history carries the counts', async () => {
        const id = await channel();
        const { message } = await store.append(msg(id, 'react to me'));
        assert.equal((await store.toggleReaction(id, message.id, 'bob', '🎉')).added, true);
        assert.equal((await store.toggleReaction(id, message.id, 'alice', '🎉')).added, true);
        const third = await store.toggleReaction(id, message.id, 'bob', '👍');
        assert.equal(third.added, true);
        assert.deepEqual(third.message.reactions, [
          { emoji: '🎉', count: 2, user_ids: ['alice', 'bob'] },
          { emoji: '👍', count: 1, user_ids: ['bob'] },
        ]);
        const removed = await store.toggleReaction(id, message.id, 'bob', '🎉');
        assert.equal(removed.added, false);
        assert.deepEqual((await store.latest(id, 1))[0]?.reactions, [
          { emoji: '🎉', count: 1, user_ids: ['alice'] },
          { emoji: '👍', count: 1, user_ids: ['bob'] },
        ]);
      });

      it('keeps the event name of a triggered event, also for its retry and in history', async () => {
        const id = await channel();
        const data = JSON.stringify({ order: 7, note: 'shipped \u00e9' });
        const first = await store.append({ ...msg(id, data, 'evt-1'), event: 'order.shipped' });
        assert.equal(first.message.event, 'order.shipped');
        assert.equal(first.message.text, data);
        const again = await store.append({ ...msg(id, data, 'evt-1'), event: 'order.shipped' });
        assert.equal(again.duplicate, true);
        assert.equal(again.message.event, 'order.shipped');
        const plain = await store.append(msg(id, 'no event'));
        assert.equal(plain.message.event, undefined);
        assert.deepEqual(await store.after(id, 0, 10), [first.message, plain.message]);
        await assert.rejects(store.append({ ...msg(id, 'x'), event: 'e'.repeat(201) }));
      });

      it('stores reply_to and thread returns the replies in seq order', async () => {
        const id = await channel();
        const { message: root } = await store.append(msg(id, 'root'));
        await store.append(msg(id, 'unrelated'));
        const r1 = await store.append({ ...msg(id, 'reply 1'), replyTo: root.id });
        const r2 = await store.append({ ...msg(id, 'reply 2', null, 'bob'), replyTo: root.id });
        assert.equal(r1.message.reply_to, root.id);
        const thread = await store.thread(id, root.id, 0, 10);
        assert.deepEqual(thread, [r1.message, r2.message]);
        assert.deepEqual(await store.thread(id, root.id, r1.message.seq, 10), [r2.message]);
        assert.equal((await store.latest(id, 1))[0]?.reply_to, root.id);
      });
    });

    describe('search', () => {
      let a: string;
      let b: string;
      before(async () => {
        a = await channel();
        b = await channel('private');
        await store.append(msg(a, 'The Quarterly report is ready'));
        await store.append(msg(a, 'lunch at noon?'));
        await store.append(msg(b, 'quarterly numbers look bad'));
        await store.append(msg(a, 'Reporting about the café déjà vu 🦊'));
        await store.append(msg(a, 'will you report back about it'));
      });
      const texts = (found: readonly Message[]) => found.map((m) => m.text);

      it('finds whole words and word beginnings, case-insensitively, newest first', async () => {
        assert.deepEqual(
          texts(await store.search({ channelIds: [a, b], text: 'QUARTERLY', limit: 10, offset: 0 })),
          ['quarterly numbers look bad', 'The Quarterly report is ready'],
        );
        assert.deepEqual(texts(await store.search({ channelIds: [a], text: 'repo', limit: 10, offset: 0 })), [
          'will you report back about it',
          'Reporting about the café déjà vu 🦊',
          'The Quarterly report is ready',
        ]);
      });

      it('needs every term, searches only the given channels, and pages by offset', async () => {
        assert.deepEqual(
          texts(await store.search({ channelIds: [a], text: 'report ready', limit: 10, offset: 0 })),
          ['The Quarterly report is ready'],
        );
        assert.deepEqual(
          texts(await store.search({ channelIds: [a], text: 'numbers', limit: 10, offset: 0 })),
          [],
        );
        assert.deepEqual(
          texts(await store.search({ channelIds: [a], text: 'report', limit: 1, offset: 1 })),
          ['Reporting about the café déjà vu 🦊'],
        );
      });

      it('finds common words (no stop-word list) and treats operators as plain text', async () => {
        assert.deepEqual(
          texts(await store.search({ channelIds: [a], text: 'about will', limit: 10, offset: 0 })),
          ['will you report back about it'],
        );
        assert.deepEqual(
          texts(
            await store.search({
              channelIds: [a],
              text: '"lunch" -noon* NOT (xyz) \' ; --',
              limit: 10,
              offset: 0,
            }),
          ),
          [],
        );
        assert.deepEqual(
          texts(await store.search({ channelIds: [a], text: '+lunch*', limit: 10, offset: 0 })),
          ['lunch at noon?'],
        );
      });

      it('finds nothing for no terms or no channels', async () => {
        assert.deepEqual(await store.search({ channelIds: [a], text: ' !? ', limit: 10, offset: 0 }), []);
        assert.deepEqual(await store.search({ channelIds: [], text: 'report', limit: 10, offset: 0 }), []);
      });

      it('sees an edit: the old words are gone, the new ones found', async () => {
        const id = await channel();
        const { message } = await store.append(msg(id, 'platypus'));
        await store.editMessage(id, message.id, 'wombat');
        assert.deepEqual(
          await store.search({ channelIds: [id], text: 'platypus', limit: 10, offset: 0 }),
          [],
        );
        assert.deepEqual(
          texts(await store.search({ channelIds: [id], text: 'wombat', limit: 10, offset: 0 })),
          ['wombat'],
        );
      });
    });

    describe('read positions and unread counts', () => {
      it('setReadPosition only moves forward and readPositions lists it', async () => {
        const id = await channel();
        assert.equal(await store.setReadPosition(id, 'bob', 5), 5);
        assert.equal(await store.setReadPosition(id, 'bob', 3), 5);
        assert.equal(await store.setReadPosition(id, 'bob', 7), 7);
        assert.equal((await store.readPositions('bob')).get(id), 7);
        await assert.rejects(store.setReadPosition(`nope-${unique()}`, 'bob', 1), isError('not_found'));
      });

      it("unreadCounts counts others' undeleted messages after the position, capped, and @mentions", async () => {
        const id = await channel();
        await store.append(msg(id, 'hello @Bob'));
        await store.append(msg(id, 'mine', null, 'bob'));
        await store.append(msg(id, 'hi @bobby'));
        const { message } = await store.append(msg(id, 'gone @bob'));
        await store.deleteMessage(id, message.id);
        await store.append(msg(id, '@bob, look'));
        const counts = await store.unreadCounts('bob', 'bob', [{ channelId: id, after: 0 }], 100);
        assert.deepEqual(counts.get(id), { unread: 3, mentions: 2 });
        assert.deepEqual(
          (await store.unreadCounts('bob', 'bob', [{ channelId: id, after: 3 }], 100)).get(id),
          {
            unread: 1,
            mentions: 1,
          },
        );
        assert.deepEqual((await store.unreadCounts('bob', 'bob', [{ channelId: id, after: 0 }], 2)).get(id), {
          unread: 2,
          mentions: 1,
        });
      });
    });

    describe('unread counts', () => {
      /** `unreadCounts` of one channel for bob (mentioned as `mention`). */
      async function countsOf(id: string, after: number, cap = 100, mention = 'bob') {
        return (await store.unreadCounts('bob', mention, [{ channelId: id, after }], cap)).get(id);
      }

      it('caps unread at `cap` per channel, mentions included, and counts all up to it', async () => {
        const id = await channel();
        for (let i = 0; i < 5; i++) await store.append(msg(id, `@bob ${i}`));
        assert.deepEqual(await countsOf(id, 0, 3), { unread: 3, mentions: 3 });
        assert.deepEqual(await countsOf(id, 0, 5), { unread: 5, mentions: 5 });
        assert.deepEqual(await countsOf(id, 0, 6), { unread: 5, mentions: 5 });
        assert.deepEqual(await countsOf(id, 0, 1), { unread: 1, mentions: 1 });
        assert.deepEqual(await countsOf(id, 0, 0), { unread: 0, mentions: 0 });
        assert.deepEqual(await countsOf(id, 4, 3), { unread: 1, mentions: 1 });
      });

      it('counts a mention only as @name followed by no letter, digit or underscore, in any case', async () => {
        const id = await channel();
        const texts: [string, boolean][] = [
          ['@bob', true],
          ['hi @BOB!', true],
          ['@Bob.', true],
          ['(@bOb)', true],
          ['@bob, look', true],
          ['@bob🙂', true],
          ['@bobby', false],
          ['@bob_', false],
          ['@bob1', false],
          ['@bobé', false],
          ['@bobЖ', false],
          ['@bobby then @bob', true],
          ['bob', false],
          ['@ bob', false],
          ['@bo', false],
          ['@b_b', false],
          ['@b%b', false],
          ['@bób', false],
          [`${'x'.repeat(3000)} @Bob`, true],
          [`${'x'.repeat(3000)} @Bobx`, false],
        ];
        for (const [text] of texts) await store.append(msg(id, text));
        const expected = texts.filter(([, mentions]) => mentions).length;
        assert.deepEqual(await countsOf(id, 0), { unread: texts.length, mentions: expected });
        // Each text alone, so that a wrong one is named.
        for (const [i, [text, mentions]] of texts.entries()) {
          const counts = await store.unreadCounts('bob', 'bob', [{ channelId: id, after: i }], 1);
          assert.deepEqual(counts.get(id), { unread: 1, mentions: mentions ? 1 : 0 }, text.slice(-20));
        }
      });

      it('matches names with non-ASCII letters, symbols and LIKE wildcards as the characters they are', async () => {
        const cases: [mention: string, text: string, mentions: boolean][] = [
          ['Zoë', '@ZOË!', true],
          ['Zoë', '@zoë', true],
          ['Zoë', '@zoe', false],
          ['Zoë', '@zoës', false],
          ['a_b%c', '@A_B%C.', true],
          ['a_b%c', '@axbyc', false],
          ['a_b%c', '@a_b%cd', false],
          ['dr.who', '@Dr.Who?', true],
          ['dr.who', '@drxwho', false],
          ['🐙octo', 'hey @🐙OCTO', true],
          ['🐙octo', 'hey @🐙octopus', false],
          // JavaScript's case folding: KELVIN SIGN is a k, LONG S an s.
          ['kim', '@\u212Aim', true],
          ['sam', '@\u017Fam', true],
          ['Ἀλέξης', '@ἀλέξης', true],
        ];
        for (const [mention, text, mentions] of cases) {
          const id = await channel();
          await store.append(msg(id, text));
          const counts = await store.unreadCounts('bob', mention, [{ channelId: id, after: 0 }], 10);
          assert.deepEqual(
            counts.get(id),
            { unread: 1, mentions: mentions ? 1 : 0 },
            `${mention} in ${text}`,
          );
        }
      });

      it("excludes the user's own and deleted messages, which take no place under the cap", async () => {
        const id = await channel();
        await store.append(msg(id, '@bob mine', null, 'bob'));
        const gone = await store.append(msg(id, '@bob gone'));
        await store.deleteMessage(id, gone.message.id);
        await store.append(msg(id, 'also mine', null, 'bob'));
        await store.append(msg(id, '@bob from carol', null, 'carol'));
        await store.append(msg(id, 'plain'));
        assert.deepEqual(await countsOf(id, 0), { unread: 2, mentions: 1 });
        assert.deepEqual(await countsOf(id, 0, 1), { unread: 1, mentions: 1 });
        // Alice's view: bob's two count, hers do not.
        assert.deepEqual(
          (await store.unreadCounts('alice', 'bob', [{ channelId: id, after: 0 }], 100)).get(id),
          { unread: 3, mentions: 2 },
        );
      });

      it('answers {0, 0} for channels with nothing unread, an `after` beyond the last seq, or no channel', async () => {
        const empty = await channel();
        const read = await channel();
        await store.append(msg(read, '@bob one'));
        await store.append(msg(read, '@bob two'));
        const unknown = `nope-${unique()}`;
        const ids = [empty, read, unknown];
        const afters = [0, 2, 0];
        const counts = await store.unreadCounts(
          'bob',
          'bob',
          ids.map((channelId, i) => ({ channelId, after: afters[i] ?? 0 })),
          100,
        );
        assert.equal(counts.size, 3);
        for (const id of ids) assert.deepEqual(counts.get(id), { unread: 0, mentions: 0 }, id);
        assert.deepEqual(await countsOf(read, 1_000_000), { unread: 0, mentions: 0 });
        assert.deepEqual(await countsOf(read, 1), { unread: 1, mentions: 1 });
        assert.equal((await store.unreadCounts('bob', 'bob', [], 100)).size, 0);
      });

      it('counts each of many channels (more than one statement holds) on its own', async () => {
        const n = 601;
        const ids = await Promise.all(Array.from({ length: n }, () => channel()));
        // Channel i: i % 4 messages of alice's, the first mentioning bob when i % 3 = 0, then one
        // of bob's own; bob has read the first message when i % 5 = 0.
        await Promise.all(
          ids.map(async (id, i) => {
            for (let k = 0; k < i % 4; k++) {
              await store.append(msg(id, k === 0 && i % 3 === 0 ? `@bob #${i}` : `#${i}.${k}`));
            }
            await store.append(msg(id, '@bob my own', null, 'bob'));
          }),
        );
        const expected = (i: number) => {
          const after = i % 5 === 0 ? 1 : 0;
          return {
            after,
            unread: Math.min(Math.max(0, (i % 4) - after), 2),
            mentions: i % 3 === 0 && i % 4 > 0 && after === 0 ? 1 : 0,
          };
        };
        const counts = await store.unreadCounts(
          'bob',
          'bob',
          ids.map((channelId, i) => ({ channelId, after: expected(i).after })),
          2,
        );
        assert.equal(counts.size, n);
        for (const [i, id] of ids.entries()) {
          const { unread, mentions } = expected(i);
          assert.deepEqual(counts.get(id), { unread, mentions }, `channel ${i}`);
        }
      });
    });

    describe('channel updates, user status, accounts and refresh tokens', () => {
      it('updateChannel changes title, topic and archived, and not_found for an unknown channel', async () => {
        const id = await channel();
        const updated = await store.updateChannel(id, { title: 'New 🆕', topic: 'about things' });
        assert.equal(updated.title, 'New 🆕');
        assert.equal(updated.topic, 'about things');
        assert.equal(updated.archived, false);
        const archived = await store.updateChannel(id, { archived: true });
        assert.equal(archived.archived, true);
        assert.equal(archived.title, 'New 🆕');
        assert.deepEqual(await store.getChannel(id), archived);
        await assert.rejects(store.updateChannel(`nope-${unique()}`, { title: 'x' }), isError('not_found'));
      });

      it('getUserStatus and setUserStatus keep the ban flag and the token cut-off', async () => {
        const id = `u-${unique()}`;
        await store.upsertUser({ id, username: id });
        assert.deepEqual(await store.getUserStatus(id), { banned: false, tokensValidAfter: 0 });
        assert.deepEqual(await store.setUserStatus(id, { banned: true, tokensValidAfter: 1234 }), {
          banned: true,
          tokensValidAfter: 1234,
        });
        assert.deepEqual(await store.setUserStatus(id, { banned: false }), {
          banned: false,
          tokensValidAfter: 1234,
        });
        assert.equal(await store.getUserStatus(`nobody-${unique()}`), undefined);
        await assert.rejects(
          store.setUserStatus(`nobody-${unique()}`, { banned: true }),
          isError('not_found'),
        );
      });

      it('createAccount creates the user and the login; a taken login is a conflict', async () => {
        const login = `carol-${unique()}`;
        const user = await store.createAccount({
          login,
          userId: `id-${login}`,
          username: 'Carol',
          passwordHash: 'h',
        });
        assert.deepEqual(await store.getUser(user.id), user);
        assert.deepEqual(await store.getAccount(login), { login, userId: `id-${login}`, passwordHash: 'h' });
        await assert.rejects(
          store.createAccount({ login, userId: `other-${login}`, username: 'C2', passwordHash: 'h' }),
          isError('conflict'),
        );
        assert.equal(await store.getUser(`other-${login}`), undefined);
        assert.equal(await store.getAccount(`nobody-${unique()}`), undefined);
      });

      it('takeRefreshToken returns the user once, refuses expired tokens, and deleteRefreshTokens revokes all', async () => {
        const t = () => `t-${unique()}`;
        const [one, expired, two] = [t(), t(), t()];
        await store.saveRefreshToken({ id: one, userId: 'bob', expiresAt: Date.now() + 60_000 });
        await store.saveRefreshToken({ id: expired, userId: 'bob', expiresAt: Date.now() - 1 });
        await store.saveRefreshToken({ id: two, userId: 'bob', expiresAt: Date.now() + 60_000 });
        const [first, second] = await Promise.all([
          store.takeRefreshToken(one, Date.now()),
          store.takeRefreshToken(one, Date.now()),
        ]);
        assert.deepEqual([first, second].sort(), ['bob', undefined].sort());
        assert.equal(await store.takeRefreshToken(expired, Date.now()), undefined);
        await store.deleteRefreshTokens('bob');
        assert.equal(await store.takeRefreshToken(two, Date.now()), undefined);
      });
    });

    describe('ping', () => {
      it('is true while the store is open', async () => {
        assert.equal(await store.ping(), true);
      });
    });
  });
}
