import type { ScoreKind } from '../calibration/calibration-onnx.js';
import type { ModelKind } from '../scoring/compile-artifact.js';

/**
 * How the attributions were computed:
 * - `tree-shap`: exact path-dependent TreeSHAP (gbt, cart);
 * - `linear-shap`: exact SHAP of a linear model with independent features (logistic);
 * - `sequence-shapley`: the TCN approximation (see sequenceShapley);
 * - `stacked`: the ensemble's members explained apart and combined with the stacker's weights.
 */
export type ExplanationMethod = 'tree-shap' | 'linear-shap' | 'sequence-shapley' | 'stacked';

/** One member's part of a stacked explanation, before its stacker weight. */
export interface MemberExplanation {
  member: 'gbt' | 'tcn';
  method: ExplanationMethod;
  /** The stacker's weight of this member's logit. */
  weight: number;
  /** The member's own base value (its logit before the weight). */
  base: number;
  /** The member's own attributions, row-major `[rows, d]` (before the weight). */
  values: Float64Array;
  /** The member's own logit per row. */
  raw: Float64Array;
}

/**
 * Per-row attributions of a model's raw score (the logit before the calibrator and sigmoid; for
 * CART, P(event) from its leaf) to its d features: `base + Σ_j values[r·d + j] = raw[r]` (to
 * float64 rounding) for every row.
 */
export interface Explanation {
  kind: ModelKind;
  method: ExplanationMethod;
  /** What `raw` and `base` are: a logit, or (cart) a probability. */
  scoreKind: ScoreKind;
  featureNames: readonly string[];
  rows: number;
  /** The base value, the same for every row: the expected raw score (see each method). */
  base: number;
  /** Attributions, row-major `[rows, d]`; positive raises the raw score (the risk). */
  values: Float64Array;
  /**
   * Raw score per row in float64 arithmetic over the graph's float32 parameters, which the
   * attributions add up to. The graph's own float32 score differs only by float32 rounding.
   */
  raw: Float64Array;
  /** P(adverse event) per row as the model serves it (after calibrator), float32. */
  probability: Float32Array;
  /** The feature values the attributions refer to, `[rows, d]`: for a sequence input, the last step (the current row). */
  x: Float32Array;
  /** For `stacked`: each member's own explanation and weight. */
  members?: MemberExplanation[];
}

/** An artifact's explainer (see explainArtifact). */
export interface ArtifactExplainer {
  kind: ModelKind;
  method: ExplanationMethod;
  scoreKind: ScoreKind;
  featureNames: readonly string[];
  /** Input columns per row: d, or L·d for a sequence model (tcn, ensemble). */
  featureCount: number;
  /** The base value (expected raw score), as in every explanation. */
  base: number;
  /** Explain `rows` rows of `x` (row-major, `featureCount` columns, NaN = missing). */
  explain(x: Float32Array, rows: number): Explanation;
}
