import { auroc } from './auroc.js';
import type { BootstrapOptions } from './auroc-ci.js';
import { checkBinaryInput, tieRuns } from './binary-input.js';
import { checkBootstrapOptions, stratifiedResampler } from './bootstrap.js';
import { linearQuantileSorted } from './quantile.js';
import { weightedAuroc } from './weighted-auroc.js';

export interface PairedAurocOptions extends BootstrapOptions {
  /** The margin the one-sided p-value tests `delta` against. Default 0. */
  margin?: number;
}

export interface PairedAurocDelta {
  /** AUROC(A) − AUROC(B) on the rows as given. */
  delta: number;
  aurocA: number;
  aurocB: number;
  /** Percentile interval of the paired bootstrap replicates of the delta. */
  ci: [lower: number, upper: number];
  level: number;
  samples: number;
  /** Two-sided bootstrap p-value of delta = 0: 2 · min(share of replicates ≤ 0, share ≥ 0), with +1 smoothing, capped at 1. */
  p: number;
  /** One-sided bootstrap p-value of delta ≤ margin: (1 + replicates ≤ margin) / (1 + samples). Small means A beats B by more than the margin. */
  pAboveMargin: number;
  margin: number;
}

/**
 * Paired stratified bootstrap of the AUROC difference between two models scored on the
 * same rows (the champion/challenger gate): every replicate resamples the rows once and
 * scores both models on that same resample, so the correlation between the models is
 * kept. `delta` is A minus B — pass the challenger as A. Null when the labels hold a
 * single class.
 */
export function pairedAurocDelta(
  scoresA: ArrayLike<number>,
  scoresB: ArrayLike<number>,
  labels: ArrayLike<number>,
  options: PairedAurocOptions,
): PairedAurocDelta | null {
  const samples = options.samples ?? 1000;
  const level = options.level ?? 0.95;
  const margin = options.margin ?? 0;
  checkBootstrapOptions('pairedAurocDelta', samples, level);
  checkBinaryInput('pairedAurocDelta', scoresA, labels);
  checkBinaryInput('pairedAurocDelta', scoresB, labels);
  const aurocA = auroc(scoresA, labels);
  const aurocB = auroc(scoresB, labels);
  if (aurocA === null || aurocB === null) return null;
  const runsA = tieRuns(scoresA);
  const runsB = tieRuns(scoresB);
  const draw = stratifiedResampler(labels, options.seed);
  const replicates = new Float64Array(samples);
  let atMostZero = 0;
  let atLeastZero = 0;
  let atMostMargin = 0;
  for (let b = 0; b < samples; b++) {
    const w = draw();
    const d = weightedAuroc(runsA, labels, w)! - weightedAuroc(runsB, labels, w)!;
    replicates[b] = d;
    if (d <= 0) atMostZero++;
    if (d >= 0) atLeastZero++;
    if (d <= margin) atMostMargin++;
  }
  replicates.sort();
  const alpha = (1 - level) / 2;
  return {
    delta: aurocA - aurocB,
    aurocA,
    aurocB,
    ci: [linearQuantileSorted(replicates, alpha), linearQuantileSorted(replicates, 1 - alpha)],
    level,
    samples,
    p: Math.min(1, (2 * (1 + Math.min(atMostZero, atLeastZero))) / (1 + samples)),
    pAboveMargin: (1 + atMostMargin) / (1 + samples),
    margin,
  };
}
