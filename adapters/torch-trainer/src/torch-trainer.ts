import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Calibrator,
  fitIsotonic,
  fitPlatt,
  fitStandardizer,
  logloss,
  resolveSpec,
  ScorerCache,
  type SequenceSource,
  type TcnArchitecture,
  type TcnParams,
  toSequences,
  validateTrainingSet,
} from '@vigil/adapter-node-trainer';
import {
  auroc,
  type ComponentContext,
  defineAdapter,
  expectedCalibrationError,
  type Metrics,
  type ModelArtifact,
  type Trainer,
  type TrainerCapabilities,
  type TrainingSet,
  type TrainOptions,
  type TrainResult,
  type TrainSpec,
  VigilError,
} from '@vigil/core';
import { torchTcnArtifact } from './onnx/torch-tcn-onnx.js';
import { defaultTorchPython, type TorchTrainerConfig, torchTrainerConfig } from './torch-trainer-config.js';
import { sequencesToArrow } from './worker/arrow-data.js';
import { runWorker, type WorkerDone } from './worker/worker-process.js';

export const torchTrainerCapabilities: TrainerCapabilities = {
  gpu: true,
  algorithms: ['tcn'],
  cancellable: true,
  explain: false,
};

/** The worker script, next to `src/` and `dist/` in the package (`worker/tcn-worker.py`). */
export const TCN_WORKER_SCRIPT = fileURLToPath(new URL('../worker/tcn-worker.py', import.meta.url));

/** What one worker run produced, before the probability head and calibrator are appended. */
interface WorkerOutcome {
  torchOnnx: Uint8Array;
  done: WorkerDone;
  torchVersion: string;
}

function combineSignals(signals: (AbortSignal | undefined)[]): AbortSignal {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  return present.length === 0 ? new AbortController().signal : AbortSignal.any(present);
}

/**
 * The node trainer's TCN trained by PyTorch in a Python worker (CPU, or CUDA when torch sees a GPU):
 * the sequences and standardiser are built here exactly as the TS TCN builds them, written as Arrow
 * IPC, trained by worker/tcn-worker.py, exported with torch.onnx.export (opset 17), and turned into
 * an artifact with the TS TCN's interface (input, outputs, initializer names, metadata) and the same
 * optional Platt/isotonic calibrator inside the graph. `predict` scores with the node trainer's
 * compiled scorer (onnxruntime's numbers to 1e-5).
 */
export class TorchTrainer implements Trainer {
  readonly capabilities: TrainerCapabilities = torchTrainerCapabilities;
  readonly #config: TorchTrainerConfig;
  readonly #ctx: ComponentContext | undefined;
  readonly #python: string;
  readonly #scorers: ScorerCache;
  /** Aborted by close(): running workers are killed and their `train` calls reject as cancelled. */
  readonly #closing = new AbortController();
  #closed = false;

  constructor(config: Partial<TorchTrainerConfig> = {}, ctx?: ComponentContext) {
    this.#config = torchTrainerConfig.parse(config);
    this.#ctx = ctx;
    this.#python = this.#config.python ?? defaultTorchPython();
    this.#scorers = new ScorerCache(this.#config.scorerCacheSize);
  }

  /** The interpreter the worker runs on. */
  get python(): string {
    return this.#python;
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new VigilError('VIGIL_KERNEL_CLOSED', `torch trainer: ${method}() after close()`);
  }

