import { checkBinaryInput, classCounts, tieRuns } from './binary-input.js';

/**
 * Area under the precision–recall curve as average precision, the way scikit-learn's
 * `average_precision_score` computes it: Σₙ (Rₙ − Rₙ₋₁) · Pₙ over the distinct score
 * thresholds from the highest down (a tie enters as one step; no interpolation). Null
 * when there is no positive.
 */
export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  checkBinaryInput('averagePrecision', scores, labels);
  const { positives } = classCounts(labels);
  if (positives === 0) return null;
  const { order, starts } = tieRuns(scores);
  let tp = 0;
  let predicted = 0;
  let previousRecall = 0;
  let ap = 0;
  for (let r = starts.length - 2; r >= 0; r--) {
    for (let k = starts[r]!; k < starts[r + 1]!; k++) {
      predicted++;
      if (labels[order[k]!] === 1) tp++;
    }
    const recall = tp / positives;
    ap += (recall - previousRecall) * (tp / predicted);
    previousRecall = recall;
  }
  return ap;
}
