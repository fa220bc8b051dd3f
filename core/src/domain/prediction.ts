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
  /**
   * Feature values used, for drift analysis; optional. By name, or as a `FeatureRow` (one
   * row of a block the server already holds: no object per prediction, no number per field).
   */
  features?: Record<string, number | null> | FeatureRow;
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

/**
 * One row of a row-major block of feature values: `values[offset + i]` is feature `names[i]`,
 * NaN where it is missing (null). Rows of one answer share `names` and `values`, so emitting
 * a prediction's features copies nothing.
 */
export interface FeatureRow {
  readonly names: readonly string[];
  readonly values: Float32Array | Float64Array;
  readonly offset: number;
}

export function isFeatureRow(value: unknown): value is FeatureRow {
  const v = value as FeatureRow | null | undefined;
  return (
    typeof v === 'object' &&
    v !== null &&
    Array.isArray(v.names) &&
    (v.values instanceof Float32Array || v.values instanceof Float64Array) &&
    typeof v.offset === 'number'
  );
}

/** Feature values by name, whichever form a record carries them in (NaN → null). */
export function featureMapOf(
  features: Record<string, number | null> | FeatureRow,
): Record<string, number | null> {
  if (!isFeatureRow(features)) return features;
  const out: Record<string, number | null> = {};
  features.names.forEach((name, i) => {
    const v = features.values[features.offset + i]!;
    out[name] = Number.isNaN(v) ? null : v;
  });
  return out;
}
