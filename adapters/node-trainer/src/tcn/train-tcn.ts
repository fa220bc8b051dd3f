import { createRng, type ModelArtifact, type TrainingSet } from '@vigil/core';
import type { Calibrator } from '../calibration/calibrator.js';
import type { TcnParams } from '../spec/train-params.js';
import type { RunControl } from '../training/run-control.js';
import { Adam } from './adam.js';
import { type SequenceSource, toSequences } from './sequences.js';
import { fitStandardizer, type Standardizer, standardize } from './standardizer.js';
import { initParams, type TcnLayout, TcnWorkspace, tcnLayout } from './tcn-model.js';
import { tcnOnnx } from './tcn-onnx.js';
import { ShardPool } from './tcn-pool.js';
import { type ShardBatch, type ShardBuffers, ShardComputer, shardCount } from './tcn-shards.js';

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
  /** Threads that computed the batches (1 when worker threads could not start). */
  threads: number;
}

/** How a run is executed; none of it changes the trained bytes. */
export interface TcnRunOptions {
  /**
   * Threads computing each batch's shards, the calling thread included (default 1: no worker
   * threads). The gradient is summed over fixed shards in a fixed order, so the bytes are the same
   * for every thread count; if worker threads cannot start, the run continues on the calling thread.
   */
  threads?: number;
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
 * Each batch is computed in shards (tcn-shards.ts), on `options.threads` threads. Deterministic:
 * the same data, params and seed give the same bytes, whatever the thread count.
 */
export async function trainTcn(
  data: TrainingSet,
  params: TcnParams,
  seed: number,
  validation: TrainingSet | undefined,
  control: RunControl,
  options: TcnRunOptions = {},
): Promise<TcnTrainOutcome> {
  const d = data.featureNames.length;
  const L = params.sequenceLength;
  const width = L * d;
  const rows = data.y.length;
  const trainSeq = toSequences(data as SequenceSource, L);
  const standardizer: Standardizer = fitStandardizer(data.x, rows, d);
  const valSeq = validation ? toSequences(validation as SequenceSource, L) : undefined;
  const valZ = valSeq ? standardize(valSeq, d, standardizer, new Float32Array(valSeq.length)) : undefined;
  const valRows = validation?.y.length ?? 0;

  const shape = {
    features: d,
    steps: L,
    blocks: params.blocks,
    kernelSize: params.kernelSize,
    hidden: params.hidden,
  };
  const layout: TcnLayout = tcnLayout(shape);
  const batchSize = Math.min(params.batchSize, rows);
  const threads = Math.max(1, Math.floor(options.threads ?? 1));
  // Buffers every thread reads or writes: shared memory when there are worker threads.
  const shared = threads > 1 && shardCount(batchSize) > 1;
  const alloc = <T>(ctor: new (b: ArrayBuffer | SharedArrayBuffer) => T, bytes: number): T =>
    new ctor(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  const buffers: ShardBuffers = {
    z: standardize(trainSeq, d, standardizer, alloc(Float32Array, trainSeq.length * 4)),
    y: alloc(Uint8Array, rows),
    order: alloc(Uint32Array, rows * 4),
    theta: alloc(Float32Array, layout.size * 4),
    grads: alloc(Float64Array, shardCount(batchSize) * layout.size * 8),
    logits: alloc(Float64Array, batchSize * 8),
    sync: alloc(Int32Array, 4),
  };
  buffers.y.set(data.y);
  const { order, theta, logits } = buffers;
  for (let i = 0; i < rows; i++) order[i] = i;
  const setup = { shape, dropout: params.dropout, buffers };
  const computer = new ShardComputer(setup);

  const root = createRng(seed);
  const initRng = root.fork('tcn-init');
  const shuffleRng = root.fork('tcn-shuffle');
  const dropoutRng = root.fork('tcn-dropout');
  initParams(layout, theta, initRng.next);
  const best = theta.slice();
  const grad = new Float64Array(layout.size);
  const adam = new Adam(layout.size, params.learningRate, params.beta1, params.beta2, params.epsilon);
  const workspace = new TcnWorkspace(layout, batchSize);
  const batchY = new Uint8Array(batchSize);

  let pool: ShardPool | null = null;
  if (shared) {
    try {
      pool = await ShardPool.start(threads - 1, setup);
    } catch {
      // Same bytes on one thread: carry on without workers.
      pool = null;
    }
  }
  try {
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
        const batch: ShardBatch = { from, n, seed: dropoutRng.int(4294967296) };
        Atomics.store(buffers.sync, 0, 0);
        const others = pool?.run(batch);
        computer.drain(batch);
        if (others) await others;
        computer.reduce(batch, grad);
        for (let s = 0; s < n; s++) batchY[s] = buffers.y[order[from + s]!]!;
        lossSum += loglossFromLogits(logits, batchY, n) * n;
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
    return {
      build,
      epochs,
      bestEpoch,
      epochSeconds: trainSeconds / Math.max(epochs, 1),
      sequences,
      threads: 1 + (pool?.size ?? 0),
    };
  } finally {
    await pool?.close();
  }
}
