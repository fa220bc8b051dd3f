/**
 * Population Stability Index as Evidently computes it: Σ (r − c) · ln(r / c) over its
 * binned shares (see binning.ts) with empty bins filled (10⁻⁴, or min share / 10⁶ when
 * that is ≤ 10⁻⁴). Drift when PSI ≥ threshold (0.1).
 */
import { binnedShares, type DriftColumnType } from './binning.js';
import type { DriftTestResult } from './result.js';
import type { DriftValue } from './sample.js';
import { driftSamples } from './typed-samples.js';

/** PSI of two share vectors (no zero entries). */
export function populationStabilityIndex(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i]!;
    const c = current[i]!;
    sum += (r - c) * Math.log(r / c);
  }
  return sum;
}

/** Evidently's PSI drift test. Missing values are dropped. */
export function psiTest(
  reference: ArrayLike<DriftValue>,
  current: ArrayLike<DriftValue>,
  options: { threshold?: number; columnType?: DriftColumnType } = {},
): DriftTestResult {
  const { ref, cur, columnType, threshold } = driftSamples('psiTest', reference, current, options, 0.1);
  const shares = binnedShares(ref, cur, columnType, { fillZeros: true });
  const statistic = populationStabilityIndex(shares.reference, shares.current);
  return { test: 'psi', kind: 'distance', statistic, threshold, drifted: statistic >= threshold };
}
