import type { Message } from '../protocol/frames.js';

/**
 * The delivery order of one channel: turns messages that arrive late, twice or out of order
 * into a stream strictly ascending by `seq` with each seq once. Messages ahead of the next
 * expected seq wait in a buffer until the gap before them is filled; `needsFill` says when
 * the caller should fetch the missing ones (history after `lastSeq`). No I/O.
 */
export class ChannelStream {
  #lastSeq: number;
  #target: number;
  readonly #buffer = new Map<number, Message>();

  /** Starts a stream whose next expected message is `lastSeq + 1`. */
  constructor(lastSeq = 0) {
    this.#lastSeq = lastSeq;
    this.#target = lastSeq;
  }

  /** The seq of the last message delivered (or the starting point). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** The highest seq known to exist; above `lastSeq` while a gap is open. */
  get target(): number {
    return this.#target;
  }

  /** The number of messages waiting for a gap before them to be filled. */
  get buffered(): number {
    return this.#buffer.size;
  }

  /** True while messages between `lastSeq` and `target` are missing. */
  get needsFill(): boolean {
    return this.#lastSeq < this.#target;
  }

  /**
   * Moves the starting point to `lastSeq` (after a fresh subscribe or a reset). Buffered
   * messages at or below it are dropped; those above it are kept.
   */
  restart(lastSeq: number): void {
    this.#lastSeq = lastSeq;
    this.#target = lastSeq;
    for (const seq of this.#buffer.keys()) {
      if (seq <= lastSeq) this.#buffer.delete(seq);
      else this.#target = Math.max(this.#target, seq);
    }
  }

  /**
   * Keeps `message` for later without delivering anything (while a subscribe is in flight):
   * even a seq at or below `lastSeq` is kept, since a reset may move the position back.
   */
  hold(message: Message): void {
    this.#buffer.set(message.seq, message);
  }

  /** Drops every held message (a resubscribe replays them). */
  clear(): void {
    this.#buffer.clear();
    this.#target = this.#lastSeq;
  }

  /** Records that messages up to `seq` exist, so a gap up to it must be filled. */
  expect(seq: number): void {
    this.#target = Math.max(this.#target, seq);
  }

  /**
   * Takes messages in any order and returns those now deliverable, ascending and each once:
   * duplicates (seq at or below `lastSeq`) are dropped, messages after a gap wait.
   */
  accept(messages: readonly Message[]): Message[] {
    for (const message of messages) {
      if (message.seq > this.#lastSeq) this.#buffer.set(message.seq, message);
    }
    // Held messages count too: they may be duplicates now, or mark a gap.
    for (const seq of this.#buffer.keys()) {
      if (seq <= this.#lastSeq) this.#buffer.delete(seq);
      else this.#target = Math.max(this.#target, seq);
    }
    return this.#drain();
  }

  /**
   * Gives up on the current gap: continues from the first buffered message (or, with none,
   * forgets the missing range) and returns what is then deliverable.
   */
  skipGap(): Message[] {
    let next = Number.POSITIVE_INFINITY;
    for (const seq of this.#buffer.keys()) next = Math.min(next, seq);
    if (next === Number.POSITIVE_INFINITY) {
      this.#lastSeq = this.#target;
      return [];
    }
    this.#lastSeq = next - 1;
    return this.#drain();
  }

  #drain(): Message[] {
    const out: Message[] = [];
    for (
      let next = this.#buffer.get(this.#lastSeq + 1);
      next !== undefined;
      next = this.#buffer.get(this.#lastSeq + 1)
    ) {
      this.#buffer.delete(next.seq);
      this.#lastSeq = next.seq;
      out.push(next);
    }
    return out;
  }
}
