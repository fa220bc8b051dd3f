import { createRng, type ModelArtifact, type Rng, type TrainingSet } from '@vigil/core';
import type { Calibrator } from '../calibration/calibrator.js';
import type { GbtParams } from '../spec/train-params.js';
import type { RunControl } from '../training/run-control.js';
import { gbtOnnx } from './gbt-onnx.js';
import { HistogramTreeGrower } from './histogram-tree-grower.js';
import { type QuantileBins, quantileBins } from './quantile-bins.js';
import { type RegressionTree, treeNodeRows, treeValue, treeValueBinned } from './regression-tree.js';

export interface GbtTrainOutcome {
  artifact: ModelArtifact;
  /** The same model exported again, with a calibrator inside the graph. */
  build(calibration?: Calibrator): ModelArtifact;
  /** Trees in the exported model (the best round when early stopping ran). */
  trees: number;
  /** Rounds trained before stopping. */
  rounds: number;
  /** Validation logloss per round, when a validation set was given. */
  validationLoss: number[];
  /** Threads the histograms were built on (`options.threads`, or 1 where data or runtime did not allow more). */
  threads: number;
}

function meanLogloss(margin: Float64Array, y: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < margin.length; i++) {
    const s = y[i] === 1 ? -margin[i]! : margin[i]!;
    sum += s > 0 ? s + Math.log1p(Math.exp(-s)) : Math.log1p(Math.exp(s));
  }
  return sum / margin.length;
}

/** Choose `k` of `d` features without replacement, ascending. */
function sampleFeatures(rng: Rng, d: number, fraction: number): Int32Array {
  const all = Int32Array.from({ length: d }, (_, i) => i);
  if (fraction >= 1) return all;
  const k = Math.max(1, Math.round(fraction * d));
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(d - i);
    const t = all[i]!;
    all[i] = all[j]!;
    all[j] = t;
  }
  return all.subarray(0, k).sort();
}

/**
 * Histogram gradient boosting with logistic loss: features binned once into ≤ 255 quantile
 * bins, depth-wise trees, seeded row (`subsample`) and column (`colsample`) sampling per tree,
 * and early stopping on validation logloss after `earlyStoppingRounds` rounds without
 * improvement (the model keeps the best round's trees). `options.threads` (default 1): threads
 * the histograms of large data sets are built on, the calling one included; the model bytes are
 * the same for any value.
 */
export async function trainGbt(
  data: TrainingSet,
  params: GbtParams,
  seed: number,
  validation: TrainingSet | undefined,
  control: RunControl,
  options: { threads?: number } = {},
): Promise<GbtTrainOutcome> {
  const rows = data.y.length;
  const d = data.featureNames.length;
  const y = data.y;
  let positives = 0;
  for (let i = 0; i < rows; i++) positives += y[i]!;
  const baseLogit = Math.fround(Math.log(positives / (rows - positives)));
  const bins = quantileBins(data.x, rows, d);
  const grower = new HistogramTreeGrower(bins, params, { threads: options.threads ?? 1 });
  try {
    return await boost(data, params, seed, validation, control, bins, grower, baseLogit);
  } finally {
    grower.close();
  }
}

async function boost(
  data: TrainingSet,
  params: GbtParams,
  seed: number,
  validation: TrainingSet | undefined,
  control: RunControl,
  bins: QuantileBins,
  grower: HistogramTreeGrower,
  baseLogit: number,
): Promise<GbtTrainOutcome> {
  const rows = data.y.length;
  const d = data.featureNames.length;
  const y = data.y;
  const rng = createRng(seed);
  const rowRng = rng.fork('gbt-rows');
  const columnRng = rng.fork('gbt-columns');

  const margin = new Float64Array(rows).fill(baseLogit);
  const grad = new Float64Array(rows);
  const hess = new Float64Array(rows);
  const sample = new Uint32Array(rows);
  const valRows = validation?.y.length ?? 0;
  const valMargin = new Float64Array(valRows).fill(baseLogit);
  const validationLoss: number[] = [];
  let bestLoss = Number.POSITIVE_INFINITY;
  let bestRound = -1;
  const trees: RegressionTree[] = [];
  /** Per tree: training rows (all of them, not only the round's sample) that reached each node. */
  const covers: Int32Array[] = [];

  for (let round = 0; round < params.nEstimators; round++) {
    for (let r = 0; r < rows; r++) {
      const p = 1 / (1 + Math.exp(-margin[r]!));
      grad[r] = p - y[r]!;
      hess[r] = Math.max(p * (1 - p), 1e-16);
    }
    let count = 0;
    if (params.subsample < 1) {
      for (let r = 0; r < rows; r++) if (rowRng.next() < params.subsample) sample[count++] = r;
    }
    if (count === 0) {
      for (let r = 0; r < rows; r++) sample[r] = r;
      count = rows;
    }
    const features = sampleFeatures(columnRng, d, params.colsample);
    const tree = grower.grow(grad, hess, sample, count, features);
    trees.push(tree);
    if (count === rows) {
      grower.addToMargin(margin, sample);
      covers.push(grower.nodeRows);
    } else {
      for (let r = 0; r < rows; r++) margin[r] = margin[r]! + treeValueBinned(tree, bins.binned, rows, r);
      covers.push(treeNodeRows(tree, bins.binned, rows));
    }

    let metrics: Record<string, number> | undefined;
    let stop = false;
    if (validation) {
      for (let r = 0; r < valRows; r++) valMargin[r] = valMargin[r]! + treeValue(tree, validation.x, r * d);
      const loss = meanLogloss(valMargin, validation.y);
      validationLoss.push(loss);
      metrics = { val_logloss: loss };
      if (loss < bestLoss) {
        bestLoss = loss;
        bestRound = round;
      } else if (round - bestRound >= params.earlyStoppingRounds) {
        stop = true;
      }
    }
    control.progress((round + 1) / params.nEstimators, `tree ${round + 1}/${params.nEstimators}`, metrics);
    await control.checkpoint();
    if (stop) break;
  }
  const kept = validation ? bestRound + 1 : trees.length;
  const build = (calibration?: Calibrator) =>
    gbtOnnx(trees.slice(0, kept), baseLogit, data.featureNames, calibration, covers.slice(0, kept));
  return {
    artifact: build(),
    build,
    trees: kept,
    rounds: trees.length,
    validationLoss,
    threads: grower.threads,
  };
}
