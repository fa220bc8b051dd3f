import { type ModelArtifact, VigilError } from '@vigil/core';
import { CART_SAMPLES_KEY } from '../cart/cart-onnx.js';
import { STACK_NAMES } from '../ensemble/stack-onnx.js';
import { GBT_COVER_KEY } from '../gbt/gbt-onnx.js';
import { type DecodedModel, decodeOnnxModel } from '../onnx/onnx-codec.js';
import { type CompiledModel, compileArtifact } from '../scoring/compile-artifact.js';
import { compileTcn } from '../tcn/tcn-scorer.js';
import type { ArtifactExplainer, Explanation, ExplanationMethod, MemberExplanation } from './explanation.js';
import { sequenceShapley } from './sequence-shapley.js';
import { decodeTreeEnsemble, decodeTreeEnsembleCountingRows, type TreeEnsemble } from './tree-ensemble.js';
import { TreeShap } from './tree-shap.js';

export interface ExplainArtifactOptions {
  /**
   * Rows (`[rows, d]`, one per patient-day, NaN = missing) to count the trees' node cover from,
   * instead of the cover stored in the artifact (`vigil.gbt.node_cover`): for GBT or ensemble
   * artifacts exported before the cover was stored. Pass the training rows to get what the export
   * stores. Ignored for other kinds.
   */
  coverRows?: { x: Float32Array; rows: number };
}

/** What one model kind computes for a batch; the shared parts are filled in by explainArtifact. */
interface Attributions {
  base: number;
  values: Float64Array;
  raw: Float64Array;
  members?: MemberExplanation[];
}

interface Method {
  method: ExplanationMethod;
  base: number;
  attribute(x: Float32Array, rows: number): Attributions;
}

function unsupported(message: string): VigilError {
  return new VigilError('VIGIL_EXPLAIN_UNSUPPORTED', message);
}

function parseJson(model: DecodedModel, key: string): unknown {
  const text = model.metadata.get(key);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new VigilError('VIGIL_TRAINER_INVALID_DATASET', `artifact metadata ${key} is not valid JSON`, {
      cause: error,
    });
  }
}

/** The GBT trees (of a gbt or ensemble model) with their stored cover, or cover counted from rows. */
function gbtTrees(model: DecodedModel, d: number, options: ExplainArtifactOptions): TreeEnsemble {
  if (options.coverRows) {
    return decodeTreeEnsembleCountingRows(model, d, options.coverRows.x, options.coverRows.rows);
  }
  const cover = parseJson(model, GBT_COVER_KEY);
  if (cover === undefined) {
    throw unsupported(
      `the artifact has no ${GBT_COVER_KEY} metadata (exported before node cover was stored): retrain it, or pass options.coverRows (its training rows)`,
    );
  }
  if (!Array.isArray(cover) || !cover.every((t) => Array.isArray(t))) {
    throw unsupported(`${GBT_COVER_KEY} is not an array of per-tree arrays`);
  }
  return decodeTreeEnsemble(model, d, cover as number[][]);
}

function treeMethod(trees: TreeEnsemble): Method {
  const shap = new TreeShap(trees);
  const d = trees.featureCount;
  return {
    method: 'tree-shap',
    base: shap.expected,
    attribute(x, rows) {
      const values = new Float64Array(rows * d);
      const raw = new Float64Array(rows);
      for (let r = 0; r < rows; r++) {
        shap.explainRow(x, r * d, values, r * d);
        raw[r] = shap.raw(x, r * d);
      }
      return { base: shap.expected, values, raw };
    },
  };
}

/**
 * Exact SHAP of the logistic model's logit `b + Σ w_j · x̃_j` (x̃ = x, NaN → the training mean the
 * graph imputes): with the features taken as independent, φ_j = w_j · (x̃_j − mean_j) and the base
 * value `b + Σ w_j · mean_j` is the mean training logit. A missing value gets 0.
 */
