import { performance } from 'node:perf_hooks';
import { ParleyError } from '../../protocol/error-catalogue.js';

/** Options of a `GroupCommit`. */
export interface GroupCommitOptions<I, O> {
  /**
   * Commits one batch. Resolves with one entry per item, in the items' order: the item's
   * result, or an `Error` that rejects only that item. Rejecting rejects every item of the batch.
   */
  readonly commit: (items: readonly I[]) => Promise<ReadonlyArray<O | Error>>;
  /** Most items committed in one batch; the rest wait for the next. Default 500. */
  readonly maxBatch?: number;
  /** Called after each batch that committed (whatever its per-item results): its size and duration. */
  readonly onBatch?: (size: number, ms: number) => void;
  /** The error that refuses items pushed after `close()`. Default `ParleyError('unavailable')`. */
  readonly closedError?: () => Error;
  /**
   * How long, in ms, a batch waits for more items before it commits, while the queue is busy:
   * only after a batch of at least `COMMIT_DELAY_MIN_BATCH` items, and never once `maxBatch`
   * items are waiting. Fewer, larger commits cost less per item (a commit's fsync and its
   * fixed work are shared by more rows) for at most this much more latency; under light load
   * (small batches) nothing waits. Default 0: never wait (PostgreSQL's `commit_delay` with
   * `commit_siblings`, in spirit).
   */
  readonly delayMs?: number;
}

/** The smallest batch after which `GroupCommitOptions.delayMs` applies to the next one. */
export const COMMIT_DELAY_MIN_BATCH = 16;

/** The default of `GroupCommitOptions.maxBatch`. */
export const DEFAULT_MAX_BATCH = 500;

interface Entry<I, O> {
  readonly item: I;
  readonly resolve: (value: O) => void;
  readonly reject: (error: Error) => void;
}

/**
 * A write queue that commits items in batches (group commit). Everything pushed in the same
 * tick lands in one batch (the flush runs on `setImmediate`), at most `maxBatch` items per
 * batch. Exactly one batch is in flight at a time: items pushed meanwhile wait and form the next
 * batch, so batches commit in push order and a batch grows with the load instead of the number
 * of concurrent transactions. Each `push` settles after its batch's `commit` did.
 */
export class GroupCommit<I, O> {
  readonly #commit: GroupCommitOptions<I, O>['commit'];
  readonly #maxBatch: number;
  readonly #onBatch: GroupCommitOptions<I, O>['onBatch'];
  readonly #closedError: () => Error;
  readonly #delayMs: number;
  /** The size of the last batch flushed (decides whether the next one waits). */
  #lastBatch = 0;
  #pending: Entry<I, O>[] = [];
  #scheduled = false;
  /** The timer of a `delayMs` wait, while one runs. */
  #delay: ReturnType<typeof setTimeout> | undefined;
  #inFlight = false;
  #closed = false;
  #idleWaiters: (() => void)[] = [];

  constructor(options: GroupCommitOptions<I, O>) {
    const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) {
      throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
    }
    this.#commit = options.commit;
    this.#maxBatch = maxBatch;
    this.#onBatch = options.onBatch;
    this.#closedError =
      options.closedError ?? (() => new ParleyError('unavailable', 'the write queue is closed'));
    const delayMs = options.delayMs ?? 0;
    if (!Number.isFinite(delayMs) || delayMs < 0) {
      throw new RangeError(`delayMs must be a non-negative number, got ${delayMs}`);
    }
    this.#delayMs = delayMs;
  }

  /** Items waiting for a batch (not counting the batch in flight). */
  get pending(): number {
    return this.#pending.length;
  }

  /**
   * Queues an item. Resolves with its result once its batch committed; rejects with its own
   * `Error` result, with the batch's error, or at once when the queue is closed.
   */
  push(item: I): Promise<O> {
    if (this.#closed) return Promise.reject(this.#closedError());
    return new Promise<O>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (this.#delay !== undefined && this.#pending.length >= this.#maxBatch) this.#flushNow();
      else this.#schedule();
    });
  }

  /** Ends a `delayMs` wait at once: the batch is full, or the queue is closing. */
  #flushNow(): void {
    clearTimeout(this.#delay);
    this.#delay = undefined;
    // Still #scheduled: nothing else may schedule a flush before this one runs.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  /**
   * Refuses new items, then resolves once every item pushed before has been committed (or
   * failed). Safe to call more than once.
   */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#delay !== undefined) this.#flushNow();
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #isIdle(): boolean {
    return !this.#inFlight && !this.#scheduled && this.#pending.length === 0;
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight || this.#pending.length === 0) return;
    this.#scheduled = true;
    const flush = () => {
      this.#scheduled = false;
      void this.#flush();
    };
    if (
      this.#delayMs > 0 &&
      this.#lastBatch >= COMMIT_DELAY_MIN_BATCH &&
      this.#pending.length < this.#maxBatch &&
      !this.#closed
    ) {
      this.#delay = setTimeout(flush, this.#delayMs);
      return;
    }
    // setImmediate, not a microtask: it runs after the I/O callbacks of this loop turn, so
    // every frame that arrived in the same turn joins the batch.
    setImmediate(flush);
  }

  async #flush(): Promise<void> {
    this.#delay = undefined;
    const batch = this.#pending.splice(0, this.#maxBatch);
    this.#lastBatch = batch.length;
    if (batch.length === 0) return;
    this.#inFlight = true;
    const started = performance.now();
    try {
      const results = await this.#commit(batch.map((entry) => entry.item));
      if (results.length !== batch.length) {
        throw new Error(`commit returned ${results.length} results for ${batch.length} items`);
      }
      this.#report(batch.length, performance.now() - started);
      batch.forEach((entry, i) => {
        const result = results[i] as O | Error;
        if (result instanceof Error) entry.reject(result);
        else entry.resolve(result);
      });
    } catch (error) {
      const reason = error instanceof Error ? error : new Error(String(error));
      for (const entry of batch) entry.reject(reason);
    } finally {
      this.#inFlight = false;
      if (this.#pending.length > 0) {
        this.#schedule();
      } else if (this.#isIdle()) {
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
    }
  }

  #report(size: number, ms: number): void {
    try {
      this.#onBatch?.(size, ms);
    } catch {
      // A metrics hook must not turn a committed batch into failed appends.
    }
  }
}
