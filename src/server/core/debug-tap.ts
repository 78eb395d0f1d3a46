import type { TraceEntry, TraceType } from './admin-events.js';

/** How long debug events wait to be sent together. */
const FLUSH_MS = 100;
/** The longest `detail` kept. */
const DETAIL_MAX = 200;

/** Where a tap's events go: to the bus, for every console of the cluster. */
export type TraceSink = (entries: readonly TraceEntry[], dropped: number) => void;

/**
 * The debug console's tap on one node (#17): the core and the transport record what passes
 * through (connects, subscribes, publishes, webhooks, errors) while a console anywhere in the
 * cluster watches. Off, recording costs one property read: callers test `on` before they make
 * the event, `if (tap.on) tap.record(…)`. On, events are gathered for up to 100 ms and handed
 * to the sink together, at most `batchMax` per flush; the rest are counted as dropped, never
 * buffered.
 */
export class DebugTap {
  /** True while a console watches; test it before making an event. */
  on = false;
  readonly node: string;
  readonly #batchMax: number;
  #sink: TraceSink | undefined;
  #entries: TraceEntry[] = [];
  #dropped = 0;
  #flushTimer: NodeJS.Timeout | undefined;
  #offTimer: NodeJS.Timeout | undefined;
  #offAt = 0;

  constructor(node: string, options: { readonly batchMax: number }) {
    this.node = node;
    this.#batchMax = options.batchMax;
  }

  /** Sets where flushed events go (the admin feed). */
  setSink(sink: TraceSink): void {
    this.#sink = sink;
  }

  /** Records an event, when on; `detail` is cut to 200 characters. */
  record(type: TraceType, detail: string, channel?: string, user?: string): void {
    if (!this.on) return;
    if (this.#entries.length >= this.#batchMax) {
      this.#dropped++;
      return;
    }
    this.#entries.push({
      at: Date.now(),
      node: this.node,
      type,
      channel,
      user,
      detail: detail.length > DETAIL_MAX ? `${detail.slice(0, DETAIL_MAX - 1)}…` : detail,
    });
    if (this.#flushTimer === undefined) {
      this.#flushTimer = setTimeout(() => this.#flush(), FLUSH_MS);
      this.#flushTimer.unref();
    }
  }

  /** Turns the tap on until `until` (ms since the epoch); a later watch extends it. */
  watchUntil(until: number): void {
    this.on = true;
    if (until <= this.#offAt) return;
    this.#offAt = until;
    clearTimeout(this.#offTimer);
    this.#offTimer = setTimeout(
      () => {
        this.#flush();
        this.#off();
      },
      Math.max(0, until - Date.now()),
    );
    this.#offTimer.unref();
  }

  /** Turns the tap off and drops what it holds. */
  close(): void {
    clearTimeout(this.#offTimer);
    this.#off();
  }

  #off(): void {
    this.on = false;
    this.#offAt = 0;
    this.#offTimer = undefined;
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#entries = [];
    this.#dropped = 0;
  }

  #flush(): void {
    this.#flushTimer = undefined;
    const entries = this.#entries;
    const dropped = this.#dropped;
    this.#entries = [];
    this.#dropped = 0;
    if (entries.length > 0 || dropped > 0) this.#sink?.(entries, dropped);
  }
}
