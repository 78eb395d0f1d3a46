import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import WebSocket from 'ws';
import { ChannelStream } from '../../src/client/channel-stream.js';
import { ParleyClient } from '../../src/client/index.js';
import type { ClientFrame, Message } from '../../src/protocol/frames.js';
import { type FakeConnection, message, startFakeServer, WAIT_MS } from '../client/start-fake-server.js';

// The SDK's promise (DESIGN §2.3): a client resuming after seq N hands the app every later
// message once, in order, whatever mix of duplicates, reordering, bus loss and reconnects the
// network serves it, filling gaps from history. Checked on the real ChannelStream and on the
// real ParleyClient against a scripted server.

const seqs = (messages: readonly Message[]) => messages.map((m) => m.seq);
const range = (from: number, to: number) =>
  Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

describe('ChannelStream, for arbitrary arrivals', () => {
  it('delivers each seq after the start once, ascending, with no gap, whatever arrives in between', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 30 }).chain((n) =>
          fc.record({
            n: fc.constant(n),
            // Batches of arrivals: any seq, duplicates and seqs already delivered included.
            batches: fc.array(fc.array(fc.integer({ min: 1, max: n + 5 }), { maxLength: 6 }), {
              maxLength: 12,
            }),
            expects: fc.array(fc.integer({ min: 1, max: n + 5 }), { maxLength: 3 }),
            order: fc.shuffledSubarray(range(1, n + 5), { minLength: n + 5 }),
          }),
        ),
        (start, { n, batches, expects, order }) => {
          const end = n + 5;
          const stream = new ChannelStream(start);
          const out: number[] = [];
          const take = (delivered: readonly Message[]) => {
            // Each batch continues exactly where the stream stood.
            if (delivered.length > 0) assert.equal(delivered[0]?.seq, (out.at(-1) ?? start) + 1);
            out.push(...seqs(delivered));
            assert.equal(stream.lastSeq, out.at(-1) ?? start);
          };
          for (const [i, batch] of batches.entries()) {
            take(stream.accept(batch.map((s) => message('c', s))));
            const expected = expects[i];
            if (expected !== undefined) stream.expect(expected);
            assert.equal(stream.needsFill, stream.lastSeq < stream.target);
          }
          // Then everything arrives, in some order: nothing is missing any more.
          for (const s of order) take(stream.accept([message('c', s)]));
          assert.deepEqual(out, range(start + 1, end));
          assert.equal(stream.needsFill, false);
          assert.equal(stream.buffered, 0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never delivers a seq twice or out of order across resubscribes, holds, resets and gap skips', () => {
    // Used as ChannelSubscriptions uses it: a (re)subscribe clears the stream, holds what
    // arrives before the reply, then either resets the position (a fresh subscribe or a new
    // epoch) or keeps it (a recovered resume), accepts the reply's messages and expects its
    // last_seq; while live, messages are accepted and a gap that cannot be filled is skipped.
    type Op =
      | { readonly op: 'accept'; readonly seqs: readonly number[] }
      | { readonly op: 'skip' }
      | {
          readonly op: 'resubscribe';
          readonly held: readonly number[];
          readonly reset: number | undefined;
          readonly reply: readonly number[];
          readonly lastSeq: number;
        };
    const seqArb = fc.integer({ min: 1, max: 40 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          op: fc.constant('accept' as const),
          seqs: fc.array(seqArb, { maxLength: 5 }),
        }),
      },
      { weight: 1, arbitrary: fc.constant({ op: 'skip' as const }) },
      {
        weight: 2,
        arbitrary: fc.record({
          op: fc.constant('resubscribe' as const),
          held: fc.array(seqArb, { maxLength: 4 }),
          reset: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
          reply: fc.array(seqArb, { maxLength: 4 }),
          lastSeq: fc.integer({ min: 0, max: 40 }),
        }),
      },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const stream = new ChannelStream(0);
        // Between resets (which move the position on purpose), output ascends strictly.
        let last = 0;
        for (const o of ops) {
          let delivered: Message[] = [];
          if (o.op === 'accept') delivered = stream.accept(o.seqs.map((s) => message('c', s)));
          else if (o.op === 'skip') delivered = stream.skipGap();
          else {
            stream.clear();
            for (const s of o.held) stream.hold(message('c', s));
            if (o.reset !== undefined) {
              stream.restart(o.reset);
              last = o.reset;
            }
            delivered = stream.accept(o.reply.map((s) => message('c', s)));
            stream.expect(o.lastSeq);
          }
          for (const [i, m] of delivered.entries()) {
            assert.ok(m.seq > last, `seq ${m.seq} after ${last}`);
            // Only a skip leaves a hole, and only before its first message.
            if (o.op !== 'skip' || i > 0) assert.equal(m.seq, last + 1);
            last = m.seq;
          }
          if (o.op === 'skip' && delivered.length === 0) {
            // A skip with nothing held gives up on the missing range: forward, never back.
            assert.ok(stream.lastSeq >= last);
            last = stream.lastSeq;
          }
          assert.equal(stream.lastSeq, last);
          assert.ok(stream.target >= stream.lastSeq);
          assert.equal(stream.needsFill, stream.lastSeq < stream.target);
        }
      }),
      { numRuns: 500 },
    );
  });
});

