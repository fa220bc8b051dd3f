import {
  auroc,
  averagePrecision,
  calibrationCurve,
  calibrationErrorOf,
  type Evaluation,
  nearestRankQuantileSorted,
} from '@vigil/core';

export interface LabelledScore {
  score: number;
  /** Undefined while no outcome has arrived. */
  label: 0 | 1 | undefined;
  /** Server-side latency, when the prediction carried it. */
  latencyMs?: number;
  /** True when the fallback model answered. */
  fallback?: boolean;
}

/** Bins of the reliability curve and of ECE. */
export const CALIBRATION_BINS = 10;

/**
 * Quality of a set of predictions: AUROC (rank sum, ties half credit), average precision,
 * precision and recall with `score >= threshold` as positive, Brier score, ECE and the
 * reliability curve (10 equal-width bins) over the labelled ones; the mean score, the
 * fallback share and the latency p50/p99 (nearest rank) over all of them. A ratio whose
 * denominator is zero is null.
 */
export function evaluateScores(items: readonly LabelledScore[], threshold: number): Required<Evaluation> {
  const scores: number[] = [];
  const labels: number[] = [];
  const latencies: number[] = [];
  let scoreSum = 0;
  let fallbacks = 0;
  let truePositives = 0;
  let falsePositives = 0;
  let squaredError = 0;
  for (const { score, label, latencyMs, fallback } of items) {
    scoreSum += score;
    if (fallback === true) fallbacks++;
    if (latencyMs !== undefined) latencies.push(latencyMs);
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
  const sortedLatencies = Float64Array.from(latencies).sort();
  const curve = calibrationCurve(scores, labels, { bins: CALIBRATION_BINS });
  return {
    predictions: items.length,
    labelled,
    positives,
    auroc: auroc(scores, labels),
    precision: flagged === 0 ? null : truePositives / flagged,
    recall: positives === 0 ? null : truePositives / positives,
    brier: labelled === 0 ? null : squaredError / labelled,
    meanScore: items.length === 0 ? null : scoreSum / items.length,
    auprc: averagePrecision(scores, labels),
    ece: labelled === 0 ? null : calibrationErrorOf(curve, labelled),
    calibration: curve.map((b) => ({
      meanPredicted: b.meanPredicted,
      observedRate: b.observedRate,
      count: b.count,
    })),
    fallbackRate: items.length === 0 ? null : fallbacks / items.length,
    latencyP50Ms: latencies.length === 0 ? null : nearestRankQuantileSorted(sortedLatencies, 0.5),
    latencyP99Ms: latencies.length === 0 ? null : nearestRankQuantileSorted(sortedLatencies, 0.99),
  };
}
