/**
 * Per-row attributions of a model's raw score to its features (SHAP values or a documented
 * approximation): `base + Σ_j values[r·d + j] = raw[r]` for every row, to float64 rounding.
 */
export interface FeatureAttributions {
  /** How they were computed, e.g. `tree-shap` (exact), `linear-shap`, `sequence-shapley`, `stacked`. */
  method: string;
  /** What `raw` and `base` are: a logit, or a probability. */
  scoreKind: 'logit' | 'probability';
  featureNames: readonly string[];
  rows: number;
  /** The expected raw score, the same for every row. */
  base: number;
  /** Attributions, row-major `[rows, d]`; positive raises the raw score (the risk). */
  values: Float64Array;
  /** Raw score per row (float64). */
  raw: Float64Array;
  /** P(positive) per row as the model serves it. */
  probability: Float32Array;
  /** The feature values the attributions refer to, `[rows, d]` (a sequence model's last step). */
  x: Float32Array;
}