function logisticMethod(model: DecodedModel, d: number): Method {
  const w = model.initializers.get('coef')?.values ?? [];
  const mean = model.initializers.get('impute')?.values ?? [];
  const b = model.initializers.get('intercept')?.values[0] ?? 0;
  let base = b;
  for (let j = 0; j < d; j++) base += w[j]! * mean[j]!;
  return {
    method: 'linear-shap',
    base,
    attribute(x, rows) {
      const values = new Float64Array(rows * d);
      const raw = new Float64Array(rows);
      for (let r = 0; r < rows; r++) {
        let z = b;
        for (let j = 0; j < d; j++) {
          const v = x[r * d + j]!;
          const filled = Number.isNaN(v) ? mean[j]! : v;
          values[r * d + j] = w[j]! * (filled - mean[j]!);
          z += w[j]! * filled;
        }
        raw[r] = z;
      }
      return { base, values, raw };
    },
  };
}

function tcnMethod(model: DecodedModel, d: number): Method & { width: number } {
  const tcn = compileTcn(model, d);
  const L = tcn.featureCount / d;
  const base = sequenceShapley(tcn.rawScore, new Float32Array(L * d).fill(Number.NaN), 1, L, d).base;
  return {
    method: 'sequence-shapley',
    base,
    width: tcn.featureCount,
    attribute(x, rows) {
      return sequenceShapley(tcn.rawScore, x, rows, L, d);
    },
  };
}

/** The last d columns of each `[rows, L·d]` row: the current row the GBT member reads. */
function lastStep(x: Float32Array, rows: number, width: number, d: number): Float32Array {
  const out = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) out.set(x.subarray((r + 1) * width - d, (r + 1) * width), r * d);
  return out;
}

/**
 * The stacked ensemble, `logit = w_gbt · gbt + w_tcn · tcn + b`: exact TreeSHAP of the GBT member
 * on the last step and the TCN member's sequence Shapley values, each times its stacker weight,
 * added per feature. Base = w_gbt · (GBT base) + w_tcn · (TCN base) + b. Local accuracy holds
 * because it holds for each member and the stack is linear.
 */
function ensembleMethod(model: DecodedModel, d: number, options: ExplainArtifactOptions): Method {
  const gbt = treeMethod(gbtTrees(model, d, options));
  const tcn = tcnMethod(model, d);
  const weight = (name: string) => {
    const v = model.initializers.get(name)?.values[0];
    if (v === undefined) {
      throw new VigilError('VIGIL_TRAINER_INVALID_DATASET', `ensemble initializer ${name} is missing`);
    }
    return v;
  };
  const wGbt = weight(STACK_NAMES.gbt);
  const wTcn = weight(STACK_NAMES.tcn);
  const b = weight(STACK_NAMES.intercept);
  const base = wGbt * gbt.base + wTcn * tcn.base + b;
  return {
    method: 'stacked',
    base,
    attribute(x, rows) {
      const g = gbt.attribute(lastStep(x, rows, tcn.width, d), rows);
      const t = tcn.attribute(x, rows);
      const values = new Float64Array(rows * d);
      for (let i = 0; i < values.length; i++) values[i] = wGbt * g.values[i]! + wTcn * t.values[i]!;
      const raw = new Float64Array(rows);
      for (let r = 0; r < rows; r++) raw[r] = wGbt * g.raw[r]! + wTcn * t.raw[r]! + b;
      const members: MemberExplanation[] = [
        { member: 'gbt', method: 'tree-shap', weight: wGbt, base: g.base, values: g.values, raw: g.raw },
        {
          member: 'tcn',
          method: 'sequence-shapley',
          weight: wTcn,
          base: t.base,
          values: t.values,
          raw: t.raw,
        },
      ];
      return { base, values, raw, members };
    },
  };
}

