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
 * from which every feature is computed at a given time `t` exactly as the batch SQL does,
 * from the readings with `ts <= t` only. Readings older than the longest window are
 * forgotten; what the unbounded transforms need is kept aside: the newest forgotten reading
 * of each measure (latest value, time since, static covariates) and the readings of each
 * baseline period (bounded: the first `period` after the entity's first reading).
 * A reading that arrives later than the longest window after the newest one is judged
 * against what is kept, which may differ from a batch rebuild.
 */
export class WindowState {
  readonly #features: readonly WindowFeature[];
  readonly #horizonMs: number;
  readonly #readings: Reading[] = [];
  readonly #forgotten = new Map<string, Reading>();
  readonly #baselines = new Map<string, { periodMs: number; readings: Reading[] }>();
  #latest = Number.NEGATIVE_INFINITY;

  constructor(features: readonly WindowFeature[]) {
    this.#features = features;
    this.#horizonMs = Math.max(0, ...features.map((f) => f.windowSeconds)) * 1000;
    for (const f of features) {
      if (f.kind !== 'baseline') continue;
      const periodMs = f.baselineSeconds! * 1000;
      const key = `${f.of}\u0000${periodMs}`;
      if (!this.#baselines.has(key)) this.#baselines.set(key, { periodMs, readings: [] });
    }
  }

  get latest(): number {
    return this.#latest;
  }

  /** Add a reading (late ones land in timestamp order) and forget those no future window can reach. */
  add(ts: number, measure: string, value: number): void {
    const reading = { ts, measure, value };
    let i = this.#readings.length;
    while (i > 0 && this.#readings[i - 1]!.ts > ts) i--;
    this.#readings.splice(i, 0, reading);
    if (ts > this.#latest) this.#latest = ts;
    const oldest = this.#latest - this.#horizonMs;
    let drop = 0;
    while (drop < this.#readings.length && this.#readings[drop]!.ts < oldest) {
      const r = this.#readings[drop]!;
      const kept = this.#forgotten.get(r.measure);
      if (!kept || kept.ts <= r.ts) this.#forgotten.set(r.measure, r);
      drop++;
    }
    if (drop > 0) this.#readings.splice(0, drop);
    for (const [key, baseline] of this.#baselines) {
      if (!key.startsWith(`${measure}\u0000`)) continue;
      const list = baseline.readings;
      let j = list.length;
      while (j > 0 && list[j - 1]!.ts > ts) j--;
      list.splice(j, 0, reading);
      // Only the first period after the first reading is ever needed.
      const end = list[0]!.ts + baseline.periodMs;
      while (list.length > 0 && list[list.length - 1]!.ts >= end) list.pop();
    }
  }

  /** Every feature's value at time `t` (epoch ms), in the features' order. */
  valuesAt(t: number): ScalarValue[] {
    const values = new Map<string, ScalarValue>();
    return this.#features.map((f) => {
      const v = this.#valueAt(f, t, values);
      values.set(f.name, v);
      return v;
    });
  }

  #window(of: string, t: number, seconds: number): Reading[] {
    const from = t - seconds * 1000;
    return this.#readings.filter((r) => r.measure === of && r.ts >= from && r.ts <= t);
  }

  /** The latest reading of a measure at or before `t`. */
  #last(of: string, t: number): Reading | undefined {
    for (let i = this.#readings.length - 1; i >= 0; i--) {
      const r = this.#readings[i]!;
      if (r.measure === of && r.ts <= t) return r;
    }
    const kept = this.#forgotten.get(of);
    return kept && kept.ts <= t ? kept : undefined;
  }

  #current(f: WindowFeature, t: number): number | null {
    if (f.windowSeconds > 0)
      return aggregate(
        f.fn,
        this.#window(f.of, t, f.windowSeconds).map((r) => r.value),
      ) as number | null;
    return this.#last(f.of, t)?.value ?? null;
  }

  #valueAt(f: WindowFeature, t: number, earlier: ReadonlyMap<string, ScalarValue>): ScalarValue {
    switch (f.kind) {
      case 'window':
        return aggregate(
          f.fn,
          this.#window(f.of, t, f.windowSeconds).map((r) => r.value),
        );
      case 'baseline': {
        const now = this.#current(f, t);
        const baseline = this.#baselines.get(`${f.of}\u0000${f.baselineSeconds! * 1000}`)!;
        const xs = baseline.readings.filter((r) => r.ts <= t).map((r) => r.value);
        if (now === null || xs.length === 0) return null;
        return now - xs.reduce((a, b) => a + b, 0) / xs.length;
      }
      case 'rate': {
        const xs = this.#window(f.of, t, f.windowSeconds);
        if (xs.length < 2) return null;
        const first = xs[0]!;
        const last = xs[xs.length - 1]!;
        const dt = last.ts - first.ts;
        if (dt === 0) return null;
        return (last.value - first.value) / (dt / (f.perSeconds! * 1000));
      }
      case 'threshold': {
        const now = this.#current(f, t);
        if (now === null) return 0;
        return (f.threshold!.op === '>' ? now > f.threshold!.value : now < f.threshold!.value) ? 1 : 0;
      }
      case 'interaction': {
        const [a, b] = f.operands!.map((name) => earlier.get(name));
        return typeof a === 'number' && typeof b === 'number' ? a * b : null;
      }
      case 'missing':
        return this.#window(f.of, t, f.windowSeconds).length === 0 ? 1 : 0;
      case 'since': {
        const last = this.#last(f.of, t);
        return last ? (t - last.ts) / (f.unitSeconds! * 1000) : null;
      }
      case 'static':
        return this.#last(f.of, t)?.value ?? null;
    }
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
