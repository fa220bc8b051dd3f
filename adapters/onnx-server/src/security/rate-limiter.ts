/**
 * Token buckets per client (an API key's name, or the client address when anonymous):
 * `burst` tokens at most, refilled at `perSecond`; a request takes one token. Buckets that
 * are full again are dropped when the table grows past `maxClients`, so the table stays
 * bounded whatever addresses call.
 */
export class RateLimiter {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #maxClients: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(options: { perSecond: number; burst: number; now?: () => number; maxClients?: number }) {
    this.#perSecond = options.perSecond;
    this.#burst = options.burst;
    this.#now = options.now ?? (() => performance.now());
    this.#maxClients = options.maxClients ?? 10_000;
  }

  /** How many clients the table tracks. */
  get clients(): number {
    return this.#buckets.size;
  }

  /** Take a token for `client`: 0 when allowed, else the seconds to wait before the next token. */
  take(client: string): number {
    const now = this.#now();
    let bucket = this.#buckets.get(client);
    if (!bucket) {
      if (this.#buckets.size >= this.#maxClients) this.#sweep(now);
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(client, bucket);
    } else {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#perSecond);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return (1 - bucket.tokens) / this.#perSecond;
  }

  #sweep(now: number): void {
    for (const [client, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.#perSecond >= this.#burst) this.#buckets.delete(client);
    }
    // Still full of clients that are all spending: drop the oldest entries.
    if (this.#buckets.size >= this.#maxClients) {
      const drop = this.#buckets.size - this.#maxClients + 1;
      let i = 0;
      for (const client of this.#buckets.keys()) {
        if (i++ >= drop) break;
        this.#buckets.delete(client);
      }
    }
  }
}
