import { type ModelArtifact, VigilError } from '@vigil/core';
import { MODEL_KIND_KEY } from '../logistic/logistic-regression-onnx.js';
import { decodeOnnxModel } from '../onnx/onnx-codec.js';
import { compileArtifact } from '../scoring/compile-artifact.js';
import { CART_SAMPLES_KEY } from './cart-onnx.js';
import { type CartTree, PRESENCE_THRESHOLD } from './cart-tree.js';

/** What a path says about one feature: `lower < x ≤ upper`, and whether a missing value takes it. */
export interface RuleCondition {
  feature: string;
  /** Exclusive lower bound (`x > lower`), absent when none. */
  lower?: number;
  /** Inclusive upper bound (`x ≤ upper`), absent when none. */
  upper?: number;
  /** A missing (NaN) value follows this path. */
  missing: boolean;
  /** Only a missing value follows this path (no value range). */
  missingOnly: boolean;
}

/** One leaf of a CART tree as a rule. */
export interface CartRule {
  /** Conditions in the order their features are first split on along the path. */
  conditions: RuleCondition[];
  /** P(adverse event) the model serves for rows reaching this leaf (calibrated when the artifact is). */
  risk: number;
  /** Training rows that reached the leaf. */
  n: number;
  /** e.g. `IF alt > 120 AND days_since_lab ≤ 3 THEN risk 0.31 (n=412)`. */
  text: string;
}

interface PlainTree {
  feature: ArrayLike<number>;
  threshold: ArrayLike<number>;
  missingLeft: ArrayLike<number>;
  left: ArrayLike<number>;
  right: ArrayLike<number>;
  value: ArrayLike<number>;
  samples: ArrayLike<number>;
}

/** Shortest decimal that reads back as the same float32 (thresholds are float32 data values). */
function formatThreshold(v: number): string {
  for (let digits = 1; digits <= 9; digits++) {
    const text = Number(v.toPrecision(digits));
    if (Math.fround(text) === Math.fround(v)) return String(text);
  }
  return String(v);
}

function describe(c: RuleCondition): string {
  if (c.missingOnly) return `${c.feature} is missing`;
  let range: string;
  if (c.lower !== undefined && c.upper !== undefined) {
    range = `${formatThreshold(c.lower)} < ${c.feature} ≤ ${formatThreshold(c.upper)}`;
  } else if (c.lower !== undefined) range = `${c.feature} > ${formatThreshold(c.lower)}`;
  else if (c.upper !== undefined) range = `${c.feature} ≤ ${formatThreshold(c.upper)}`;
  else range = `${c.feature} is present`;
  return c.missing ? `(${range} or ${c.feature} is missing)` : range;
}

function fromArtifact(artifact: ModelArtifact): { tree: PlainTree; toRisk: (p: number) => number } {
  const model = decodeOnnxModel(artifact.bytes);
  if (model.metadata.get(MODEL_KIND_KEY) !== 'cart') {
    throw new VigilError(
      'VIGIL_TRAINER_INVALID_DATASET',
      `cartRules: the artifact is a '${model.metadata.get(MODEL_KIND_KEY)}' model, not a 'cart' tree`,
    );
  }
  const ensemble = model.nodes.find((n) => n.opType === 'TreeEnsembleRegressor')!;
  const ints = (name: string) => ensemble.attributes.get(name)?.ints ?? [];
  const nodeIds = ints('nodes_nodeids');
  const count = nodeIds.length;
  const feature = new Int32Array(count).fill(-1);
  const threshold = new Float64Array(count);
  const missingLeft = new Uint8Array(count);
  const left = new Int32Array(count).fill(-1);
  const right = new Int32Array(count).fill(-1);
  const value = new Float64Array(count);
  const modes = ensemble.attributes.get('nodes_modes')?.strings ?? [];
  const values = ensemble.attributes.get('nodes_values')?.floats ?? [];
  const featureIds = ints('nodes_featureids');
  const trueIds = ints('nodes_truenodeids');
  const falseIds = ints('nodes_falsenodeids');
  const tracks = ints('nodes_missing_value_tracks_true');
  for (let i = 0; i < count; i++) {
    const id = nodeIds[i]!;
    if (modes[i] === 'LEAF') continue;
    feature[id] = featureIds[i]!;
    threshold[id] = values[i]!;
    missingLeft[id] = tracks[i] ?? 0;
    left[id] = trueIds[i]!;
    right[id] = falseIds[i]!;
  }
  const targetNodes = ints('target_nodeids');
  const weights = ensemble.attributes.get('target_weights')?.floats ?? [];
  targetNodes.forEach((id, k) => {
    value[id] = weights[k]!;
  });
  const samples = JSON.parse(model.metadata.get(CART_SAMPLES_KEY) ?? '[]') as number[];
  const compiled = compileArtifact(artifact);
  return {
    tree: { feature, threshold, missingLeft, left, right, value, samples },
    toRisk: (p) => compiled.toProbability(p),
  };
}

/**
 * The leaves of a CART tree as plain-language rules, left to right, e.g.
 * `IF alt > 120 AND days_since_lab ≤ 3 THEN risk 0.31 (n=412)`. Conditions on the same
 * feature along a path are merged into one range; where a missing value follows the path the
 * condition says so (`(alt ≤ 120 or alt is missing)`). From an artifact, `risk` is what the
 * model serves (after its calibrator, if any) and `featureNames` defaults to the artifact's.
 */
export function cartRules(source: ModelArtifact | CartTree, featureNames?: readonly string[]): CartRule[] {
  let tree: PlainTree;
  let toRisk = (p: number) => p;
  let names: readonly string[];
  if ('bytes' in source) {
    ({ tree, toRisk } = fromArtifact(source));
    names = featureNames ?? source.featureNames;
  } else {
    tree = { ...source.tree, samples: source.samples };
    if (!featureNames) throw new RangeError('cartRules: featureNames are required for a bare tree');
    names = featureNames;
  }
  const rules: CartRule[] = [];
  const walk = (id: number, path: Map<number, RuleCondition>) => {
    const f = tree.feature[id]!;
    if (f < 0) {
      const conditions = [...path.values()].map((c) => ({ ...c }));
      const risk = toRisk(tree.value[id]!);
      const n = tree.samples[id] ?? 0;
      const premise = conditions.length === 0 ? 'always' : conditions.map(describe).join(' AND ');
      rules.push({ conditions, risk, n, text: `IF ${premise} THEN risk ${risk.toFixed(2)} (n=${n})` });
      return;
    }
    const name = names[f] ?? `feature_${f}`;
    const t = tree.threshold[id]!;
    const presence = Math.fround(t) === Math.fround(PRESENCE_THRESHOLD);
    for (const side of ['left', 'right'] as const) {
      const next = new Map(path);
      const prior = next.get(f);
      const c: RuleCondition = prior ? { ...prior } : { feature: name, missing: true, missingOnly: false };
      const takesMissing = (tree.missingLeft[id] === 1) === (side === 'left');
      c.missing = c.missing && takesMissing;
      if (presence) {
        if (side === 'right') c.missingOnly = true;
      } else if (side === 'left') c.upper = c.upper === undefined ? t : Math.min(c.upper, t);
      else c.lower = c.lower === undefined ? t : Math.max(c.lower, t);
      if (c.lower !== undefined && c.upper !== undefined && c.lower >= c.upper) c.missingOnly = true;
      if (c.missingOnly) {
        c.missing = true;
        delete c.lower;
        delete c.upper;
      }
      next.set(f, c);
      walk(side === 'left' ? tree.left[id]! : tree.right[id]!, next);
    }
  };
  walk(0, new Map());
  return rules;
}
