import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * How long the event loop was blocked: the delay of a timer due every millisecond
 * (`monitorEventLoopDelay`), so a loop turn that ran 12 ms shows as one ~12 ms sample.
 */
export class LoopStats {
  readonly #histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 1 });

  constructor() {
    this.#histogram.enable();
  }

  /** The delays since the last call, in ms, and a reset. */
  take(): LoopSummary {
    const h = this.#histogram;
    const ms = (ns: number) => ns / 1e6;
    const summary: LoopSummary = {
      samples: h.count,
      p50Ms: h.count === 0 ? 0 : ms(h.percentile(50)),
      p99Ms: h.count === 0 ? 0 : ms(h.percentile(99)),
      maxMs: h.count === 0 ? 0 : ms(h.max),
    };
    h.reset();
    return summary;
  }
}

/** Event-loop delay over an interval (see `LoopStats`). */
export interface LoopSummary {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Group-commit batch sizes seen by a server: a count per power-of-two size class. */
export class BatchStats {
  #count = 0;
  #items = 0;
  #max = 0;
  #ms = 0;
  #maxMs = 0;
  #classes = new Map<number, number>();

  add(size: number, ms: number): void {
    this.#count++;
    this.#items += size;
    this.#ms += ms;
    if (size > this.#max) this.#max = size;
    if (ms > this.#maxMs) this.#maxMs = ms;
    const cls = 2 ** Math.ceil(Math.log2(size));
    this.#classes.set(cls, (this.#classes.get(cls) ?? 0) + 1);
  }

  /** The statistics since the last call, and a reset. */
  take(): BatchSummary {
    const summary: BatchSummary = {
      count: this.#count,
      items: this.#items,
      mean: this.#count === 0 ? 0 : this.#items / this.#count,
      max: this.#max,
      meanMs: this.#count === 0 ? 0 : this.#ms / this.#count,
      maxMs: this.#maxMs,
      sizeClasses: Object.fromEntries([...this.#classes].sort((a, b) => a[0] - b[0])),
    };
    this.#count = this.#items = this.#max = this.#ms = this.#maxMs = 0;
    this.#classes = new Map();
    return summary;
  }
}

/** Group-commit batches over an interval: count, rows, sizes (per size class ≤ 2^k) and durations. */
export interface BatchSummary {
  readonly count: number;
  readonly items: number;
  readonly mean: number;
  readonly max: number;
  readonly meanMs: number;
  readonly maxMs: number;
  readonly sizeClasses: Record<string, number>;
}

/** A request from the orchestrator to a server under test. */
export type ServerRequest =
  | { readonly cmd: 'stats'; readonly id: number; readonly gc?: boolean }
  | { readonly cmd: 'profile-start'; readonly id: number }
  | { readonly cmd: 'profile-stop'; readonly id: number; readonly file: string }
  | { readonly cmd: 'stop' };

/**
 * Wires a server under test to the orchestrator's IPC channel: announces the port, answers
 * `stats` (memory, after a GC when asked and `--expose-gc` is on, plus `extra()`), records a CPU
 * profile between `profile-start` and `profile-stop`, stops on `stop` or when
 * the orchestrator disconnects.
 */
export function serveStats(port: number, extra: () => object, stop: () => Promise<void>): void {
  const send = process.send?.bind(process);
  if (send === undefined) {
    process.stdout.write(`listening on ${port}\n`);
    return;
  }
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    const deadline = setTimeout(() => process.exit(0), 3000);
    deadline.unref();
    stop().finally(() => process.exit(0));
  };
  // CPU profile of the measured steps only (not of start-up and connection setup).
  const session = new Session();
  process.on('message', (msg: ServerRequest) => {
    if (msg.cmd === 'stop') shutdown();
    else if (msg.cmd === 'profile-start') {
      session.connect();
      session.post('Profiler.enable', () =>
        session.post('Profiler.setSamplingInterval', { interval: 500 }, () =>
          session.post('Profiler.start', () => send({ id: msg.id })),
        ),
      );
    } else if (msg.cmd === 'profile-stop') {
      session.post('Profiler.stop', (err, result) => {
        if (err === null) writeFileSync(msg.file, JSON.stringify(result.profile));
        session.disconnect();
        send({ id: msg.id, written: err === null });
      });
    } else if (msg.cmd === 'stats') {
      // Only when asked (memory scenarios): a GC would distort a CPU measurement.
      if (msg.gc === true) (globalThis as { gc?: () => void }).gc?.();
      const mem = process.memoryUsage();
      send({ id: msg.id, rss: mem.rss, heapUsed: mem.heapUsed, external: mem.external, ...extra() });
    }
  });
  process.on('disconnect', shutdown);
  send({ listening: port });
}
