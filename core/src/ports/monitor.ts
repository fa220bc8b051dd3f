import type { OutcomeRecord, PredictionRecord } from '../domain/prediction.js';

/**
 * Monitor: records predictions and, later, their outcomes; computes quality over
 * windows and exports metrics in the Prometheus exposition format.
 *
 * Call order: `recordPredictions` (serving path) → `recordOutcomes` (when labels land) →
 * `evaluate` → `metrics`. Recording is idempotent by `predictionId`; an outcome for an
 * unknown prediction is kept and joined when the prediction arrives.
 */

export interface MonitorCapabilities {
  /** `metrics()` returns Prometheus text. Default true. */
  prometheus: boolean;
  /** Feature drift reports: `drift()` is implemented. Default false. */
  drift: boolean;
  /** Calibration metrics in `evaluate` (`ece`, `calibration`). Default false. */
  calibration: boolean;
}

/** Rolling windows: a day or a week (7 × 24 h) ending at `until` or at the latest prediction. */
export type MonitorWindow = 'day' | 'week';

/** Length of each rolling window in milliseconds. */
export const monitorWindowMs: Readonly<Record<MonitorWindow, number>> = {
  day: 86_400_000,
  week: 7 * 86_400_000,
};

export interface EvaluateRequest {
  model: string;
  version?: string;
  /** Only predictions made at or after this time. */
  since?: Date;
  until?: Date;
  /** Threshold for precision/recall. Default 0.5. */
  threshold?: number;
  /** Only predictions of this site (`PredictionRecord.site`). */
  site?: string;
  /**
   * A rolling window: predictions made in [until − length, until) when `until` is given,
   * else in (latest − length, latest] where latest is the model's most recent prediction
   * (any version, any site, so windows of versions and sites line up). `since`, when also
   * given, narrows it further.
   */
  window?: MonitorWindow;
}

/** One bin of the reliability curve (equal-width bins of [0, 1]; empty bins omitted). */
export interface CalibrationPoint {
  /** Mean predicted probability of the labelled predictions in the bin. */
  meanPredicted: number;
  /** Share of positives among them. */
  observedRate: number;
  count: number;
}

export interface Evaluation {
  predictions: number;
  /** Predictions with an outcome. */
  labelled: number;
  positives: number;
  /** Null when the labelled set has a single class. */
  auroc: number | null;
  precision: number | null;
  recall: number | null;
  brier: number | null;
  meanScore: number | null;
  /**
   * The fields below are optional in the type so Monitors written before them still
   * compile; the local monitor always fills them.
   */
  /** Average precision (area under the PR curve, scikit-learn's definition); null without a positive. */
  auprc?: number | null;
  /** Expected calibration error over 10 equal-width bins; null when nothing is labelled. With `capabilities.calibration`. */
  ece?: number | null;
  /** Reliability curve over 10 equal-width bins of the labelled predictions. With `capabilities.calibration`. */
  calibration?: CalibrationPoint[];
  /** Share of the predictions answered by the fallback model; null when there are none. */
  fallbackRate?: number | null;
  /** Median and 99th percentile (nearest rank) of `latencyMs` over the predictions that carry it; null when none does. */
  latencyP50Ms?: number | null;
  latencyP99Ms?: number | null;
}

export interface DriftRequest {
  model: string;
  version?: string;
  site?: string;
  /**
   * Reference: the features of the predictions made in [since, until) (same model, version
   * and site filters). Typically the validation period right after deployment.
   */
  reference: { since?: Date; until?: Date };
  /** Current predictions: as in `EvaluateRequest` (since/until/window). */
  since?: Date;
  until?: Date;
  window?: MonitorWindow;
  /** Features to test; default every feature seen in reference or current. */
  features?: string[];
  /** Share of drifted features at which the dataset drifts. Default 0.5 (Evidently's). */
  driftShare?: number;
}

/** Drift of one feature, decided by Evidently's default test for its type and size. */
export interface FeatureDrift {
  feature: string;
  /** `ks`, `chisquare`, `z`, `wasserstein`, `jensenshannon` or `psi`. */
  test: string;
  columnType: 'numerical' | 'categorical';
  /** The p-value (p-value tests) or the distance (distance tests). */
  statistic: number;
  pValue: number | null;
  distance: number | null;
  threshold: number;
  drifted: boolean;
  /** Non-missing values in each sample. */
  referenceRows: number;
  currentRows: number;
}

export interface DriftReport {
  /** Predictions in each sample. */
  referencePredictions: number;
  currentPredictions: number;
  features: FeatureDrift[];
  /** Features not tested because one sample has no non-missing value, with the reason. */
  skipped: { feature: string; reason: string }[];
  /** Drifted features / tested features (0 when none was tested). */
  driftShare: number;
  /** The share at which the dataset drifts. */
  driftShareThreshold: number;
  /** driftShare ≥ driftShareThreshold, with at least one feature tested. */
  datasetDrift: boolean;
  /** PSI of the score distribution, current vs reference (Evidently's binning); null when a sample is empty. */
  scorePsi: number | null;
}

export interface Monitor {
  readonly capabilities: MonitorCapabilities;
  recordPredictions(records: PredictionRecord[]): Promise<void>;
  recordOutcomes(records: OutcomeRecord[]): Promise<void>;
  evaluate(request: EvaluateRequest): Promise<Evaluation>;
  /** Feature and score drift, current window vs a reference period. Present when `capabilities.drift`. */
  drift?(request: DriftRequest): Promise<DriftReport>;
  /** Prometheus text exposition (version 0.0.4). Never contains entity keys. */
  metrics(): Promise<string>;
  /** Serve `/metrics` on 127.0.0.1 (port 0 = any free port). */
  listen(options: { host?: string; port?: number }): Promise<{ url: string }>;
  close(): Promise<void>;
}

export const defaultMonitorCapabilities: MonitorCapabilities = {
  prometheus: true,
  drift: false,
  calibration: false,
};
