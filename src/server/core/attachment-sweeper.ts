import type { FileStore } from '../files/file-store.js';
import type { Store } from '../store/store.js';
import type { ChatObserver } from './chat-observer.js';

/** Rows the sweep handles per round, and rounds per run (the next run goes on). */
const SWEEP_BATCH = 100;
const SWEEP_ROUNDS = 20;

interface SweeperDeps {
  readonly store: Store;
  readonly files: FileStore;
  readonly observer: Pick<ChatObserver, 'error'>;
  /** How long an upload may wait for its message. */
  readonly unattachedTtlMs: number;
  /** How often to sweep. */
  readonly intervalMs: number;
  readonly now?: () => number;
}

/**
 * Removes the files nobody can see any more (issue 16): those of messages that are gone or
 * deleted, by whatever path (a delete, retention, a user's erasure), and uploads never attached
 * within `unattachedTtlMs`. It works from the attachment rows, so it needs no hook in the paths
 * that remove messages: files first, then their rows (a run that dies between the two leaves
 * rows whose files are already gone; the next run deletes them again, which succeeds). Safe
 * on several nodes at once.
 */
export class AttachmentSweeper {
  readonly #d: SweeperDeps;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  #again = false;

  constructor(deps: SweeperDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** Sweeps every `intervalMs` from now on. */
  start(): void {
    this.#timer = setInterval(() => this.kick(), this.#d.intervalMs);
    this.#timer.unref();
  }

  /** Sweeps soon (after a message was deleted here), without waiting for the next interval. */
  kick(): void {
    void this.sweep().catch((err) => this.#d.observer.error(err, 'attachment sweep'));
  }

  /** Runs a sweep now (or after the one in progress); resolves with the attachments removed. */
  sweep(): Promise<number> {
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    const run = this.#run().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.kick();
      }
    });
    this.#running = run;
    return run;
  }

  async #run(): Promise<number> {
    const { store, files } = this.#d;
    let removed = 0;
    for (let round = 0; round < SWEEP_ROUNDS; round++) {
      const stale = await store.staleAttachments({
        unattachedBefore: this.#now() - this.#d.unattachedTtlMs,
        limit: SWEEP_BATCH,
      });
      for (const row of stale) {
        await files.delete(row.fileKey);
        if (row.thumbnailKey !== null) await files.delete(row.thumbnailKey);
      }
      await store.deleteAttachments(stale.map((r) => r.id));
      removed += stale.length;
      if (stale.length < SWEEP_BATCH) break;
    }
    return removed;
  }

  /** Stops the timer (a sweep in progress finishes). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running?.catch(() => undefined);
  }
}
