/**
 * Work deferred until the event loop has run the I/O callbacks it polled, run in one
 * `setImmediate` for everything queued in that turn instead of one callback each: a delivery
 * that corks 5,000 sockets uncorks them in one loop, and fifty connections closing in one poll
 * (each leave a presence event to the same room of 100) leave each socket in one write, not
 * fifty. Functions run in the order queued; one queued while the queue runs waits for the next
 * run. If some throw, the others still run and the first error is rethrown.
 */
export class AfterPoll {
  // Function and argument, flat: a shared function with its argument costs no closure per item
  // (an idle connection kept one just to be uncorked).
  #queued: unknown[] = [];
  readonly #run = (): void => {
    const queued = this.#queued;
    this.#queued = [];
    let failure: { readonly error: unknown } | undefined;
    for (let i = 0; i < queued.length; i += 2) {
      try {
        (queued[i] as (arg: unknown) => void)(queued[i + 1]);
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== undefined) throw failure.error;
  };

  /**
   * Runs `fn(arg)` in the next check phase: after the current callback, the promise reactions
   * pending with it (a group commit's deliveries) and the other I/O callbacks of this poll.
   */
  push(fn: () => void): void;
  push<A>(fn: (arg: A) => void, arg: A): void;
  push(fn: (arg: unknown) => void, arg?: unknown): void {
    if (this.#queued.push(fn, arg) === 2) setImmediate(this.#run);
  }
}
