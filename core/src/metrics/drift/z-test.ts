/**
 * Evidently's Z-test for two proportions, its default for columns with at most two
 * distinct values. Each value is coded 0 when it equals the smallest key of the union,
 * else 1; the pooled two-proportion statistic z = (p₁ − p₂) / √(P(1 − P)(1/n₁ + 1/n₂))
 * gives p = 2 (1 − Φ(|z|)), computed in that form (not as 2 Φ(−|z|)), as Evidently does.
 * Both samples constant and equal: p = 1. Drift when p < threshold (0.05).
 */
import { compareKeys } from './frequencies.js';
import type { DriftTestResult } from './result.js';
import { type CategoryValue, categoricalSamples, checkThreshold, type DriftValue } from './sample.js';
import { normalCdf } from './special/erf.js';

function constant(values: CategoryValue[]): CategoryValue | undefined {
  const first = values[0];
  for (const v of values) if (v !== first) return undefined;
  return first;
}

/** The two-sided p-value of Evidently's Z-test on two non-empty samples without missing values. */
export function proportionsZTestPValue(reference: CategoryValue[], current: CategoryValue[]): number {
  const refConstant = constant(reference);
  if (refConstant !== undefined && constant(current) === refConstant) return 1;
  let smallest = reference[0]!;
  for (const v of reference) if (compareKeys(v, smallest) < 0) smallest = v;
  for (const v of current) if (compareKeys(v, smallest) < 0) smallest = v;
  let ones1 = 0;
  for (const v of reference) if (v !== smallest) ones1++;
  let ones2 = 0;
  for (const v of current) if (v !== smallest) ones2++;
  const n1 = reference.length;
  const n2 = current.length;
  const p1 = ones1 / n1;
  const p2 = ones2 / n2;
  const pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  const z = (p1 - p2) / Math.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2));
  return 2 * (1 - normalCdf(Math.abs(z)));
}

/** Evidently's Z-test drift test. Missing values are dropped. */
export function zTest(
  reference: ArrayLike<DriftValue>,
  current: ArrayLike<DriftValue>,
  options: { threshold?: number } = {},
): DriftTestResult {
  const threshold = checkThreshold('zTest', options.threshold ?? 0.05);
  const samples = categoricalSamples('zTest', reference, current);
  const pValue = proportionsZTestPValue(samples.reference, samples.current);
  return { test: 'z', kind: 'p_value', statistic: pValue, threshold, drifted: pValue < threshold };
}
