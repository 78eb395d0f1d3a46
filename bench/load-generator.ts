/**
 * The load generator: a child process of bench/run.ts (pinned to its own core), driven over
 * the IPC channel with {@link GeneratorRequest}s, each answered with one result. It exits when
 * its parent goes away, and every step is bounded in time.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { signToken } from '../src/cli/sign-token.js';
import { BenchConnection, type ConnectionSink, type JoinOptions } from './bench-connection.js';
import type {
  ChurnRequest,
  ChurnResult,
  GeneratorRequest,
  ServerKind,
  SetupRequest,
  SetupResult,
  StepRequest,
  StepResult,
} from './generator-protocol.js';
import { LatencyHistogram } from './latency-histogram.js';

const JOIN_TIMEOUT_MS = 30_000;
const TICK_MS = 5;

interface StepCounters {
  delivered: number;
  lastDeliveryAt: number;
  readonly latency: LatencyHistogram;
  readonly ack: LatencyHistogram;
}

const nowUs = () => Math.round(performance.now() * 1000);

class LoadGenerator implements ConnectionSink {
  readonly #conns: BenchConnection[] = [];
  readonly #tokens = new Map<string, string>();
  readonly #steps = new Map<number, StepCounters>();
  #server: ServerKind = 'parley';
  #port = 0;
  #secret = '';
  #rooms = 1;
  #perAddress = 20_000;
  #publishersPerRoom = 0;
  #deflate = false;
  #nextIndex = 0;
  #errors = 0;
  #firstErrors: string[] = [];
  #closed = 0;

  delivery(conn: BenchConnection, step: number, sentUs: number): void {
    if (!conn.counted) return;
    const c = this.#steps.get(step);
    if (c === undefined) return;
    const now = nowUs();
    c.delivered++;
    c.lastDeliveryAt = now;
    c.latency.record(now - sentUs);
  }

  ack(step: number, sentUs: number): void {
    this.#steps.get(step)?.ack.record(nowUs() - sentUs);
  }

  error(_conn: BenchConnection, text: string): void {
    this.#errors++;
    if (this.#firstErrors.length < 5) this.#firstErrors.push(text);
  }

  closed(conn: BenchConnection): void {
    if (conn.counted) this.#closed++;
  }

  async #token(user: string): Promise<string> {
    if (this.#server === 'socketio') return '';
    let t = this.#tokens.get(user);
    if (t === undefined) {
      t = await signToken({ secret: this.#secret, userId: user, username: user, ttlSeconds: 4 * 3600 });
      this.#tokens.set(user, t);
    }
    return t;
  }

  async #open(
    index: number,
    room: string,
    user: string,
    counted: boolean,
    trackSeq: boolean,
    join: JoinOptions,
  ): Promise<BenchConnection> {
    const addr = Math.floor(index / this.#perAddress);
    // On the Pusher runs the room's publishers (its first connections) speak Parley v1.
    const pusher = this.#server === 'parley-pusher' && index >= this.#rooms * this.#publishersPerRoom;
    return new BenchConnection({
      server: this.#server === 'socketio' ? 'socketio' : pusher ? 'parley-pusher' : 'parley',
      port: this.#port,
      index,
      room,
      user,
      token: await this.#token(user),
      localAddress: addr === 0 ? undefined : `127.0.0.${addr + 1}`,
      counted,
      trackSeq,
      join,
      sink: this,
      deflate: this.#deflate,
    });
  }

  async setup(req: SetupRequest): Promise<SetupResult> {
    this.#server = req.server;
    this.#port = req.port;
    this.#secret = req.secret;
    this.#rooms = req.rooms;
    this.#perAddress = req.perAddress;
    this.#publishersPerRoom = req.publishersPerRoom ?? 0;
    this.#deflate = req.compression === true;
    if (req.indexBase !== undefined && this.#nextIndex < req.indexBase) this.#nextIndex = req.indexBase;
    const hist = new LatencyHistogram();
    const errors: string[] = [];
    let ready = 0;
    let failed = 0;
    const last = this.#nextIndex + req.connections;
    // Tokens first: a client has its token before it connects (the web app signed it), so the
    // storm times the server's checks, not the generator's signing.
    for (let i = this.#nextIndex; i < last; i++) await this.#token(`u${i % req.users}`);
    const started = performance.now();
    const worker = async () => {
      while (this.#nextIndex < last) {
        const i = this.#nextIndex++;
        const t0 = performance.now();
        const conn = await this.#open(i, `r${i % req.rooms}`, `u${i % req.users}`, true, false, {
          history: 0,
        });
        try {
          await withTimeout(conn.joined, JOIN_TIMEOUT_MS);
          hist.record((performance.now() - t0) * 1000);
          this.#conns.push(conn);
          ready++;
        } catch (err) {
          failed++;
          conn.destroy();
          if (errors.length < 5) errors.push((err as Error).message);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(req.concurrency, req.connections) }, worker));
    const ms = performance.now() - started;
    return {
      ready,
      failed,
      ms,
      perSecond: ready / (ms / 1000),
      connectLatency: hist.toJSON(),
      firstErrors: errors,
    };
  }

  async step(req: StepRequest): Promise<StepResult> {
    const counters: StepCounters = {
      delivered: 0,
      lastDeliveryAt: 0,
      latency: new LatencyHistogram(),
      ack: new LatencyHistogram(),
    };
    this.#steps.clear();
    this.#steps.set(req.step, counters);
    this.#errors = 0;
    this.#firstErrors = [];
    this.#closed = 0;

    // Publishers: the first `publishersPerRoom` open connections of each room.
    const byRoom: BenchConnection[][] = Array.from({ length: this.#rooms }, () => []);
    const members = new Int32Array(this.#rooms);
    for (const c of this.#conns) {
      if (!c.ready) continue;
      const r = Number(c.room.slice(1));
      members[r]!++;
      const list = byRoom[r]!;
      if (list.length < req.publishersPerRoom && c.canPublish) list.push(c);
    }
    const rooms = byRoom.map((list, r) => ({ list, r })).filter((x) => x.list.length > 0);
    const padding = filler(Math.max(0, req.textBytes - 20));
    let bytes0 = 0;
    for (const c of this.#conns) if (c.counted) bytes0 += c.bytesReceived;

    const churn = req.churn === undefined ? undefined : this.#churn(req.churn, req.durationMs);

    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const t0us = nowUs();
    let published = 0;
    let expected = 0;
    let n = 0;
    const maxBurst = Math.max(1, Math.ceil((req.rate * 50) / 1000));
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const elapsed = performance.now() - t0;
        const due = Math.floor((req.rate * Math.min(elapsed, req.durationMs)) / 1000) - published;
        const burst = Math.min(due, maxBurst);
        for (let k = 0; k < burst && rooms.length > 0; k++) {
          const room = rooms[published % rooms.length]!;
          const pub = room.list[Math.floor(published / rooms.length) % room.list.length]!;
          if (pub.isOpen) {
            pub.publish(req.step, nowUs(), n++, padding);
            expected += members[room.r]!;
          }
          published++;
        }
        if (elapsed >= req.durationMs) {
          clearInterval(timer);
          resolve();
        }
      }, TICK_MS);
    });
    const publishMs = performance.now() - t0;
    const drainEnd = performance.now() + req.drainMs;
    while (counters.delivered < expected && performance.now() < drainEnd) await sleep(10);
    const churnResult = churn === undefined ? undefined : await churn;
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - t0;
    let open = 0;
    let bytes1 = 0;
    for (const c of this.#conns) {
      if (c.ready) open++;
      if (c.counted) bytes1 += c.bytesReceived;
    }
    return {
      step: req.step,
      published,
      publishMs,
      expected,
      delivered: counters.delivered,
      deliveryMs: counters.lastDeliveryAt === 0 ? publishMs : (counters.lastDeliveryAt - t0us) / 1000,
      latency: counters.latency.toJSON(),
      ack: counters.ack.toJSON(),
      errors: this.#errors,
      firstErrors: this.#firstErrors,
      closed: this.#closed,
      open,
      generatorCpu: (cpu.user + cpu.system) / 1000 / wall,
      bytesReceived: bytes1 - bytes0,
      churn: churnResult,
    };
  }

  /** Joins with history and resumes by seq while the step's load runs (Parley). */
  async #churn(req: ChurnRequest, durationMs: number): Promise<ChurnResult> {
    const joinLatency = new LatencyHistogram();
    const resumeLatency = new LatencyHistogram();
    let joins = 0;
    let joinFailed = 0;
    let historyTotal = 0;
    const joinOne = async (k: number) => {
      const t0 = performance.now();
      const conn = await this.#open(this.#nextIndex++, `r${k % this.#rooms}`, `j${k}`, false, false, {
        history: req.history,
      });
      try {
        const s = await withTimeout(conn.joined, JOIN_TIMEOUT_MS);
        joinLatency.record((performance.now() - t0) * 1000);
        historyTotal += s?.seqs.length ?? 0;
        joins++;
      } catch {
        joinFailed++;
      } finally {
        conn.destroy();
      }
    };
    const joinsDone: Promise<void>[] = [];
    const joinEvery = req.joinsPerSecond > 0 ? 1000 / req.joinsPerSecond : Number.POSITIVE_INFINITY;
    const joinTimer = setInterval(() => joinsDone.push(joinOne(joinsDone.length)), joinEvery);
    setTimeout(() => clearInterval(joinTimer), durationMs).unref();

    // Resumers: join now, drop a third into the step, resume `resumeGapMs` later.
    const resumers = await Promise.all(
      Array.from({ length: req.resumes }, async (_, k) => {
        const c = await this.#open(this.#nextIndex++, `r${k % this.#rooms}`, `s${k}`, false, true, {
          history: 0,
        });
        await withTimeout(c.joined, JOIN_TIMEOUT_MS).catch(() => {});
        return c;
      }),
    );
    await sleep(durationMs / 3);
    const points = resumers
      .filter((c) => c.ready)
      .map((c) => ({ room: c.room, user: c.user, since: c.lastSeq, epoch: c.epoch }));
    for (const c of resumers) c.destroy();
    await sleep(req.resumeGapMs);
    let recovered = 0;
    let gapFree = 0;
    let replayed = 0;
    await Promise.all(
      points.map(async (p) => {
        const t0 = performance.now();
        const conn = await this.#open(this.#nextIndex++, p.room, p.user, false, false, {
          history: 0,
          since: p.since,
          epoch: p.epoch,
        });
        try {
          const s = await withTimeout(conn.joined, JOIN_TIMEOUT_MS);
          resumeLatency.record((performance.now() - t0) * 1000);
          if (s?.recovered === true) recovered++;
          const seqs = s?.seqs ?? [];
          replayed += seqs.length;
          if (seqs.every((seq, i) => seq === p.since + 1 + i)) gapFree++;
        } catch {
          // counted as not recovered
        } finally {
          conn.destroy();
        }
      }),
    );
    await Promise.all(joinsDone);
    return {
      joins,
      joinFailed,
      joinLatency: joinLatency.toJSON(),
      historyMessagesMean: joins === 0 ? 0 : historyTotal / joins,
      resumes: points.length,
      recovered,
      gapFree,
      resumeLatency: resumeLatency.toJSON(),
      replayedMean: points.length === 0 ? 0 : replayed / points.length,
    };
  }

  close(): void {
    for (const c of this.#conns) c.destroy();
    this.#conns.length = 0;
  }
}

