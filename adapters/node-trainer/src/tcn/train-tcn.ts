import { createRng, type ModelArtifact, type TrainingSet } from '@vigil/core';
import type { Calibrator } from '../calibration/calibrator.js';
import type { TcnParams } from '../spec/train-params.js';
import type { RunControl } from '../training/run-control.js';
import { Adam } from './adam.js';
import { type SequenceSource, toSequences } from './sequences.js';
import { fitStandardizer, type Standardizer, standardize } from './standardizer.js';
import { initParams, type TcnLayout, TcnWorkspace, tcnLayout } from './tcn-model.js';
import { tcnOnnx } from './tcn-onnx.js';

export interface TcnTrainOutcome {
  /** The ONNX artifact of the kept weights, with an optional calibrator of the logit. */
  build: (calibration?: Calibrator) => ModelArtifact;
  /** Epochs run. */
  epochs: number;
  /** 1-based epoch whose weights were kept (the last one without a validation set). */
  bestEpoch: number;
  /** Mean wall time of one training epoch (forward, backward and Adam over every batch). */
  epochSeconds: number;
  /** The sequence matrices the model was trained and validated on ([rows, L·d], raw). */
  sequences: { train: Float32Array; validation?: Float32Array };
}

/** Mean binary cross-entropy from logits, computed stably. */
function loglossFromLogits(logits: ArrayLike<number>, y: Uint8Array, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const s = y[i] === 1 ? -logits[i]! : logits[i]!;
    sum += s > 0 ? s + Math.log1p(Math.exp(-s)) : Math.log1p(Math.exp(s));
  }
  return sum / n;
}

function logitsOf(
  workspace: TcnWorkspace,
  capacity: number,
  z: Float32Array,
  rows: number,
  width: number,
  params: Float32Array,
): Float64Array {
  const out = new Float64Array(rows);
  for (let from = 0; from < rows; from += capacity) {
    const n = Math.min(capacity, rows - from);
    const logits = workspace.forward(z.subarray(from * width, (from + n) * width), n, params);
    out.set(logits.subarray(0, n), from);
  }
  return out;
}

/**
 * Train the TCN (see tcn-model.ts and tcnOnnx) on a row-per-point set: each row's sequence is its
 * patient's last L rows ({@link toSequences}, using `data.at` when present). Binary cross-entropy,
 * Adam, shuffled mini-batches and dropout from `seed`; with `validation`, early stopping on its
 * log-loss after `patience` epochs without improvement, keeping the best epoch's weights.
 * Single-threaded and deterministic: the same data, params and seed give the same bytes.
 */
export async function trainTcn(
  data: TrainingSet,
  params: TcnParams,
  seed: number,
  validation: TrainingSet | undefined,
  control: RunControl,
): Promise<TcnTrainOutcome> {
  const d = data.featureNames.length;
  const L = params.sequenceLength;
  const width = L * d;
  const rows = data.y.length;
  const trainSeq = toSequences(data as SequenceSource, L);
  const standardizer: Standardizer = fitStandardizer(data.x, rows, d);
  const z = standardize(trainSeq, d, standardizer, new Float32Array(trainSeq.length));
  const valSeq = validation ? toSequences(validation as SequenceSource, L) : undefined;
  const valZ = valSeq ? standardize(valSeq, d, standardizer, new Float32Array(valSeq.length)) : undefined;
  const valRows = validation?.y.length ?? 0;

  const layout: TcnLayout = tcnLayout({
    features: d,
    steps: L,
    blocks: params.blocks,
    kernelSize: params.kernelSize,
    hidden: params.hidden,
  });
  const root = createRng(seed);
  const initRng = root.fork('tcn-init');
  const shuffleRng = root.fork('tcn-shuffle');
  const dropoutRng = root.fork('tcn-dropout');
  const theta = new Float32Array(layout.size);
  initParams(layout, theta, initRng.next);
  const best = theta.slice();
  const grad = new Float64Array(layout.size);
  const adam = new Adam(layout.size, params.learningRate, params.beta1, params.beta2, params.epsilon);
  const batchSize = Math.min(params.batchSize, rows);
  const workspace = new TcnWorkspace(layout, batchSize);
  const batchX = new Float32Array(batchSize * width);
  const batchY = new Uint8Array(batchSize);
  const dLogits = new Float64Array(batchSize);
  const order = Uint32Array.from({ length: rows }, (_, i) => i);

  let bestLoss = Number.POSITIVE_INFINITY;
  let bestEpoch = 0;
  let epochs = 0;
  let trainSeconds = 0;
  for (let epoch = 1; epoch <= params.maxEpochs; epoch++) {
    const started = performance.now();
    for (let i = rows - 1; i > 0; i--) {
      const j = shuffleRng.int(i + 1);
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    let lossSum = 0;
    for (let from = 0; from < rows; from += batchSize) {
      const n = Math.min(batchSize, rows - from);
      for (let s = 0; s < n; s++) {
        const r = order[from + s]!;
        batchX.set(z.subarray(r * width, (r + 1) * width), s * width);
        batchY[s] = data.y[r]!;
      }
      const logits = workspace.forward(batchX, n, theta, params.dropout, dropoutRng.next);
      lossSum += loglossFromLogits(logits, batchY, n) * n;
      for (let s = 0; s < n; s++) {
        const p = 1 / (1 + Math.exp(-logits[s]!));
        dLogits[s] = (p - batchY[s]!) / n;
      }
      grad.fill(0);
      workspace.backward(dLogits, n, theta, grad);
      adam.step(theta, grad);
      await control.checkpoint();
    }
    trainSeconds += (performance.now() - started) / 1000;
    epochs = epoch;
    const metrics: Record<string, number> = { epoch, train_loss: lossSum / rows };
    let stop = false;
    if (valZ && validation) {
      const valLoss = loglossFromLogits(
        logitsOf(workspace, batchSize, valZ, valRows, width, theta),
        validation.y,
        valRows,
      );
      metrics.val_loss = valLoss;
      if (valLoss < bestLoss) {
        bestLoss = valLoss;
        bestEpoch = epoch;
        best.set(theta);
      } else if (epoch - bestEpoch >= params.patience) {
        stop = true;
      }
    } else {
      bestEpoch = epoch;
      best.set(theta);
    }
    control.progress(epoch / params.maxEpochs, `epoch ${epoch}`, metrics);
    if (stop) break;
  }
  const build = (calibration?: Calibrator) =>
    tcnOnnx({ layout, params: best, standardizer, featureNames: data.featureNames, calibration });
  const sequences: TcnTrainOutcome['sequences'] = { train: trainSeq };
  if (valSeq) sequences.validation = valSeq;
  return { build, epochs, bestEpoch, epochSeconds: trainSeconds / Math.max(epochs, 1), sequences };
}