  async train(data: TrainingSet, spec: TrainSpec, options: TrainOptions = {}): Promise<TrainResult> {
    this.#assertOpen('train');
    const { rows } = validateTrainingSet(data, 'data', { requireBothClasses: true });
    const validation = options.validation;
    if (validation !== undefined) {
      validateTrainingSet(validation, 'validation', {
        requireBothClasses: false,
        featureNames: data.featureNames,
      });
    }
    if (spec && typeof spec === 'object' && !this.capabilities.algorithms.includes(spec.algorithm)) {
      throw new VigilError(
        'VIGIL_TRAINER_INVALID_SPEC',
        `spec.algorithm '${String(spec.algorithm)}' is not one the torch trainer runs; expected one of ${this.capabilities.algorithms.join(', ')}`,
      );
    }
    const resolved = resolveSpec(spec);
    if (resolved.algorithm !== 'tcn') throw new Error('unreachable: the torch trainer runs only tcn');
    const params = resolved.params;
    const calibration = params.calibration;
    if (calibration !== 'none') {
      if (!validation) {
        throw new VigilError(
          'VIGIL_TRAINER_INVALID_SPEC',
          `spec.params.calibration '${calibration}' needs options.validation: the calibrator is fitted on the validation rows`,
        );
      }
      let pos = 0;
      for (let i = 0; i < validation.y.length; i++) pos += validation.y[i]!;
      if (pos === 0 || pos === validation.y.length) {
        throw new VigilError(
          'VIGIL_TRAINER_INVALID_DATASET',
          `validation.y must hold both classes to fit the '${calibration}' calibrator (spec.params.calibration)`,
        );
      }
    }
    const signal = combineSignals([options.signal, this.#ctx?.signal, this.#closing.signal]);
    if (signal.aborted) throw new VigilError('VIGIL_TRAINER_CANCELLED', 'training was cancelled');

    const started = performance.now();
    const d = data.featureNames.length;
    const L = params.sequenceLength;
    // The same inputs the TS TCN trains on: each row's patient sequence, standardised in the graph.
    const trainSeq = toSequences(data as SequenceSource, L);
    const valSeq = validation ? toSequences(validation as SequenceSource, L) : undefined;
    const standardizer = fitStandardizer(data.x, rows, d);
    const architecture: TcnArchitecture = {
      sequenceLength: L,
      features: d,
      blocks: params.blocks,
      kernelSize: params.kernelSize,
      hidden: params.hidden,
      dilations: Array.from({ length: params.blocks }, (_, b) => 2 ** b),
    };

    const outcome = await this.#runWorker(
      { train: trainSeq, y: data.y, validation: valSeq, validationY: validation?.y },
      { width: L * d, L, d, params, seed: spec.seed, mean: standardizer.mean, scale: standardizer.scale },
      signal,
      options,
    );
    const { done } = outcome;
    const build = (c?: Calibrator) =>
      torchTcnArtifact({
        torchOnnx: outcome.torchOnnx,
        architecture,
        featureNames: data.featureNames,
        calibration: c,
        docString: `Vigil TCN trained and exported by PyTorch ${outcome.torchVersion} (torch.onnx.export, opset 17): input [N, L·d] time-major (last d columns = current step), standardised with NaN → 0, dilated causal residual blocks, linear head on the last step.`,
      });

    const metrics: Metrics = { epochs: done.epochs };
    if (validation) metrics.best_epoch = done.best_epoch;
    let artifact = build();
    if (calibration !== 'none' && validation && valSeq) {
      if (signal.aborted) throw new VigilError('VIGIL_TRAINER_CANCELLED', 'training was cancelled');
      const scorer = this.#scorers.compile(artifact);
      const raw = scorer.rawScore(valSeq, validation.y.length);
      const calibrator =
        calibration === 'platt' ? fitPlatt(raw, validation.y) : fitIsotonic(raw, validation.y);
      metrics.val_ece_uncalibrated = expectedCalibrationError(
        scorer.score(valSeq, validation.y.length),
        validation.y,
      );
      if (calibrator.method === 'platt') {
        metrics.platt_a = calibrator.a;
        metrics.platt_b = calibrator.b;
      } else {
        metrics.isotonic_knots = calibrator.x.length;
      }
      artifact = build(calibrator);
    }
    if (signal.aborted) throw new VigilError('VIGIL_TRAINER_CANCELLED', 'training was cancelled');
    const scorer = this.#scorers.compile(artifact);
    const trainScores = scorer.score(trainSeq, rows);
    metrics.train_logloss = logloss(trainScores, data.y);
    const trainAuroc = auroc(trainScores, data.y);
    if (trainAuroc !== null) metrics.train_auroc = trainAuroc;
    if (validation && valSeq) {
      const valScores = scorer.score(valSeq, validation.y.length);
      metrics.val_logloss = logloss(valScores, validation.y);
      metrics.val_ece = expectedCalibrationError(valScores, validation.y);
      const valAuroc = auroc(valScores, validation.y);
      if (valAuroc !== null) metrics.val_auroc = valAuroc;
    }
    options.onProgress?.({ fraction: 1, message: 'done', metrics });
    this.#ctx?.logger.info(
      {
        algorithm: 'tcn',
        rows,
        features: d,
        validationRows: validation?.y.length ?? 0,
        device: done.device,
        torch: outcome.torchVersion,
        epochSeconds: done.epoch_seconds,
        seconds: Math.round(performance.now() - started) / 1000,
        sha256: artifact.sha256,
        ...metrics,
      },
      'torch trainer: model trained',
    );
    return { artifact, metrics, params: { ...params } };
  }

