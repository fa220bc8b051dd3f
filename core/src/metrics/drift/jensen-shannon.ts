/**
 * Jensen–Shannon distance (scipy's `spatial.distance.jensenshannon`): both vectors are
 * normalised to sum 1, m = (p + q)/2, JS = √((KL(p‖m) + KL(q‖m)) / 2), natural log unless
 * `base` is given. Evidently's drift test applies it to its binned shares (see binning.ts)
 * with the natural log and drifts when the distance ≥ threshold (0.1).
 */
import { binnedShares, type DriftColumnType } from './binning.js';
import type { DriftTestResult } from './result.js';
import type { DriftValue } from './sample.js';
import { driftSamples } from './typed-samples.js';

function relativeEntropy(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Number.POSITIVE_INFINITY;
}

/** scipy's `jensenshannon(p, q, base)`. */
export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>, base?: number): number {
  const n = p.length;
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    sp += p[i]!;
    sq += q[i]!;
  }
  let left = 0;
  let right = 0;
  for (let i = 0; i < n; i++) {
    const pi = p[i]! / sp;
    const qi = q[i]! / sq;
    const m = (pi + qi) / 2.0;
    left += relativeEntropy(pi, m);
    right += relativeEntropy(qi, m);
  }
  let js = left + right;
  if (base !== undefined) js /= Math.log(base);
  return Math.sqrt(js / 2.0);
}

/** Evidently's Jensen–Shannon drift test. Missing values are dropped. */
export function jensenShannonTest(
  reference: ArrayLike<DriftValue>,
  current: ArrayLike<DriftValue>,
  options: { threshold?: number; columnType?: DriftColumnType } = {},
): DriftTestResult {
  const { ref, cur, columnType, threshold } = driftSamples(
    'jensenShannonTest',
    reference,
    current,
    options,
    0.1,
  );
  const shares = binnedShares(ref, cur, columnType);
  const statistic = jensenShannonDistance(shares.reference, shares.current);
  return { test: 'jensenshannon', kind: 'distance', statistic, threshold, drifted: statistic >= threshold };
}
