import { auroc } from './auroc.js';
import { checkBinaryInput, tieRuns } from './binary-input.js';
import { checkBootstrapOptions, stratifiedResampler } from './bootstrap.js';
import { linearQuantileSorted } from './quantile.js';
import { weightedAuroc } from './weighted-auroc.js';

export interface BootstrapOptions {
  /** Bootstrap replicates. Default 1000. */
  samples?: number;
  /** Confidence level of the percentile interval. Default 0.95. */
  level?: number;
  /** Seed of the resampling (required: every random choice takes a seed). */
  seed: number | string;
}

export interface AurocCi {
  /** AUROC on the rows as given. */
  auroc: number;
  /** Percentile interval of the bootstrap replicates at `level`. */
  lower: number;
  upper: number;
  level: number;
  samples: number;
}

/**
 * AUROC with a seeded stratified bootstrap percentile interval: each replicate resamples
 * positives and negatives separately (keeping the class counts). Same seed, same
 * interval. Null when the labels hold a single class.
 */
export function aurocCi(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  options: BootstrapOptions,
): AurocCi | null {
  const samples = options.samples ?? 1000;
  const level = options.level ?? 0.95;
  checkBootstrapOptions('aurocCi', samples, level);
  checkBinaryInput('aurocCi', scores, labels);
  const point = auroc(scores, labels);
  if (point === null) return null;
  const runs = tieRuns(scores);
  const draw = stratifiedResampler(labels, options.seed);
  const replicates = new Float64Array(samples);
  for (let b = 0; b < samples; b++) replicates[b] = weightedAuroc(runs, labels, draw())!;
  replicates.sort();
  const alpha = (1 - level) / 2;
  return {
    auroc: point,
    lower: linearQuantileSorted(replicates, alpha),
    upper: linearQuantileSorted(replicates, 1 - alpha),
    level,
    samples,
  };
}