  async #runWorker(
    data: {
      train: Float32Array;
      y: Uint8Array;
      validation?: Float32Array | undefined;
      validationY?: Uint8Array | undefined;
    },
    shape: {
      width: number;
      L: number;
      d: number;
      params: TcnParams;
      seed: number;
      mean: Float32Array;
      scale: Float32Array;
    },
    signal: AbortSignal,
    options: TrainOptions,
  ): Promise<WorkerOutcome> {
    const root = this.#config.workdir ?? (this.#ctx ? join(this.#ctx.workdir, 'torch-trainer') : tmpdir());
    await mkdir(root, { recursive: true });
    const dir = await mkdtemp(join(root, 'run-'));
    try {
      const trainPath = join(dir, 'train.arrow');
      await writeFile(trainPath, await sequencesToArrow(data.train, data.y, shape.width));
      let validationPath: string | undefined;
      if (data.validation && data.validationY) {
        validationPath = join(dir, 'validation.arrow');
        await writeFile(
          validationPath,
          await sequencesToArrow(data.validation, data.validationY, shape.width),
        );
      }
      const onnxPath = join(dir, 'model.onnx');
      const jobPath = join(dir, 'job.json');
      const { calibration: _calibration, ...workerParams } = shape.params;
      await writeFile(
        jobPath,
        JSON.stringify({
          train: trainPath,
          validation: validationPath ?? null,
          onnx: onnxPath,
          sequenceLength: shape.L,
          features: shape.d,
          // float32 values survive JSON exactly (float32 → double → shortest decimal → float32).
          mean: Array.from(shape.mean),
          scale: Array.from(shape.scale),
          params: workerParams,
          seed: shape.seed,
          device: this.#config.device,
          threads: this.#config.threads,
          watchStdin: true,
        }),
      );
      const maxEpochs = shape.params.maxEpochs;
      let torchVersion = 'unknown';
      const done = await runWorker({
        python: this.#python,
        script: TCN_WORKER_SCRIPT,
        jobPath,
        threads: this.#config.threads,
        signal,
        idleTimeoutMs: this.#config.idleTimeoutMs,
        onEvent: (event) => {
          if (event.event === 'ready') {
            torchVersion = event.torch;
            this.#ctx?.logger.debug(
              { device: event.device, torch: event.torch, threads: event.threads },
              'torch trainer: worker ready',
            );
            options.onProgress?.({ fraction: 0, message: `worker ready on ${event.device}` });
            return;
          }
          const metrics: Metrics = { epoch: event.epoch, train_loss: event.train_loss };
          if (event.val_loss !== undefined) metrics.val_loss = event.val_loss;
          options.onProgress?.({
            fraction: event.epoch / maxEpochs,
            message: `epoch ${event.epoch}`,
            metrics,
          });
        },
      });
      let torchOnnx: Uint8Array;
      try {
        torchOnnx = new Uint8Array(await readFile(onnxPath));
      } catch (error) {
        throw new VigilError(
          'VIGIL_TRAINER_WORKER_FAILED',
          `torch trainer: the worker wrote no ONNX file at ${onnxPath}`,
          {
            cause: error,
          },
        );
      }
      return { torchOnnx, done, torchVersion };
    } finally {
      if (!this.#config.keepWorkFiles) await rm(dir, { recursive: true, force: true });
    }
  }

  /** Scores `[rows, L·d]` sequences (build them with `toSequences`) with the node trainer's scorer. */
  async predict(artifact: ModelArtifact, x: Float32Array, rows: number): Promise<Float32Array> {
    this.#assertOpen('predict');
    return this.#scorers.predict(artifact, x, rows);
  }

  /** Kills running workers (their `train` calls reject with VIGIL_TRAINER_CANCELLED) and drops cached scorers; idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#closing.abort();
    this.#scorers.clear();
  }
}

/** The PyTorch trainer adapter (`trainer: { adapter: torch }`). */
export const torchTrainer = defineAdapter({
  port: 'trainer',
  name: 'torch',
  version: '0.1.0',
  core: '^0.1.0',
  description:
    "PyTorch trainer in a Python worker (CPU, or CUDA when present): the node trainer's dilated causal TCN over each patient's recent sequence, early-stopped on validation log-loss, exported with torch.onnx.export into the same ONNX interface, with optional Platt or isotonic calibration inside the graph.",
  config: torchTrainerConfig,
  capabilities: torchTrainerCapabilities,
  async create(config, ctx) {
    return new TorchTrainer(config, ctx);
  },
});
