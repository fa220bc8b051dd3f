/**
 * Category counts over the union of the values seen in reference and current, the way
 * Evidently builds its frequency tables (`value_counts` over the non-null key union).
 * Keys come out sorted (numbers numerically, strings by code point, false before true),
 * so sums run in one deterministic order.
 */
import type { CategoryValue } from './sample.js';

export function compareKeys(a: CategoryValue, b: CategoryValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const sa = String(a);
  const sb = String(b);
  // code-point order, as Python sorts str
  const ca = Array.from(sa);
  const cb = Array.from(sb);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const d = ca[i]!.codePointAt(0)! - cb[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return ca.length - cb.length;
}

export function countValues(values: ArrayLike<CategoryValue>): Map<CategoryValue, number> {
  const counts = new Map<CategoryValue, number>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return counts;
}

export interface FrequencyTable {
  /** The union of non-missing values, sorted. */
  keys: CategoryValue[];
  reference: Float64Array;
  current: Float64Array;
}

/** Counts of each key of the union in each sample. */
export function frequencyTable(
  reference: ArrayLike<CategoryValue>,
  current: ArrayLike<CategoryValue>,
): FrequencyTable {
  const ref = countValues(reference);
  const cur = countValues(current);
  const union = new Set<CategoryValue>([...ref.keys(), ...cur.keys()]);
  const keys = [...union].sort(compareKeys);
  return {
    keys,
    reference: Float64Array.from(keys, (k) => ref.get(k) ?? 0),
    current: Float64Array.from(keys, (k) => cur.get(k) ?? 0),
  };
}

/** Number of distinct values in the union of both samples. */
export function uniqueCount(reference: ArrayLike<CategoryValue>, current: ArrayLike<CategoryValue>): number {
  if (reference instanceof Float64Array && current instanceof Float64Array) {
    // numbers: sort a merged copy and count runs (much faster than a Set for millions of rows)
    const merged = new Float64Array(reference.length + current.length);
    merged.set(reference);
    merged.set(current, reference.length);
    merged.sort();
    let count = merged.length > 0 ? 1 : 0;
    for (let i = 1; i < merged.length; i++) if (merged[i] !== merged[i - 1]) count++;
    return count;
  }
  const union = new Set<CategoryValue>();
  for (let i = 0; i < reference.length; i++) union.add(reference[i]!);
  for (let i = 0; i < current.length; i++) union.add(current[i]!);
  return union.size;
}