function methodFor(
  compiled: CompiledModel,
  model: DecodedModel,
  d: number,
  options: ExplainArtifactOptions,
): Method {
  switch (compiled.kind) {
    case 'gbt':
      return treeMethod(gbtTrees(model, d, options));
    case 'cart': {
      const samples = parseJson(model, CART_SAMPLES_KEY);
      if (!Array.isArray(samples)) throw unsupported(`the CART artifact has no ${CART_SAMPLES_KEY} metadata`);
      return treeMethod(decodeTreeEnsemble(model, d, [samples as number[]]));
    }
    case 'logistic':
      return logisticMethod(model, d);
    case 'tcn':
      return tcnMethod(model, d);
    case 'ensemble':
      return ensembleMethod(model, d, options);
  }
}

/**
 * P(event) as the model serves it. For the TCN the attributions' raw score is the scorer's own
 * float32 logit, so the tail applies to it directly (no second forward pass); the others are
 * scored again, because their float64 raw score is not the graph's float32 one.
 */
function probabilityOf(
  compiled: CompiledModel,
  x: Float32Array,
  rows: number,
  raw: Float64Array,
): Float32Array {
  if (compiled.kind !== 'tcn') return compiled.score(x, rows);
  return Float32Array.from(raw, (s) => compiled.toProbability(s));
}

/**
 * An explainer for a model artifact of this package, decoded from its own ONNX bytes: per row,
 * the attribution of the model's raw score (logit before calibrator and sigmoid; CART: P(event))
 * to each feature, with `base + Σ values = raw`.
 *
 * - `gbt`, `cart`: exact path-dependent TreeSHAP with node cover = training rows per node
 *   (`vigil.gbt.node_cover`, `vigil.cart.node_samples`); a missing value follows each split's
 *   learned direction. Base = mean raw score over the training rows.
 * - `logistic`: exact linear SHAP (features independent, missing → training mean).
 * - `tcn`: {@link sequenceShapley} — per feature over all time steps, against the all-missing
 *   sequence; an approximation, exact without interactions among three or more features.
 * - `ensemble`: the members explained apart and combined with the stacker weights.
 *
 * Errors: not a Vigil artifact → `VIGIL_TRAINER_INVALID_DATASET` (as compileArtifact); no stored
 * cover and no `coverRows` → `VIGIL_EXPLAIN_UNSUPPORTED`; `x` not `rows × featureCount` →
 * `VIGIL_EXPLAIN_INVALID_REQUEST`.
 */
export function explainArtifact(
  artifact: ModelArtifact,
  options: ExplainArtifactOptions = {},
): ArtifactExplainer {
  const compiled = compileArtifact(artifact);
  const model = decodeOnnxModel(artifact.bytes);
  const featureNames = [...artifact.featureNames];
  const d = featureNames.length;
  const width = compiled.featureCount;
  const method = methodFor(compiled, model, d, options);
  return {
    kind: compiled.kind,
    method: method.method,
    scoreKind: compiled.scoreKind,
    featureNames,
    featureCount: width,
    base: method.base,
    explain(x: Float32Array, rows: number): Explanation {
      if (!Number.isInteger(rows) || rows < 0 || !(x instanceof Float32Array) || x.length !== rows * width) {
        throw new VigilError(
          'VIGIL_EXPLAIN_INVALID_REQUEST',
          `x must be a Float32Array of rows × ${width} values (rows = ${rows}), got ${
            x instanceof Float32Array ? `${x.length} values` : typeof x
          }`,
        );
      }
      const a = method.attribute(x, rows);
      const explanation: Explanation = {
        kind: compiled.kind,
        method: method.method,
        scoreKind: compiled.scoreKind,
        featureNames,
        rows,
        base: a.base,
        values: a.values,
        raw: a.raw,
        probability: probabilityOf(compiled, x, rows, a.raw),
        x: width === d ? x.slice() : lastStep(x, rows, width, d),
      };
      if (a.members) explanation.members = a.members;
      return explanation;
    },
  };
}
