import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { ParleyClient } from '../../src/client/index.js';
import { ERRORS, isErrorCode, ParleyError } from '../../src/protocol/error-catalogue.js';
import { openStore } from '../../src/server/store/open-store.js';
import {
  type FreshDatabase,
  freshDatabase,
  missingServerReason,
  testServerUrl,
} from '../support/fresh-database.js';
import { connectResilientClient } from '../support/resilient-client.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { type ProxyCut, TcpProxy } from '../support/tcp-proxy.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';

// The store's deadlines for these tests: short, so an outage shows within a second or two.
const QUERY_TIMEOUT_MS = 1000;
const CONNECT_TIMEOUT_MS = 1000;
/**
 * How long a publish may wait for its answer before the test calls it a hang: far above what
 * the deadlines allow (a batch in flight, then the probe), far below "forever".
 */
const ANSWER_WITHIN_MS = 15_000;
/** The steady stream: one publish per interval, at most this many in one test. */
const PUBLISH_EVERY_MS = 25;
const MAX_PUBLISHES = 3000;

/** What became of one publish. */
interface Outcome {
  readonly clientMsgId: string;
  readonly sentAt: number;
  readonly ack?: { readonly id: string; readonly seq: number };
  readonly error?: string;
}

/**
 * A steady stream of publishes over one connection, each waiting for its ack or error, as a
 * busy client sends them. Bounded: at most `MAX_PUBLISHES`, each waiting `ANSWER_WITHIN_MS`.
 */
class PublishStream {
  readonly outcomes: Outcome[] = [];
  readonly #pending = new Set<Promise<void>>();
  readonly #timer: NodeJS.Timeout;
  #sent = 0;

  constructor(client: TestClient, channel: string, prefix: string) {
    this.#timer = setInterval(() => {
      if (this.#sent >= MAX_PUBLISHES) return;
      const clientMsgId = `${prefix}-${this.#sent++}`;
      const sentAt = Date.now();
      const answered = client
        .request(
          { type: 'publish', channel, text: `steady ${clientMsgId}`, client_msg_id: clientMsgId },
          ANSWER_WITHIN_MS,
        )
        .then(
          (reply) => {
            this.outcomes.push(
              reply.type === 'ack'
                ? { clientMsgId, sentAt, ack: { id: reply.id as string, seq: reply.seq as number } }
                : { clientMsgId, sentAt, error: String(reply.code) },
            );
          },
          () => {
            this.outcomes.push({ clientMsgId, sentAt, error: `no answer within ${ANSWER_WITHIN_MS} ms` });
          },
        )
        .finally(() => this.#pending.delete(answered));
      this.#pending.add(answered);
    }, PUBLISH_EVERY_MS);
  }

  /** Acks of publishes sent after `time`. */
  acksSentAfter(time: number): number {
    return this.outcomes.filter((o) => o.ack !== undefined && o.sentAt > time).length;
  }

  /** Errors of publishes sent after `time`. */
  errorsSentAfter(time: number): Outcome[] {
    return this.outcomes.filter((o) => o.error !== undefined && o.sentAt > time);
  }

