/**
 * Pearson's chi-square goodness-of-fit test (scipy's `stats.chisquare`) and Evidently's
 * chi-square drift test built on it: over the union of values seen in either sample,
 * observed = current counts, expected = reference counts × n_current / n_reference.
 * A value the reference never saw has expected 0, so the statistic is infinite and
 * p = 0 (drift). Degrees of freedom: keys − 1. Drift when p < threshold (0.05).
 */
import { VigilError } from '../../errors.js';
import { frequencyTable } from './frequencies.js';
import type { DriftTestResult } from './result.js';
import { categoricalSamples, checkThreshold, type DriftValue } from './sample.js';
import { chiSquareSf } from './special/gamma.js';

export interface ChiSquareResult {
  statistic: number;
  pValue: number;
  /** Degrees of freedom: categories − 1 − ddof. */
  df: number;
}

const SUM_TOLERANCE = Math.sqrt(2.220446049250313e-16);

/**
 * scipy's `chisquare(observed, expected, ddof)`: Σ (o − e)² / e and its chi-square tail
 * with k − 1 − ddof degrees of freedom. Without `expected`, each category expects the
 * mean count. As scipy does, the two must have the same total (relative 1.5e-8).
 */
export function chiSquare(
  observed: ArrayLike<number>,
  expected?: ArrayLike<number>,
  ddof = 0,
): ChiSquareResult {
  const k = observed.length;
  if (expected !== undefined && expected.length !== k)
    throw new VigilError(
      'VIGIL_DRIFT_INVALID_INPUT',
      `chiSquare: ${k} observed counts but ${expected.length} expected counts`,
      { details: { argument: 'expected' } },
    );
  let observedSum = 0;
  for (let i = 0; i < k; i++) observedSum += observed[i]!;
  let exp: ArrayLike<number>;
  if (expected === undefined) {
    exp = new Float64Array(k).fill(observedSum / k);
  } else {
    let expectedSum = 0;
    for (let i = 0; i < k; i++) expectedSum += expected[i]!;
    const gap = Math.abs(observedSum - expectedSum) / Math.min(observedSum, expectedSum);
    if (gap > SUM_TOLERANCE)
      throw new VigilError(
        'VIGIL_DRIFT_INVALID_INPUT',
        `chiSquare: expected counts sum to ${expectedSum} but observed counts to ${observedSum}; they must agree (relative ${SUM_TOLERANCE.toPrecision(3)}), as scipy requires`,
        { details: { argument: 'expected' } },
      );
    exp = expected;
  }
  let statistic = 0;
  for (let i = 0; i < k; i++) {
    const d = observed[i]! - exp[i]!;
    statistic += (d * d) / exp[i]!;
  }
  const df = k - 1 - ddof;
  return { statistic, pValue: chiSquareSf(statistic, df), df };
}

/** Evidently's chi-square drift test on two categorical samples. Missing values are dropped. */
export function chiSquareTest(
  reference: ArrayLike<DriftValue>,
  current: ArrayLike<DriftValue>,
  options: { threshold?: number } = {},
): DriftTestResult {
  const threshold = checkThreshold('chiSquareTest', options.threshold ?? 0.05);
  const samples = categoricalSamples('chiSquareTest', reference, current);
  const table = frequencyTable(samples.reference, samples.current);
  const scale = samples.current.length / samples.reference.length;
  const expected = table.reference.map((c) => c * scale);
  const { pValue } = chiSquare(table.current, expected);
  return { test: 'chisquare', kind: 'p_value', statistic: pValue, threshold, drifted: pValue < threshold };
}
