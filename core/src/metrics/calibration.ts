import { checkBinaryInput, checkProbabilities } from './binary-input.js';

export interface CalibrationBin {
  /** Bin edges: the first bin is [0, upper], the others (lower, upper]. */
  lower: number;
  upper: number;
  /** Rows whose score falls in the bin. */
  count: number;
  /** Mean predicted probability in the bin. */
  meanPredicted: number;
  /** Share of positives in the bin. */
  observedRate: number;
}

export interface CalibrationOptions {
  /** Equal-width bins over [0, 1]. Default 10. */
  bins?: number;
}

/**
 * Reliability curve over equal-width bins of [0, 1], binned exactly as scikit-learn's
 * `calibration_curve(strategy='uniform')` (edges i · (1/bins); a score on an inner edge
 * goes to the lower bin). Only non-empty bins are returned, in ascending order.
 */
export function calibrationCurve(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  options: CalibrationOptions = {},
): CalibrationBin[] {
  const bins = options.bins ?? 10;
  checkBinaryInput('calibrationCurve', scores, labels);
  checkProbabilities('calibrationCurve', scores);
  if (!Number.isInteger(bins) || bins < 1)
    throw new RangeError(`calibrationCurve: bins must be a positive integer, got ${bins}`);
  const step = 1 / bins;
  // numpy's linspace(0, 1, bins + 1): edge i is i * step, the last exactly 1
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? 1 : i * step));
  const sums = new Float64Array(bins);
  const positives = new Float64Array(bins);
  const counts = new Float64Array(bins);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    // searchsorted(inner edges, s, side='left'): the number of inner edges strictly below s
    let lo = 0;
    let hi = bins - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (edges[mid + 1]! < s) lo = mid + 1;
      else hi = mid;
    }
    sums[lo]! += s;
    positives[lo]! += labels[i]!;
    counts[lo]!++;
  }
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    if (counts[b] === 0) continue;
    out.push({
      lower: edges[b]!,
      upper: edges[b + 1]!,
      count: counts[b]!,
      meanPredicted: sums[b]! / counts[b]!,
      observedRate: positives[b]! / counts[b]!,
    });
  }
  return out;
}

/**
 * Expected calibration error over equal-width bins (default 10), as commonly defined:
 * Σ_bins (|bin| / n) · |mean predicted − observed positive rate|, with the bins of
 * {@link calibrationCurve}.
 */
export function expectedCalibrationError(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  options: CalibrationOptions = {},
): number {
  if (scores.length === 0) throw new RangeError('expectedCalibrationError: no rows');
  return calibrationErrorOf(calibrationCurve(scores, labels, options), scores.length);
}

/** ECE of a curve already computed over `rows` rows (the same sum as expectedCalibrationError). */
export function calibrationErrorOf(curve: readonly CalibrationBin[], rows: number): number {
  let ece = 0;
  for (const bin of curve) ece += (bin.count / rows) * Math.abs(bin.meanPredicted - bin.observedRate);
  return ece;
}
