import type { ParleyClientError } from './parley-client-error.js';

/** A timer handle of the runtime (a number in browsers, an object on Node). */
export type Timer = ReturnType<typeof setTimeout>;

/**
 * The timers of one client, so that closing it leaves none behind: every timer it starts, and
 * every `sleep` still waiting, which `wakeAll` rejects instead of leaving it pending forever.
 */
export class TimerSet {
  readonly #timers = new Set<Timer>();
  readonly #sleepers = new Set<(error: ParleyClientError) => void>();

  /** Calls `fn` after `ms` unless cancelled first. */
  after(ms: number, fn: () => void): Timer {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
    return timer;
  }

  /** Cancels `timer` (nothing when undefined or already run). */
  cancel(timer: Timer | undefined): void {
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#timers.delete(timer);
  }

  /** Waits `ms`; rejects with the close error if the client closes first. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = (error: ParleyClientError) => reject(error);
      this.#sleepers.add(wake);
      this.after(ms, () => {
        this.#sleepers.delete(wake);
        resolve();
      });
    });
  }

  /** Cancels every timer; a `sleep` whose timer this cancels waits for `wakeAll`. */
  cancelAll(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  /** Rejects every `sleep` still waiting with `error`. */
  wakeAll(error: ParleyClientError): void {
    const sleepers = [...this.#sleepers];
    this.#sleepers.clear();
    for (const wake of sleepers) wake(error);
  }
}
