import type { TrainingSet } from '../domain/dataset.js';
import type { FeatureAttributions } from '../domain/explanation.js';
import type { Metrics, ModelArtifact } from '../domain/model.js';

/**
 * Trainer: turns a training set and a spec into an ONNX artifact plus metrics.
 *
 * Deterministic: the same training set, spec and `seed` give the same artifact bytes.
 * `train` may be called many times (CV folds, tuning trials); each call is independent.
 */

export interface TrainerCapabilities {
  /** Runs on a GPU. Default false. */
  gpu: boolean;
  /** Algorithms `spec.algorithm` may name. */
  algorithms: string[];
  /** Honors `AbortSignal` between iterations. Default true. */
  cancellable: boolean;
  /** `explain` attributes scores to features. Default false. */
  explain: boolean;
}

export interface TrainSpec {
  algorithm: string;
  /** Algorithm hyper-parameters; unknown keys are rejected by the trainer. */
  params: Record<string, number | string | boolean>;
  seed: number;
}

export interface TrainProgress {
  /** 0..1 */
  fraction: number;
  message?: string;
  metrics?: Metrics;
}

export interface TrainOptions {
  /** Rows to report validation metrics on (never trained on). */
  validation?: TrainingSet;
  onProgress?: (progress: TrainProgress) => void;
  signal?: AbortSignal;
}

export interface TrainResult {
  artifact: ModelArtifact;
  /** Training metrics, and `val_*` metrics when a validation set was given. */
  metrics: Metrics;
  /** Effective hyper-parameters (defaults filled in). */
  params: Record<string, number | string | boolean>;
}

export interface Trainer {
  readonly capabilities: TrainerCapabilities;
  train(data: TrainingSet, spec: TrainSpec, options?: TrainOptions): Promise<TrainResult>;
  /** Score rows with an artifact this trainer produced (same numbers as the ONNX runtime, to 1e-5). */
  predict(artifact: ModelArtifact, x: Float32Array, rows: number): Promise<Float32Array>;
  /**
   * Attribute each row's raw score to the features (capability `explain`): exact SHAP where the
   * model allows it, a documented approximation otherwise (`method` says which).
   */
  explain?(artifact: ModelArtifact, x: Float32Array, rows: number): Promise<FeatureAttributions>;
  close(): Promise<void>;
}

export const defaultTrainerCapabilities: TrainerCapabilities = {
  gpu: false,
  algorithms: [],
  cancellable: true,
  explain: false,
};
