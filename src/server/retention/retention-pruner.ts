import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { RetentionStore } from '../store/retention-store.js';

/** The lease the pruners of a cluster share: one of them prunes at a time. */
export const RETENTION_LEASE = 'retention';

const DAY_MS = 86_400_000;
/** Channels read per page while a pass walks them. */
const CHANNEL_PAGE = 100;

/** What a `RetentionPruner` runs on. */
export interface RetentionPrunerOptions {
  readonly store: RetentionStore;
  /** Server-wide retention in days; 0 = keep forever (a channel's own setting still applies). */
  readonly days: number;
  /** Between two passes (the first runs at `start`). */
  readonly intervalMs: number;
  /** Most messages per prune statement. */
  readonly batchRows: number;
  /** Pause between two batches. */
  readonly pauseMs: number;
  /** How long the lease holds; renewed after every batch. */
  readonly leaseMs: number;
  /** This pruner's lease owner name (unique per process); default the host name and a random UUID. */
  readonly owner?: string;
  readonly logger?: Logger;
  /** Told how many messages a batch pruned, and of which channel (the metric). */
  readonly onPruned?: (channelId: string, count: number) => void;
  /** The clock (tests). */
  readonly now?: () => number;
}

/** What one pass did; `skipped` when another process held the lease. */
export interface PruneResult {
  readonly skipped: boolean;
  /** Messages pruned. */
  readonly pruned: number;
  /** Channels that lost at least one message. */
  readonly channels: number;
}

/**
 * The retention job: a pass walks every channel (by id, a page at a time), and for each whose
 * retention (its own `retention_days`, else the server's `days`; 0 = forever) is set, prunes
 * the messages sent before now minus that many days in batches of `batchRows` with a pause of
 * `pauseMs` between them, so that no transaction is long and appends take turns. Only the
 * holder of the `retention` lease prunes: one node of a cluster at a time; a node that dies
 * mid-pass lets go when its lease lapses. A pass that fails (the database is down) is logged
 * and the next one starts on time.
 */
export class RetentionPruner {
  readonly #o: RetentionPrunerOptions;
  readonly #owner: string;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<PruneResult> | undefined;
  #closed = false;
  #wakePause: (() => void) | undefined;

  constructor(options: RetentionPrunerOptions) {
    this.#o = options;
    this.#owner = (options.owner ?? `${hostname().slice(0, 27)}-${randomUUID()}`).slice(0, 64);
    this.#now = options.now ?? Date.now;
  }

  /** Runs a pass now, then one every `intervalMs`. */
  start(): void {
    if (this.#closed || this.#timer !== undefined) return;
    const tick = () => {
      this.#timer = undefined;
      this.runOnce()
        .catch((err) => this.#o.logger?.error({ err }, 'retention pass failed'))
        .finally(() => {
          if (this.#closed) return;
          this.#timer = setTimeout(tick, this.#o.intervalMs);
          this.#timer.unref();
        });
    };
    this.#timer = setTimeout(tick, 0);
    this.#timer.unref();
  }

  /** One pass (or the one already running). Rejects with the Store's error. */
  runOnce(): Promise<PruneResult> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Stops the timer; a pass in progress stops after its current batch and gives up its lease. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wakePause?.();
    await this.#running?.catch(() => undefined);
  }

  async #pass(): Promise<PruneResult> {
    const { store, leaseMs } = this.#o;
    if (!(await store.takeLease(RETENTION_LEASE, this.#owner, this.#now(), leaseMs))) {
      return { skipped: true, pruned: 0, channels: 0 };
    }
    let pruned = 0;
    let channels = 0;
    try {
      let after: string | undefined;
      for (;;) {
        const page = await store.retentionChannels(after, CHANNEL_PAGE);
        for (const channel of page) {
          if (this.#closed) return { skipped: false, pruned, channels };
          const days = channel.retentionDays ?? this.#o.days;
          if (!(days > 0)) continue;
          const n = await this.#pruneChannel(channel.id, this.#now() - days * DAY_MS);
          if (n === undefined) return { skipped: false, pruned, channels };
          pruned += n;
          if (n > 0) channels++;
        }
        if (page.length < CHANNEL_PAGE) break;
        after = page.at(-1)?.id;
      }
    } finally {
      await store.releaseLease(RETENTION_LEASE, this.#owner).catch(() => undefined);
    }
    if (pruned > 0) this.#o.logger?.info({ pruned, channels }, 'retention pass pruned messages');
    return { skipped: false, pruned, channels };
  }

  // Prunes one channel batch by batch; undefined when the pass must stop (closed, lease lost).
  async #pruneChannel(channelId: string, olderThan: number): Promise<number | undefined> {
    const { store, batchRows, leaseMs } = this.#o;
    let total = 0;
    for (;;) {
      const n = await store.pruneChannel(channelId, olderThan, batchRows);
      total += n;
      if (n > 0) this.#o.onPruned?.(channelId, n);
      if (n < batchRows) return total;
      await this.#pause();
      if (this.#closed) return undefined;
      // Renewed after every batch: a pass longer than the lease keeps it while it works.
      if (!(await store.takeLease(RETENTION_LEASE, this.#owner, this.#now(), leaseMs))) return undefined;
    }
  }

  #pause(): Promise<void> {
    if (this.#o.pauseMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.#o.pauseMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wakePause = done;
    });
  }
}
