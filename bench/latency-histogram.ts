const FINE_US = 50;
const FINE_BUCKETS = 2000; // 50 µs steps up to 100 ms
const COARSE_US = 1000;
const COARSE_BUCKETS = 60_000; // 1 ms steps up to 60 s

/**
 * A fixed-bucket latency histogram: 50 µs resolution up to 100 ms, 1 ms up to 60 s; one
 * array index per sample, no allocation. Serializable (sparse) to cross a process boundary.
 */
export class LatencyHistogram {
  readonly #counts = new Uint32Array(FINE_BUCKETS + COARSE_BUCKETS);
  count = 0;
  maxUs = 0;

  record(us: number): void {
    const v = Math.max(us, 0);
    const i =
      v < FINE_US * FINE_BUCKETS
        ? Math.floor(v / FINE_US)
        : Math.min(
            FINE_BUCKETS + Math.floor((v - FINE_US * FINE_BUCKETS) / COARSE_US),
            this.#counts.length - 1,
          );
    this.#counts[i]!++;
    this.count++;
    if (v > this.maxUs) this.maxUs = v;
  }

  /** The value (ms) below which `q` (0–1) of the samples lie; the bucket's upper edge. */
  quantileMs(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(upperEdgeUs(i), this.maxUs) / 1000;
    }
    return this.maxUs / 1000;
  }

  /** Adds another histogram's samples to this one. */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < this.#counts.length; i++) this.#counts[i]! += other.#counts[i]!;
    this.count += other.count;
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
  }

  /** The histogram as `[bucket, count]` pairs plus totals. */
  toJSON(): SerializedHistogram {
    const buckets: [number, number][] = [];
    for (let i = 0; i < this.#counts.length; i++)
      if (this.#counts[i]! > 0) buckets.push([i, this.#counts[i]!]);
    return { count: this.count, maxUs: this.maxUs, buckets };
  }

  static fromJSON(s: SerializedHistogram): LatencyHistogram {
    const h = new LatencyHistogram();
    for (const [i, n] of s.buckets) h.#counts[i] = n;
    h.count = s.count;
    h.maxUs = s.maxUs;
    return h;
  }
}

/** A histogram in transit. */
export interface SerializedHistogram {
  readonly count: number;
  readonly maxUs: number;
  readonly buckets: readonly (readonly [number, number])[];
}

function upperEdgeUs(i: number): number {
  return i < FINE_BUCKETS ? (i + 1) * FINE_US : FINE_US * FINE_BUCKETS + (i - FINE_BUCKETS + 1) * COARSE_US;
}
