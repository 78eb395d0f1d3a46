/**
 * At most `size` holders at a time; the others wait, first come first served. `acquire` returns
 * undefined when a slot is free at once (no promise made), else a promise of the slot.
 */
export class Slots {
  #free: number;
  #waiting: (() => void)[] = [];
  #head = 0;

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size < 1)
      throw new RangeError(`slots: ${size} is not a positive integer`);
    this.#free = size;
  }

  /** Holders waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  acquire(): Promise<void> | undefined {
    if (this.#free > 0) {
      this.#free--;
      return undefined;
    }
    return new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  /** Gives the slot to the longest waiting holder, or back. Call once per slot acquired. */
  release(): void {
    if (this.#head < this.#waiting.length) {
      const next = this.#waiting[this.#head] as () => void;
      this.#waiting[this.#head++] = undefined as unknown as () => void;
      // Compact now and then: the queue's front is read, never spliced.
      if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
        this.#waiting = this.#waiting.slice(this.#head);
        this.#head = 0;
      }
      next();
    } else {
      this.#free++;
    }
  }
}
