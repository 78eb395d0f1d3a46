/**
 * A token bucket: `ratePerSecond` tokens refill continuously up to `burst`. Used for every
 * per-connection rate limit.
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  constructor(ratePerSecond: number, burst: number, now: number = Date.now()) {
    this.#rate = ratePerSecond / 1000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#at = now;
  }

  /** Takes one token; false when the bucket is empty. */
  take(now: number = Date.now()): boolean {
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#rate);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** True when the bucket has refilled completely (forgetting it then changes nothing). */
  isFull(now: number = Date.now()): boolean {
    return this.#tokens + (now - this.#at) * this.#rate >= this.#burst;
  }

  /** Milliseconds until the next token. */
  retryAfterMs(): number {
    return Math.max(0, Math.ceil((1 - this.#tokens) / this.#rate));
  }
}
