import { nearestRankQuantileSorted } from '@vigil/core';

/**
 * The last `capacity` latencies of one model version, in a fixed ring (no allocation per
 * answer). Quantiles use the nearest-rank method over the values in the ring.
 */
export class LatencyRing {
  readonly #values: Float64Array;
  #next = 0;
  #count = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`latency ring capacity: must be a positive integer, got ${capacity}`);
    }
    this.#values = new Float64Array(capacity);
  }

  /** How many latencies the ring holds (at most its capacity). */
  get size(): number {
    return this.#count;
  }

  add(ms: number): void {
    this.#values[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#values.length;
    if (this.#count < this.#values.length) this.#count++;
  }

  /** Nearest-rank quantile (`q` in [0, 1]) of the held latencies; null when empty. */
  quantile(q: number): number | null {
    if (this.#count === 0) return null;
    return nearestRankQuantileSorted(this.#values.slice(0, this.#count).sort(), q);
  }
}
