import type { ScalarValue } from '@vigil/core';
import type { WindowFeature } from './feature-definitions.js';

interface Reading {
  /** Epoch milliseconds. */
  ts: number;
  measure: string;
  value: number;
}

/**
 * The recent measurements of one entity for one windowed view, kept in timestamp order,
 * from which every window feature is computed at a given time exactly as the batch SQL
 * does: the readings of the feature's measure with `t - window <= ts <= t`.
 */
export class WindowState {
  readonly #features: readonly WindowFeature[];
  readonly #horizonMs: number;
  readonly #readings: Reading[] = [];
  #latest = Number.NEGATIVE_INFINITY;

  constructor(features: readonly WindowFeature[]) {
    this.#features = features;
    this.#horizonMs = Math.max(...features.map((f) => f.windowSeconds)) * 1000;
  }

  get latest(): number {
    return this.#latest;
  }

  /** Add a reading (late ones land in timestamp order) and forget those no future window can reach. */
  add(ts: number, measure: string, value: number): void {
    let i = this.#readings.length;
    while (i > 0 && this.#readings[i - 1]!.ts > ts) i--;
    this.#readings.splice(i, 0, { ts, measure, value });
    if (ts > this.#latest) this.#latest = ts;
    const oldest = this.#latest - this.#horizonMs;
    let drop = 0;
    while (drop < this.#readings.length && this.#readings[drop]!.ts < oldest) drop++;
    if (drop > 0) this.#readings.splice(0, drop);
  }

  /** Every feature's value at time `t` (epoch ms), in the features' order. */
  valuesAt(t: number): ScalarValue[] {
    return this.#features.map((f) => {
      const from = t - f.windowSeconds * 1000;
      const xs: number[] = [];
      for (const r of this.#readings) if (r.measure === f.of && r.ts >= from && r.ts <= t) xs.push(r.value);
      return aggregate(f.fn, xs);
    });
  }
}

function aggregate(fn: WindowFeature['fn'], xs: readonly number[]): ScalarValue {
  if (fn === 'count') return xs.length;
  if (xs.length === 0) return null;
  switch (fn) {
    case 'mean':
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    case 'variance': {
      if (xs.length < 2) return null;
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      return xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
    }
    case 'min':
      return Math.min(...xs);
    case 'max':
      return Math.max(...xs);
    case 'last':
      return xs[xs.length - 1]!;
  }
}
