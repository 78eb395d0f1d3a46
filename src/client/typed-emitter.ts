/** A function that removes the listener it was returned for. */
export type Disposer = () => void;

/** A listener of one event of an event map. */
export type Listener<T> = (payload: T) => void;

/**
 * A minimal typed event emitter that runs in the browser and on Node: each event carries one
 * payload whose type the event map names. A listener that throws does not stop the others or
 * the emitter's owner; its error is rethrown on a later microtask, where the runtime reports it
 * as an uncaught error.
 */
export class TypedEmitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();

  /** Calls `listener` on every `event`; returns a disposer that removes it. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): Disposer {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  /** Calls `listener` on the next `event` only; returns a disposer that removes it. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): Disposer {
    const dispose = this.on(event, (payload) => {
      dispose();
      listener(payload);
    });
    return dispose;
  }

  /** Removes `listener` from `event`. */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    set.delete(listener as Listener<never>);
    if (set.size === 0) this.#listeners.delete(event);
  }

  /** The number of listeners of `event`. */
  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  /** Removes every listener of every event. */
  removeAllListeners(): void {
    this.#listeners.clear();
  }

  /** Calls each listener of `event` with `payload`, in the order they were added. */
  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    // A copy, so listeners that add or remove listeners do not change this round.
    for (const listener of [...set] as Listener<Events[K]>[]) {
      try {
        listener(payload);
      } catch (err) {
        // The owner's state must not be left half-updated by a listener's bug.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
