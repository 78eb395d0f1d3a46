/** The bounds of an exponential backoff. */
export interface BackoffBounds {
  /** The ceiling of the first delay. */
  readonly minDelayMs: number;
  /** The ceiling no delay exceeds, however many attempts failed. */
  readonly maxDelayMs: number;
}

/**
 * The delay before retry number `attempt` (0 for the first retry): exponential backoff with
 * full jitter, a uniformly random delay between 0 and `min(maxDelayMs, minDelayMs * 2^attempt)`.
 * Full jitter spreads the reconnects of many clients that lost the same server.
 */
export function backoffDelay(
  attempt: number,
  bounds: BackoffBounds,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(bounds.maxDelayMs, bounds.minDelayMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
