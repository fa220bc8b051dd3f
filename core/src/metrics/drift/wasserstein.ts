/**
 * First Wasserstein distance between two empirical distributions (scipy's
 * `stats.wasserstein_distance`): ∫ |F_u − F_v|, summed over the gaps between the merged
 * sorted values. Evidently's drift test norms it by the reference's population standard
 * deviation, floored at 0.001, and drifts when the normed distance ≥ threshold (0.1).
 */
import type { DriftTestResult } from './result.js';
import { checkThreshold, type DriftValue, numericSample } from './sample.js';

/** scipy's `wasserstein_distance(u, v)` for unweighted, non-empty samples. */
export function wassersteinDistance(u: ArrayLike<number>, v: ArrayLike<number>): number {
  const a = Float64Array.from(u).sort();
  const b = Float64Array.from(v).sort();
  const na = a.length;
  const nb = b.length;
  let i = 0;
  let j = 0;
  let sum = 0;
  let compensation = 0;
  // walk the merged values; between consecutive ones both CDFs are constant
  let x = Math.min(a[0]!, b[0]!);
  while (i < na || j < nb) {
    while (i < na && a[i]! <= x) i++;
    while (j < nb && b[j]! <= x) j++;
    if (i === na && j === nb) break;
    const next = j >= nb || (i < na && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    const term = Math.abs(i / na - j / nb) * (next - x);
    // Neumaier summation
    const t = sum + term;
    compensation += Math.abs(sum) >= Math.abs(term) ? sum - t + term : term - t + sum;
    sum = t;
    x = next;
  }
  return sum + compensation;
}

/** Population (ddof 0) standard deviation. */
export function populationStd(values: ArrayLike<number>): number {
  const n = values.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (values[i]! - mean) ** 2;
  return Math.sqrt(squares / n);
}

/** Evidently's Wasserstein drift test: distance / max(std(reference), 0.001). Missing values are dropped. */
export function wassersteinTest(
  reference: ArrayLike<DriftValue>,
  current: ArrayLike<DriftValue>,
  options: { threshold?: number } = {},
): DriftTestResult {
  const threshold = checkThreshold('wassersteinTest', options.threshold ?? 0.1);
  const ref = numericSample('wassersteinTest', 'reference', reference);
  const cur = numericSample('wassersteinTest', 'current', current);
  const norm = Math.max(populationStd(ref), 0.001);
  const statistic = wassersteinDistance(ref, cur) / norm;
  return { test: 'wasserstein', kind: 'distance', statistic, threshold, drifted: statistic >= threshold };
}