/** One step of what the network does to a client subscribed to channel `c`. */
type Step =
  // New messages are committed; each goes out live, is lost on the bus, goes out twice, or is
  // delayed (sent later, reordered, by `flush`).
  | { readonly step: 'append'; readonly fates: readonly ('live' | 'lost' | 'twice' | 'late')[] }
  | { readonly step: 'flush'; readonly reverse: boolean }
  // An old message again (a duplicate from another node, say).
  | { readonly step: 'stale'; readonly back: number }
  // The connection drops (reconnect-able 4000–4499 code); on the next one, `early` live
  // messages arrive before the `subscribed` reply; history pages hold `pageSize` messages.
  | {
      readonly step: 'reconnect';
      readonly code: number;
      readonly early: readonly number[];
      readonly pageSize: number;
    };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      step: fc.constant('append' as const),
      fates: fc.array(fc.constantFrom('live', 'lost', 'twice', 'late'), { minLength: 1, maxLength: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ step: fc.constant('flush' as const), reverse: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ step: fc.constant('stale' as const), back: fc.nat({ max: 5 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      step: fc.constant('reconnect' as const),
      code: fc.constantFrom(4000, 4001, 4100, 4499),
      early: fc.array(fc.nat({ max: 6 }), { maxLength: 2 }),
      pageSize: fc.constantFrom(1, 2, 100),
    }),
  },
);

/**
 * A server that has committed messages 1..head of channel `c` (one epoch, every resume
 * recoverable): it answers the client's subscribes and history requests from that log, and
 * notes every subscribe's `since` beside what the app had been given by then.
 */
class ScriptedServer {
  head = 0;
  readonly resumes: { readonly since: number | undefined; readonly delivered: number }[] = [];
  readonly problems: string[] = [];

  readonly #deliveredLast: () => number;

  constructor(deliveredLast: () => number) {
    this.#deliveredLast = deliveredLast;
  }