const WORDS =
  'the a to and of in is it you that for on was with as have be at or are this but not we they by from so can what all your will when there about if out up one more time just like new some no get people know good first would see now our only message room today back work call'.split(
    ' ',
  );

/**
 * Chat-like filler text of `n` characters: words of a small vocabulary in a fixed
 * pseudo-random order (compresses as English text does, ~3× with deflate; `x` × n would
 * compress ~100×). Only letters and spaces, nothing to escape in JSON.
 */
function filler(n: number): string {
  if (n < 200) return 'x'.repeat(n);
  let out = '';
  let seed = 12345;
  while (out.length < n) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    out += `${WORDS[seed % WORDS.length]} `;
  }
  return out.slice(0, n);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

const send = process.send?.bind(process);
if (send === undefined) {
  process.stderr.write('bench/load-generator.ts is started by bench/run.ts\n');
  process.exit(2);
}
const generator = new LoadGenerator();
process.on('disconnect', () => process.exit(0));
process.on('message', (req: GeneratorRequest) => {
  const run = async (): Promise<unknown> => {
    switch (req.cmd) {
      case 'setup':
        return generator.setup(req);
      case 'step':
        return generator.step(req);
      case 'close':
        generator.close();
        return {};
    }
  };
  run().then(
    (result) => send(result),
    (err: unknown) => send({ failure: String((err as Error)?.stack ?? err) }),
  );
});
send({ started: true });
