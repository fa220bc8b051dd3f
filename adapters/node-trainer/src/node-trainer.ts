import { availableParallelism } from 'node:os';
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
import { z } from 'zod';
import type { Calibrator } from './calibration/calibrator.js';
import { fitIsotonic } from './calibration/isotonic.js';
import { fitPlatt } from './calibration/platt.js';
import { cartOnnx } from './cart/cart-onnx.js';
import { trainCart } from './cart/train-cart.js';
import { validateTrainingSet } from './dataset/validate-training-set.js';
import { trainEnsemble } from './ensemble/train-ensemble.js';
import { explainArtifact } from './explain/explain-artifact.js';
import type { ArtifactExplainer, Explanation } from './explain/explanation.js';
import { trainGbt } from './gbt/train-gbt.js';
import { trainLogistic } from './logistic/train-logistic.js';
import { logloss } from './metrics/logloss.js';
import { ScorerCache } from './scoring/scorer-cache.js';
import { flatParams, resolveSpec } from './spec/train-params.js';
import { trainTcn } from './tcn/train-tcn.js';
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
  threads: z
    .number()
    .int()
    .min(1)
    .max(64)
    .optional()
    .describe(
      'Threads the TCN computes each training batch on, and the GBT builds its histograms on (data sets of at least 2^20 values), the calling thread included (default: 2, or 1 on a one-core machine). The trained bytes do not depend on it.',
    ),
});

export type NodeTrainerConfig = z.output<typeof nodeTrainerConfig>;

export const nodeTrainerCapabilities: TrainerCapabilities = {
  gpu: false,
  algorithms: ['gbt', 'logistic', 'cart', 'tcn', 'ensemble'],
  cancellable: true,
  explain: true,
};

/**
 * In-process CPU trainer: histogram gradient-boosted trees (`gbt`), L2 logistic regression
 * (`logistic`) and a CART backup tree (`cart`, depth ≤ 4), exported as ONNX following Vigil's
 * model I/O contract, optionally with a Platt or isotonic calibrator (fitted on
 * `options.validation`) inside the graph. `predict` scores
 * with the same numbers as onnxruntime (to 1e-5) by decoding the artifact's own ONNX graph.
 */
export class NodeTrainer implements Trainer {
  readonly capabilities: TrainerCapabilities = nodeTrainerCapabilities;
  readonly #config: NodeTrainerConfig;
  readonly #ctx: ComponentContext | undefined;
  readonly #scorers: ScorerCache;
  /** Explainers by artifact sha256 (decoding trees and cover once per model), most recent last. */
  readonly #explainers = new Map<string, ArtifactExplainer>();
  #closed = false;

