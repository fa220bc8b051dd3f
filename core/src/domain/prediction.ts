export interface PredictionRecord {
  /** Unique id of the prediction (returned to the caller; outcomes refer to it). */
  predictionId: string;
  model: string;
  version: string;
  /** Pseudonymous entity key the prediction is about; never exported in metrics. */
  entityKey: string;
  /** Probability of the positive class. */
  score: number;
  at: Date;
  /** Feature values used, for drift analysis; optional. */
  features?: Record<string, number | null>;
  /** Trial site (or other segment) the entity belongs to, for per-site windows; optional. */
  site?: string;
  /** Server-side latency of the answer in milliseconds; optional. */
  latencyMs?: number;
  /** True when the fallback model answered instead of the routed version. */
  fallback?: boolean;
  /**
   * Set on a shadow (mirror) answer, which was computed and discarded: the id of the served
   * prediction it shadows. Outcomes recorded for that id apply to this one too.
   */
  shadowOf?: string;
}

export interface OutcomeRecord {
  predictionId: string;
  /** Observed label: 1 = the outcome happened. */
  label: 0 | 1;
  at: Date;
}