  /** Answers subscribes and history requests on `conn`; `early` seqs go out before `subscribed`. */
  serve(conn: FakeConnection, early: readonly number[]): void {
    conn.socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ClientFrame;
      if (frame.type === 'subscribe') {
        this.resumes.push({ since: frame.since, delivered: this.#deliveredLast() });
        if (frame.channel !== 'c') this.problems.push(`subscribe to ${frame.channel}`);
        for (const back of early)
          if (this.head - back >= 1) conn.send({ type: 'message', ...message('c', this.head - back) });
        const since = frame.since ?? 0;
        conn.send({
          type: 'subscribed',
          ...(frame.ref === undefined ? {} : { ref: frame.ref }),
          channel: 'c',
          kind: 'public',
          title: 'c',
          role: 'member',
          epoch: 'e1',
          last_seq: this.head,
          recovered: true,
          messages: range(since + 1, this.head).map((s) => message('c', s)),
          presence: [],
          presence_count: 0,
        });
      } else if (frame.type === 'history') {
        const after = frame.after ?? 0;
        const limit = frame.limit ?? 100;
        if (frame.before !== undefined) this.problems.push('a gap fill paged backwards');
        const page = range(after + 1, Math.min(after + limit, this.head));
        conn.send({
          type: 'history',
          ...(frame.ref === undefined ? {} : { ref: frame.ref }),
          channel: 'c',
          messages: page.map((s) => message('c', s)),
          has_more: after + limit < this.head,
        });
      }
    });
  }
}

describe('ParleyClient resume, for arbitrary deliveries and reconnects', () => {
  it('hands the app each seq once, in order, with no gap, resuming after the last one it handed over', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { maxLength: 14 }),
        fc.constantFrom(1, 2, 100),
        async (steps, firstPageSize) => {
          const fake = await startFakeServer();
          const client = new ParleyClient({
            url: fake.url,
            token: 'tok',
            WebSocket,
            random: () => 0,
            pingIntervalMs: 0,
          });
          const delivered: number[] = [];
          const errors: string[] = [];
          let resets = 0;
          client.on('message', (m) => {
            if (m.channel === 'c') delivered.push(m.seq);
          });
          client.on('error', (e) => errors.push(e.message));
          client.on('reset', () => {
            resets += 1;
          });
          const server = new ScriptedServer(() => delivered.at(-1) ?? 0);
          const open = async (early: readonly number[], pageSize: number) => {
            const conn = await fake.nextConnection();
            server.serve(conn, early);
            await conn.accept({
              limits: { max_message_chars: 4000, max_payload_bytes: 65536, history_page_max: pageSize },
            });
            return conn;
          };
          try {
            const welcome = client.connect();
            let conn = await open([], firstPageSize);
            await welcome;
            await client.subscribe('c', { since: 0 });
            let late: number[] = [];
            for (const s of steps) {
              if (s.step === 'append') {
                for (const fate of s.fates) {
                  server.head += 1;
                  const m = { type: 'message' as const, ...message('c', server.head) };
                  if (fate === 'live' || fate === 'twice') conn.send(m);
                  if (fate === 'twice') conn.send(m);
                  if (fate === 'late') late.push(server.head);
                }
              } else if (s.step === 'flush') {
                for (const seq of s.reverse ? late.reverse() : late)
                  conn.send({ type: 'message', ...message('c', seq) });
                late = [];
              } else if (s.step === 'stale') {
                if (server.head - s.back >= 1)
                  conn.send({ type: 'message', ...message('c', server.head - s.back) });
              } else {
                conn.close(s.code, 'test');
                conn = await open(s.early, s.pageSize);
                // Late messages of the lost connection are lost with it.
                late = [];
              }
            }
            // The last message goes out live, so the client knows how far the channel goes.
            server.head += 1;
            conn.send({ type: 'message', ...message('c', server.head) });
            await new Promise<void>((resolve, reject) => {
              const check = () => {
                if ((delivered.at(-1) ?? 0) < server.head) return;
                dispose();
                clearTimeout(timer);
                resolve();
              };
              const timer = setTimeout(() => {
                dispose();
                reject(new Error(`delivered ${JSON.stringify(delivered)}, head ${server.head}`));
              }, WAIT_MS);
              const dispose = client.on('message', check);
              check();
            });
            assert.deepEqual(delivered, range(1, server.head));
            assert.deepEqual(server.problems, []);
            assert.deepEqual(errors, []);
            assert.equal(resets, 0);
            // Every subscribe resumed after exactly the last message the app had been handed.
            assert.ok(server.resumes.length >= 1);
            for (const r of server.resumes) assert.equal(r.since, r.delivered);
          } finally {
            await client.close();
            await fake.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