  constructor(config: Partial<NodeTrainerConfig> = {}, ctx?: ComponentContext) {
    this.#config = nodeTrainerConfig.parse(config);
    this.#ctx = ctx;
    this.#scorers = new ScorerCache(this.#config.scorerCacheSize);
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
    const calibration = resolved.params.calibration;
    if (calibration !== 'none') {
      if (!options.validation) {
        throw new VigilError(
          'VIGIL_TRAINER_INVALID_SPEC',
          `spec.params.calibration '${calibration}' needs options.validation: the calibrator is fitted on the validation rows`,
        );
      }
      const v = options.validation.y;
      let pos = 0;
      for (let i = 0; i < v.length; i++) pos += v[i]!;
      if (pos === 0 || pos === v.length) {
        throw new VigilError(
          'VIGIL_TRAINER_INVALID_DATASET',
          `validation.y must hold both classes to fit the '${calibration}' calibrator (spec.params.calibration)`,
        );
      }
    }
    const control = new RunControl({
      signals: [options.signal, this.#ctx?.signal],
      onProgress: options.onProgress,
      yieldIntervalMs: this.#config.yieldIntervalMs,
    });
    control.throwIfAborted();
    const started = performance.now();
    let build: (calibration?: Calibrator) => ModelArtifact;
    const metrics: Metrics = {};
    // What the model scores: the rows themselves, or (tcn) their sequences.
    let trainX = data.x;
    let valX = options.validation?.x;
    // Worker threads for the GBT histograms and the TCN's batch shards (bytes do not depend on it).
    const threads = this.#config.threads ?? Math.min(2, availableParallelism());
    if (resolved.algorithm === 'gbt') {
      const outcome = await trainGbt(data, resolved.params, spec.seed, options.validation, control, {
        threads,
      });
      build = outcome.build;
      metrics.n_trees = outcome.trees;
      this.#ctx?.logger.debug({ threads: outcome.threads }, 'node trainer: gbt histogram threads');
      if (options.validation) metrics.best_iteration = outcome.trees;
    } else if (resolved.algorithm === 'logistic') {
      const outcome = await trainLogistic(data, resolved.params, control);
      build = outcome.build;
      metrics.iterations = outcome.iterations;
    } else if (resolved.algorithm === 'tcn') {
      // The TCN scores sequences [rows, L·d] built from each row's patient history.
      const outcome = await trainTcn(data, resolved.params, spec.seed, options.validation, control, {
        threads,
      });
      build = outcome.build;
      trainX = outcome.sequences.train;
      valX = outcome.sequences.validation;
      metrics.epochs = outcome.epochs;
      // Wall time is not a metric: metrics must be deterministic like the bytes.
      this.#ctx?.logger.info(
        { epochSeconds: outcome.epochSeconds, threads: outcome.threads },
        'node trainer: tcn mean epoch time',
      );
      if (options.validation) metrics.best_epoch = outcome.bestEpoch;
    } else if (resolved.algorithm === 'ensemble') {
      // Scores sequences [rows, L·d], like the TCN; its GBT reads the last step.
      const outcome = await trainEnsemble(data, resolved.params, spec.seed, options.validation, control, {
        threads,
      });
      build = outcome.build;
      trainX = outcome.sequences.train;
      valX = outcome.sequences.validation;
      metrics.stack_weight_gbt = outcome.stacker.weights[0]!;
      metrics.stack_weight_tcn = outcome.stacker.weights[1]!;
      metrics.stack_intercept = outcome.stacker.intercept;
      if (outcome.oofAuroc.gbt !== null) metrics.oof_auroc_gbt = outcome.oofAuroc.gbt;
      if (outcome.oofAuroc.tcn !== null) metrics.oof_auroc_tcn = outcome.oofAuroc.tcn;
      metrics.epochs = outcome.epochs;
      metrics.n_trees = outcome.trees;
    } else {
      const tree = await trainCart(data, resolved.params, control);
      build = (c) => cartOnnx(tree, data.featureNames, c);
      let leaves = 0;
      let depth = 0;
      const depthOf = new Int32Array(tree.tree.feature.length);
      for (let i = 0; i < tree.tree.feature.length; i++) {
        if (tree.tree.feature[i]! < 0) {
          leaves++;
          depth = Math.max(depth, depthOf[i]!);
        } else {
          depthOf[tree.tree.left[i]!] = depthOf[i]! + 1;
          depthOf[tree.tree.right[i]!] = depthOf[i]! + 1;
        }
      }
      metrics.n_leaves = leaves;
      metrics.depth = depth;
    }
    let artifact = build();
    if (calibration !== 'none' && options.validation) {
      control.throwIfAborted();
      const v = options.validation;
      const raw = this.#scorers.compile(artifact).rawScore(valX ?? v.x, v.y.length);
      const calibrator = calibration === 'platt' ? fitPlatt(raw, v.y) : fitIsotonic(raw, v.y);
      const uncalibrated = this.#scorers.compile(artifact).score(valX ?? v.x, v.y.length);
      metrics.val_ece_uncalibrated = expectedCalibrationError(uncalibrated, v.y);
      if (calibrator.method === 'platt') {
        metrics.platt_a = calibrator.a;
        metrics.platt_b = calibrator.b;
      } else {
        metrics.isotonic_knots = calibrator.x.length;
      }
      artifact = build(calibrator);
    }
    control.throwIfAborted();
    const scorer = this.#scorers.compile(artifact);
    const trainScores = scorer.score(trainX, rows);
    metrics.train_logloss = logloss(trainScores, data.y);
    const trainAuroc = auroc(trainScores, data.y);
    if (trainAuroc !== null) metrics.train_auroc = trainAuroc;
    if (options.validation) {
      const v = options.validation;
      const valScores = scorer.score(valX ?? v.x, v.y.length);
      metrics.val_logloss = logloss(valScores, v.y);
      metrics.val_ece = expectedCalibrationError(valScores, v.y);
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
    return { artifact, metrics, params: flatParams(resolved) };
  }

  async predict(artifact: ModelArtifact, x: Float32Array, rows: number): Promise<Float32Array> {
    this.#assertOpen('predict');
    return this.#scorers.predict(artifact, x, rows);
  }

  /**
   * Attributions of each row's raw score (see explainArtifact): exact TreeSHAP for gbt and cart,
   * exact linear SHAP for logistic, the documented sequence approximation for tcn, and the members
   * combined with the stacker's weights for the ensemble.
   */
  async explain(artifact: ModelArtifact, x: Float32Array, rows: number): Promise<Explanation> {
    this.#assertOpen('explain');
    let explainer = this.#explainers.get(artifact.sha256);
    if (explainer) this.#explainers.delete(artifact.sha256);
    else explainer = explainArtifact(artifact);
    this.#explainers.set(artifact.sha256, explainer);
    while (this.#explainers.size > this.#config.scorerCacheSize) {
      this.#explainers.delete(this.#explainers.keys().next().value!);
    }
    return explainer.explain(x, rows);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#scorers.clear();
    this.#explainers.clear();
  }
}

/** The in-process trainer adapter (`trainer: { adapter: node }`). */
export const nodeTrainer = defineAdapter({
  port: 'trainer',
  name: 'node',
  version: '0.1.0',
  core: '^0.1.0',
  description:
    "In-process CPU trainer: histogram gradient-boosted trees, L2 logistic regression, a CART backup tree and a dilated causal TCN over each patient's recent sequence, exported to ONNX with optional Platt or isotonic calibration inside the graph.",
  config: nodeTrainerConfig,
  capabilities: nodeTrainerCapabilities,
  async create(config, ctx) {
    return new NodeTrainer(config, ctx);
  },
});
