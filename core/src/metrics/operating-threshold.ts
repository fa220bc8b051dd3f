import { checkBinaryInput, classCounts, tieRuns } from './binary-input.js';

/** Confusion counts and rates at a threshold: a row is predicted positive when score ≥ threshold. */
export interface ThresholdMetrics {
  threshold: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  /** tp / (tp + fp); null when nothing is predicted positive. */
  precision: number | null;
  /** tp / (tp + fn); null when there is no positive. */
  recall: number | null;
  /** tn / (tn + fp); null when there is no negative. */
  specificity: number | null;
}

/** Precision, recall and the confusion counts at `threshold` (score ≥ threshold is positive). */
export function precisionRecallAt(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
): ThresholdMetrics {
  checkBinaryInput('precisionRecallAt', scores, labels);
  if (Number.isNaN(threshold)) throw new RangeError('precisionRecallAt: threshold is NaN');
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const positive = scores[i]! >= threshold;
    if (labels[i] === 1) positive ? tp++ : fn++;
    else positive ? fp++ : tn++;
  }
  return metricsOf(threshold, tp, fp, tn, fn);
}

function metricsOf(threshold: number, tp: number, fp: number, tn: number, fn: number): ThresholdMetrics {
  return {
    threshold,
    tp,
    fp,
    tn,
    fn,
    precision: tp + fp === 0 ? null : tp / (tp + fp),
    recall: tp + fn === 0 ? null : tp / (tp + fn),
    specificity: tn + fp === 0 ? null : tn / (tn + fp),
  };
}

/**
 * The operating threshold for a target recall, chosen on validation rows: the highest
 * of the observed scores whose rule (score ≥ threshold) reaches `recall ≥ targetRecall`,
 * with the metrics it gives there. Recall can only grow as the threshold falls, so this
 * is the most precise-leaning threshold that meets the target. Null when there is no
 * positive.
 */
export function thresholdForRecall(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  targetRecall: number,
): ThresholdMetrics | null {
  checkBinaryInput('thresholdForRecall', scores, labels);
  if (!(targetRecall > 0 && targetRecall <= 1))
    throw new RangeError(`thresholdForRecall: targetRecall must be in (0, 1], got ${targetRecall}`);
  const { positives, negatives } = classCounts(labels);
  if (positives === 0) return null;
  const { order, starts } = tieRuns(scores);
  let tp = 0;
  let fp = 0;
  for (let r = starts.length - 2; r >= 0; r--) {
    for (let k = starts[r]!; k < starts[r + 1]!; k++) labels[order[k]!] === 1 ? tp++ : fp++;
    if (tp / positives >= targetRecall) {
      const threshold = scores[order[starts[r]!]!]!;
      return metricsOf(threshold, tp, fp, negatives - fp, positives - tp);
    }
  }
  /* c8 ignore next */
  throw new Error('thresholdForRecall: unreachable (the lowest score gives recall 1)');
}
