import { classifyDatabaseError } from './classify-database-error.js';
import { DatabaseOutageError } from './database-outage-error.js';

/** What a `DatabaseHealth` believes of its database (see `DatabaseHealth`). */
export type DatabaseState = 'up' | 'checking' | 'down';

/** Options of a `DatabaseHealth`. */
export interface DatabaseHealthOptions {
  /**
   * Asks the database a trivial question (`select 1`); resolves once it answered. It must
   * settle in bounded time: the pool's deadlines bound it.
   */
  readonly probe: () => Promise<unknown>;
  /** The pause between two probes while the database is down. Default 1000 ms. */
  readonly probeIntervalMs?: number;
}

/** The default of `DatabaseHealthOptions.probeIntervalMs`. */
export const DEFAULT_PROBE_INTERVAL_MS = 1000;

/**
 * What a store knows of its database's reachability, so that during an outage each call costs
 * one quick `unavailable` instead of a timeout of its own, and so that the store notices by
 * itself when the database is back:
 * - `up`: calls run;
 * - `checking`: a call failed the way an outage does (`classifyDatabaseError` says
 *   `unavailable`); one probe runs, and new calls wait for its verdict, so that one lost
 *   connection (say one the server closed while idle) costs them a round trip, not an error;
 * - `down`: the probe failed; new calls fail at once with
 *   `DatabaseOutageError('PARLEY_DB_DOWN')`, and a probe runs every `probeIntervalMs` until
 *   one is answered, which makes it `up` again.
 *
 * Calls already running are never cut short: their own deadlines end them.
 */
export class DatabaseHealth {
  readonly #probe: () => Promise<unknown>;
  readonly #intervalMs: number;
  #state: DatabaseState = 'up';
  /** Settles when the probe of `checking` has decided. */
  #verdict: Promise<void> = Promise.resolve();
  /** The error that started the outage, or the last probe's. */
  #cause: unknown;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: DatabaseHealthOptions) {
    const intervalMs = options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    if (!Number.isInteger(intervalMs) || intervalMs < 1) {
      throw new RangeError(`probeIntervalMs must be a positive integer, got ${intervalMs}`);
    }
    this.#probe = options.probe;
    this.#intervalMs = intervalMs;
  }

  /** What it believes now. */
  get state(): DatabaseState {
    return this.#state;
  }

  /**
   * Runs `fn` (a call to the database) unless the database is known to be down, and watches
   * its failure: one that looks like an outage starts a check. Rejects with what `fn` threw, or
   * with `DatabaseOutageError('PARLEY_DB_DOWN')` without running it.
   */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#state === 'checking') await this.#verdict;
    if (this.#state === 'down') {
      throw new DatabaseOutageError('PARLEY_DB_DOWN', 'the database is unreachable', { cause: this.#cause });
    }
    try {
      return await fn();
    } catch (error) {
      if (classifyDatabaseError(error) === 'unavailable') this.#suspect(error);
      throw error;
    }
  }

  /** Stops probing. Calls still go by the last verdict; the store refuses them anyway. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #suspect(cause: unknown): void {
    if (this.#closed || this.#state !== 'up') return;
    this.#state = 'checking';
    this.#cause = cause;
    this.#verdict = this.#ask().then((answered) => {
      this.#state = answered ? 'up' : 'down';
      if (!answered) this.#schedule();
    });
  }

  /**
   * The next probe while down. Not a loop of its own: one timer at a time, each probe bounded
   * by the pool's deadlines, until one is answered or `close()`.
   */
  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#ask().then((answered) => {
        if (answered) this.#state = 'up';
        else this.#schedule();
      });
    }, this.#intervalMs);
    // A probe waiting for its turn must not keep a finished process alive.
    this.#timer.unref();
  }

  /** True when the probe was answered; never rejects. */
  async #ask(): Promise<boolean> {
    try {
      await this.#probe();
      return true;
    } catch (error) {
      this.#cause = error;
      return false;
    }
  }
}
