import { auroc, type Evaluation } from '@vigil/core';

export interface LabelledScore {
  score: number;
  /** Undefined while no outcome has arrived. */
  label: 0 | 1 | undefined;
}

/**
 * Quality of a set of predictions: AUROC (rank sum, ties half credit), precision and
 * recall with `score >= threshold` as positive, Brier score over the labelled ones, and
 * the mean score over all of them. A ratio whose denominator is zero is null.
 */
export function evaluateScores(items: readonly LabelledScore[], threshold: number): Evaluation {
  const scores: number[] = [];
  const labels: number[] = [];
  let scoreSum = 0;
  let truePositives = 0;
  let falsePositives = 0;
  let squaredError = 0;
  for (const { score, label } of items) {
    scoreSum += score;
    if (label === undefined) continue;
    scores.push(score);
    labels.push(label);
    squaredError += (score - label) ** 2;
    if (score >= threshold) {
      if (label === 1) truePositives++;
      else falsePositives++;
    }
  }
  const labelled = labels.length;
  const positives = labels.reduce((sum, l) => sum + l, 0);
  const flagged = truePositives + falsePositives;
  return {
    predictions: items.length,
    labelled,
    positives,
    auroc: auroc(scores, labels),
    precision: flagged === 0 ? null : truePositives / flagged,
    recall: positives === 0 ? null : truePositives / positives,
    brier: labelled === 0 ? null : squaredError / labelled,
    meanScore: items.length === 0 ? null : scoreSum / items.length,
  };
}
