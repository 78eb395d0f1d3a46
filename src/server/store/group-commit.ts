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
}

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
  #pending: Entry<I, O>[] = [];
  #scheduled = false;
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
      this.#schedule();
    });
  }

  /**
   * Refuses new items, then resolves once every item pushed before has been committed (or
   * failed). Safe to call more than once.
   */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #isIdle(): boolean {
    return !this.#inFlight && !this.#scheduled && this.#pending.length === 0;
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight || this.#pending.length === 0) return;
    this.#scheduled = true;
    // setImmediate, not a microtask: it runs after the I/O callbacks of this loop turn, so
    // every frame that arrived in the same turn joins the batch.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#pending.splice(0, this.#maxBatch);
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