  /** Stops sending and waits for every publish in flight to be answered (or to time out). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all(this.#pending);
  }
}

/** Every message of `channel`, oldest first, read page by page from seq 1. */
async function wholeHistory(
  reader: TestClient,
  channel: string,
): Promise<{ id: string; seq: number; client_msg_id: string | null }[]> {
  const stored: { id: string; seq: number; client_msg_id: string | null }[] = [];
  // Bounded: far more pages than MAX_PUBLISHES messages can fill.
  for (let after = 0, page = 0; page < 1000; page++) {
    const reply = await reader.request({ type: 'history', channel, after, limit: 100 });
    assert.equal(reply.type, 'history', JSON.stringify(reply));
    const messages = reply.messages as unknown as { id: string; seq: number; client_msg_id: string | null }[];
    stored.push(...messages);
    if (reply.has_more !== true || messages.length === 0) return stored;
    after = messages.at(-1)!.seq;
  }
  throw new Error('history did not end');
}

/** The HTTP status of the node's /readyz. */
async function readyz(node: TestServer): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${node.httpUrl}/readyz`, { signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
  return { status: res.status, body: await res.json() };
}

for (const kind of ['mysql', 'postgres'] as const) {
  const label = kind === 'mysql' ? 'MariaDB' : 'PostgreSQL';
  const serverUrl = testServerUrl(kind);
  const skip = serverUrl === undefined ? missingServerReason(kind) : false;

  describe(`a ${label} that goes away mid-stream`, { skip }, () => {
    let db: FreshDatabase | undefined;
    let proxy: TcpProxy | undefined;
    let node: TestServer | undefined;
    const clients: TestClient[] = [];
    const sdkClients: ParleyClient[] = [];
    /** Every ack the stream got in any test, by message id → seq. */
    const acked = new Map<string, number>();

    before(async () => {
      db = await freshDatabase(kind, serverUrl);
      proxy = await TcpProxy.for(db.url);
      node = await startTestServer({
        databaseUrl: proxy.url(db.url),
        limits: {
          dbQueryTimeoutMs: QUERY_TIMEOUT_MS,
          dbConnectTimeoutMs: CONNECT_TIMEOUT_MS,
          publishPerSecond: 10_000,
          publishBurst: 10_000,
          framesPerSecond: 10_000,
          framesBurst: 10_000,
        },
      });
    });
    after(async () => {
      for (const c of sdkClients) c.close();
      for (const c of clients) c.ws.close();
      await node?.close();
      await proxy?.close();
      await db?.drop();
    });

    for (const cut of ['refuse', 'blackhole'] as const satisfies readonly ProxyCut[]) {
      const how = cut === 'refuse' ? 'refuses connections and resets them' : 'goes dead without closing';
      it(`answers publishes with unavailable while the link ${how}, is not ready, and recovers by itself with every ack stored once`, async () => {
        assert.ok(node !== undefined && proxy !== undefined);
        const writer = await TestClient.as(node, `writer-${cut}`, clients);
        const sdk = await connectResilientClient(
          node.url,
          () => node!.token(`sdk-${cut}`, 'SDK'),
          sdkClients,
        );
        const stream = new PublishStream(writer, 'general', cut);
        try {
          await until(() => stream.acksSentAfter(0) >= 5, 'acks before the cut');
          assert.deepEqual(await readyz(node), { status: 200, body: { status: 'ready' } });

          const cutAt = Date.now();
          await proxy.pause(cut);
          // Never a hang: publishes sent after the cut get their answer, a retryable error.
          await until(
            () => stream.errorsSentAfter(cutAt).length >= 5,
            'unavailable errors after the cut',
            ANSWER_WITHIN_MS,
          );
          await until(async () => (await readyz(node!)).status === 503, '/readyz 503', ANSWER_WITHIN_MS);
          assert.deepEqual((await readyz(node)).body, { status: 'unavailable' });
          // The SDK retries unavailable with the same client_msg_id until the database is back.
          const sdkAck = sdk.publish('general', `sent by the SDK while the link ${how}`);

          const resumedAt = Date.now();
          await proxy.resume();
          await until(() => stream.acksSentAfter(resumedAt) >= 5, 'acks after the link came back', 20_000);
          await until(async () => (await readyz(node!)).status === 200, '/readyz 200 again', 20_000);
          const ack = await sdkAck;
          assert.equal(typeof ack.seq, 'number');
          await stream.stop();

          const errors = stream.outcomes.filter((o) => o.error !== undefined);
          assert.ok(errors.length >= 5);
          for (const o of errors) {
            assert.equal(o.error, 'unavailable', `publish ${o.clientMsgId} answered ${o.error}`);
            assert.ok(isErrorCode(o.error) && ERRORS[o.error].retry, 'a retryable code');
          }
          for (const o of stream.outcomes) if (o.ack !== undefined) acked.set(o.ack.id, o.ack.seq);
          acked.set(ack.id, ack.seq);

          // Nothing acked is lost; nothing is stored twice; seqs have no gaps.
          const stored = await wholeHistory(writer, 'general');
          const seqById = new Map(stored.map((m) => [m.id, m.seq]));
          for (const [id, seq] of acked)
            assert.equal(seqById.get(id), seq, `acked message ${id} (seq ${seq})`);
          assert.deepEqual(
            stored.map((m) => m.seq),
            Array.from({ length: stored.length }, (_, i) => i + 1),
            'seqs 1…n without gaps',
          );
          assert.equal(seqById.size, stored.length, 'each message once');
          const clientIds = stored.map((m) => m.client_msg_id);
          assert.equal(new Set(clientIds).size, clientIds.length, 'each client_msg_id once');
        } finally {
          await stream.stop();
          await proxy.resume();
        }
      });
    }

    it('answers /readyz 503 by its own deadline while the probe of a dead link still waits', async (t) => {
      assert.ok(db !== undefined && proxy !== undefined);
      // A node whose statements wait far longer than the fetch below does.
      const patient = await startTestServer({
        databaseUrl: proxy.url(db.url),
        limits: { dbQueryTimeoutMs: 4 * ANSWER_WITHIN_MS },
      });
      t.after(() => patient.close());
      assert.equal((await readyz(patient)).status, 200);
      await proxy.pause('blackhole');
      try {
        assert.deepEqual(await readyz(patient), { status: 503, body: { status: 'unavailable' } });
      } finally {
        await proxy.resume();
      }
      await until(async () => (await readyz(patient)).status === 200, '/readyz 200 again', 20_000);
    });
  });
}

describe('a SQLite file whose write lock another process holds', () => {
  it('answers appends and writes with retryable unavailable past the busy timeout, and takes them once the lock is gone', async (t) => {
    const db = await freshDatabase('sqlite');
    t.after(() => db.drop());
    const store = await openStore(db.url, { sqliteBusyTimeoutMs: 100 });
    t.after(() => store.close());
    await store.migrate();
    await store.createChannel({ id: 'c', kind: 'public', title: 'c', owner: null });
    const message = (n: number) => ({
      channelId: 'c',
      userId: 'u',
      username: 'U',
      text: `m${n}`,
      clientMsgId: `k${n}`,
    });
    assert.equal((await store.append(message(1))).message.seq, 1);

    const other = new Database(db.url.slice('sqlite:'.length));
    t.after(() => other.close());
    other.exec('begin immediate');
    await assert.rejects(
      store.append(message(2)),
      (error) => error instanceof ParleyError && error.code === 'unavailable',
    );
    await assert.rejects(
      store.upsertUser({ id: 'v', username: 'V' }),
      (error) => error instanceof ParleyError && error.code === 'unavailable',
    );
    assert.ok(ERRORS.unavailable.retry);
    // Readers are not blocked by a writer (WAL).
    assert.equal((await store.latest('c', 10)).length, 1);
    other.exec('rollback');

    // The retry with the same client_msg_id is stored, once, with the next seq.
    const retried = await store.append(message(2));
    assert.deepEqual([retried.message.seq, retried.duplicate], [2, false]);
    assert.equal((await store.append(message(2))).duplicate, true);
    assert.deepEqual(
      (await store.latest('c', 10)).map((m) => m.seq),
      [1, 2],
    );
  });
});
