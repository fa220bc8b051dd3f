import type { FeatureAttributions } from '@vigil/core';
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
export interface Explanation extends FeatureAttributions {
  kind: ModelKind;
  method: ExplanationMethod;
  scoreKind: ScoreKind;
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
