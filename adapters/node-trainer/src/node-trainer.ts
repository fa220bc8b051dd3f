import {
  auroc,
  type ComponentContext,
  defineAdapter,
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
import { z } from 'zod';
import { validateTrainingSet } from './dataset/validate-training-set.js';
import { trainGbt } from './gbt/train-gbt.js';
import { trainLogistic } from './logistic/train-logistic.js';
import { logloss } from './metrics/logloss.js';
import { type CompiledModel, compileArtifact } from './scoring/compile-artifact.js';
import { resolveSpec } from './spec/train-params.js';
import { RunControl } from './training/run-control.js';

export const nodeTrainerConfig = z.strictObject({
  yieldIntervalMs: z
    .number()
    .int()
    .min(0)
    .max(10_000)
    .default(25)
    .describe(
      'How often (ms) a training loop yields to the event loop so timers, I/O and abort signals run alongside it.',
    ),
  scorerCacheSize: z
    .number()
    .int()
    .min(0)
    .max(1024)
    .default(16)
    .describe('How many decoded artifacts `predict` keeps ready, by sha256 (0 disables the cache).'),
});

export type NodeTrainerConfig = z.output<typeof nodeTrainerConfig>;

export const nodeTrainerCapabilities: TrainerCapabilities = {
  gpu: false,
  algorithms: ['gbt', 'logistic'],
  cancellable: true,
};

/**
 * In-process CPU trainer: histogram gradient-boosted trees (`gbt`) and L2 logistic regression
 * (`logistic`), both exported as ONNX following Vigil's model I/O contract. `predict` scores
 * with the same numbers as onnxruntime (to 1e-5) by decoding the artifact's own ONNX graph.
 */
export class NodeTrainer implements Trainer {
  readonly capabilities: TrainerCapabilities = nodeTrainerCapabilities;
  readonly #config: NodeTrainerConfig;
  readonly #ctx: ComponentContext | undefined;
  readonly #scorers = new Map<string, CompiledModel>();
  #closed = false;

  constructor(config: Partial<NodeTrainerConfig> = {}, ctx?: ComponentContext) {
    this.#config = nodeTrainerConfig.parse(config);
    this.#ctx = ctx;
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new VigilError('VIGIL_KERNEL_CLOSED', `node trainer: ${method}() after close()`);
  }

  async train(data: TrainingSet, spec: TrainSpec, options: TrainOptions = {}): Promise<TrainResult> {
    this.#assertOpen('train');
    const { rows, features } = validateTrainingSet(data, 'data', { requireBothClasses: true });
    if (options.validation !== undefined) {
      validateTrainingSet(options.validation, 'validation', {
        requireBothClasses: false,
        featureNames: data.featureNames,
      });
    }
    const resolved = resolveSpec(spec);
    const control = new RunControl({
      signals: [options.signal, this.#ctx?.signal],
      onProgress: options.onProgress,
      yieldIntervalMs: this.#config.yieldIntervalMs,
    });
    control.throwIfAborted();
    const started = performance.now();
    let artifact: ModelArtifact;
    const metrics: Metrics = {};
    if (resolved.algorithm === 'gbt') {
      const outcome = await trainGbt(data, resolved.params, spec.seed, options.validation, control);
      artifact = outcome.artifact;
      metrics.n_trees = outcome.trees;
      if (options.validation) metrics.best_iteration = outcome.trees;
    } else {
      const outcome = await trainLogistic(data, resolved.params, control);
      artifact = outcome.artifact;
      metrics.iterations = outcome.iterations;
    }
    control.throwIfAborted();
    const scorer = this.#compile(artifact);
    const trainScores = scorer.score(data.x, rows);
    metrics.train_logloss = logloss(trainScores, data.y);
    const trainAuroc = auroc(trainScores, data.y);
    if (trainAuroc !== null) metrics.train_auroc = trainAuroc;
    if (options.validation) {
      const v = options.validation;
      const valScores = scorer.score(v.x, v.y.length);
      metrics.val_logloss = logloss(valScores, v.y);
      const valAuroc = auroc(valScores, v.y);
      if (valAuroc !== null) metrics.val_auroc = valAuroc;
    }
    control.progress(1, 'done', metrics);
    this.#ctx?.logger.info(
      {
        algorithm: resolved.algorithm,
        rows,
        features,
        validationRows: options.validation?.y.length ?? 0,
        seconds: Math.round(performance.now() - started) / 1000,
        sha256: artifact.sha256,
        ...metrics,
      },
      'node trainer: model trained',
    );
    return { artifact, metrics, params: { ...resolved.params } };
  }

  #compile(artifact: ModelArtifact): CompiledModel {
    const cached = this.#scorers.get(artifact.sha256);
    if (cached) return cached;
    const compiled = compileArtifact(artifact);
    if (this.#config.scorerCacheSize > 0) {
      if (this.#scorers.size >= this.#config.scorerCacheSize) {
        const oldest = this.#scorers.keys().next().value;
        if (oldest !== undefined) this.#scorers.delete(oldest);
      }
      this.#scorers.set(artifact.sha256, compiled);
    }
    return compiled;
  }

  async predict(artifact: ModelArtifact, x: Float32Array, rows: number): Promise<Float32Array> {
    this.#assertOpen('predict');
    if (!Number.isInteger(rows) || rows < 0) {
      throw new VigilError(
        'VIGIL_TRAINER_INVALID_DATASET',
        `rows must be a non-negative integer, got ${rows}`,
      );
    }
    if (!(x instanceof Float32Array))
      throw new VigilError('VIGIL_TRAINER_INVALID_DATASET', 'x must be a Float32Array');
    const d = artifact.featureNames?.length ?? 0;
    if (x.length !== rows * d) {
      throw new VigilError(
        'VIGIL_TRAINER_INVALID_DATASET',
        `x has ${x.length} values but rows × features = ${rows} × ${d} = ${rows * d}`,
      );
    }
    return this.#compile(artifact).score(x, rows);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#scorers.clear();
  }
}

/** The in-process trainer adapter (`trainer: { adapter: node }`). */
export const nodeTrainer = defineAdapter({
  port: 'trainer',
  name: 'node',
  version: '0.1.0',
  core: '^0.1.0',
  description:
    'In-process CPU trainer: histogram gradient-boosted trees and L2 logistic regression, exported to ONNX.',
  config: nodeTrainerConfig,
  capabilities: nodeTrainerCapabilities,
  async create(config, ctx) {
    return new NodeTrainer(config, ctx);
  },
});
