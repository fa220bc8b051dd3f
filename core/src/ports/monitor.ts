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
  /** Feature drift reports. Default false. */
  drift: boolean;
  /** Calibration metrics in `evaluate`. Default false. */
  calibration: boolean;
}

export interface EvaluateRequest {
  model: string;
  version?: string;
  /** Only predictions made at or after this time. */
  since?: Date;
  until?: Date;
  /** Threshold for precision/recall. Default 0.5. */
  threshold?: number;
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
}

export interface Monitor {
  readonly capabilities: MonitorCapabilities;
  recordPredictions(records: PredictionRecord[]): Promise<void>;
  recordOutcomes(records: OutcomeRecord[]): Promise<void>;
  evaluate(request: EvaluateRequest): Promise<Evaluation>;
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
