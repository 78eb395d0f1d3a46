/**
 * Work deferred to the end of the current tick, run in one `process.nextTick` for everything
 * queued in that tick instead of one callback each: a delivery that corks 5,000 sockets uncorks
 * them in one loop. Functions run in the order queued; one queued while the queue runs waits
 * for the next run. If some throw, the others still run and the first error is rethrown.
 */
export class AfterTick {
  #queued: (() => void)[] = [];
  readonly #run = (): void => {
    const queued = this.#queued;
    this.#queued = [];
    let failure: { readonly error: unknown } | undefined;
    for (const fn of queued) {
      try {
        fn();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== undefined) throw failure.error;
  };

  /**
   * Runs `fn` in the next `process.nextTick` pass: after the current callback, or, when pushed
   * from a promise reaction, after the reactions pending with it (a group commit's deliveries).
   */
  push(fn: () => void): void {
    if (this.#queued.push(fn) === 1) process.nextTick(this.#run);
  }
}
