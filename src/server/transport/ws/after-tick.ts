/**
 * Work deferred to the end of the current tick, run in one `process.nextTick` for everything
 * queued in that tick instead of one callback each: a delivery that corks 5,000 sockets uncorks
 * them in one loop. Functions run in the order queued; one queued while the queue runs waits
 * for the next run. If some throw, the others still run and the first error is rethrown.
 */
export class AfterTick {
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
   * Runs `fn(arg)` in the next `process.nextTick` pass: after the current callback, or, when
   * pushed from a promise reaction, after the reactions pending with it (a group commit's
   * deliveries).
   */
  push(fn: () => void): void;
  push<A>(fn: (arg: A) => void, arg: A): void;
  push(fn: (arg: unknown) => void, arg?: unknown): void {
    if (this.#queued.push(fn, arg) === 2) process.nextTick(this.#run);
  }
}
