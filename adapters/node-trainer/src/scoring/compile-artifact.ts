import { type ModelArtifact, VigilError } from '@vigil/core';
import { CALIBRATION_KEY, type ScoreKind } from '../calibration/calibration-onnx.js';
import { STACK_NAMES } from '../ensemble/stack-onnx.js';
import { FEATURE_NAMES_KEY, MODEL_KIND_KEY } from '../logistic/logistic-regression-onnx.js';
import { type DecodedModel, decodeOnnxModel } from '../onnx/onnx-codec.js';
import { QUANTIZATION_KEY } from '../onnx/quantize.js';
import { compileTcn } from '../tcn/tcn-scorer.js';
import { decodeTreeEnsembleNode } from './tree-ensemble-node.js';

export type ModelKind = 'logistic' | 'gbt' | 'cart' | 'tcn' | 'ensemble';

/** Scores rows with a model decoded from its own ONNX bytes; returns P(adverse event) per row. */
export interface CompiledModel {
  readonly kind: ModelKind;
  /** Input columns per row: d, or L·d for a TCN (its flattened sequence). */
  readonly featureCount: number;
  /** What the model body hands the tail: a logit (gbt, logistic) or P(event) (cart). */
  readonly scoreKind: ScoreKind;
  /** The calibrator inside the graph, if any. */
  readonly calibration: 'platt' | 'isotonic' | undefined;
  /** The body's score per row (before Sigmoid and calibration), float32 as onnxruntime computes it. */
  rawScore(x: Float32Array, rows: number): Float32Array;
  /** The graph's tail: one raw score to the served P(adverse event), float32 as onnxruntime computes it. */
  toProbability(score: number): number;
  /** P(adverse event) per row. */
  score(x: Float32Array, rows: number): Float32Array;
}

interface Body {
  kind: ModelKind;
  featureCount: number;
  scoreKind: ScoreKind;
  rawScore(x: Float32Array, rows: number): Float32Array;
}

const f32 = Math.fround;

/** Sigmoid as onnxruntime's float kernel sees it: input and output rounded to float32. */
function sigmoid(z: number): number {
  return f32(1 / (1 + Math.exp(-f32(z))));
}

function invalidArtifact(reason: string): VigilError {
  return new VigilError(
    'VIGIL_TRAINER_INVALID_DATASET',
    `artifact is not a Vigil node-trainer model: ${reason}`,
  );
}

function compileLogistic(model: DecodedModel, d: number): Body {
  const coef = model.initializers.get('coef')?.values;
  const impute = model.initializers.get('impute')?.values;
  const intercept = model.initializers.get('intercept')?.values[0];
  if (!coef || !impute || intercept === undefined || coef.length !== d || impute.length !== d) {
    throw invalidArtifact('logistic initializers coef/impute/intercept are missing or mis-sized');
  }
  const w = Float64Array.from(coef);
  const m = Float64Array.from(impute);
  return {
    kind: 'logistic',
    featureCount: d,
    scoreKind: 'logit',
    rawScore(x, rows) {
      const out = new Float32Array(rows);
      for (let r = 0; r < rows; r++) {
        const base = r * d;
        let z = 0;
        for (let j = 0; j < d; j++) {
          const v = x[base + j]!;
          // float32 multiply-add, as onnxruntime's MatMul accumulates.
          z = f32(z + w[j]! * (Number.isNaN(v) ? m[j]! : v));
        }
        out[r] = f32(z + intercept);
      }
      return out;
    },
  };
}

function compileTrees(model: DecodedModel, d: number, kind: 'gbt' | 'cart'): Body {
  const { base, roots, feature, threshold, strict, missingLeft, left, right, leafValue } =
    decodeTreeEnsembleNode(model, d);
  const treeCount = roots.length;
  return {
    kind,
    featureCount: d,
    scoreKind: kind === 'gbt' ? 'logit' : 'probability',
    rawScore(x, rows) {
      const out = new Float32Array(rows);
      for (let r = 0; r < rows; r++) {
        const rowBase = r * d;
        // onnxruntime sums leaf weights in float32, tree by tree, then adds the base value.
        let z = 0;
        for (let t = 0; t < treeCount; t++) {
          let i = roots[t]!;
          while (left[i]! >= 0) {
            const v = x[rowBase + feature[i]!]!;
            let goLeft: boolean;
            if (Number.isNaN(v)) goLeft = missingLeft[i] === 1;
            else goLeft = strict[i] === 1 ? v < threshold[i]! : v <= threshold[i]!;
            i = goLeft ? left[i]! : right[i]!;
          }
          z = f32(z + leafValue[i]!);
        }
        out[r] = f32(z + base);
      }
      return out;
    },
  };
}

/**
 * The stacked ensemble (see stackOnnx): the TCN on the whole `[rows, L·d]` input, the GBT on its
 * last d columns, `logit = gbt · w_gbt + tcn · w_tcn + b` in float32 steps as the graph's
 * Mul, Mul, Add, Add compute it.
 */
function compileEnsemble(model: DecodedModel, d: number): Body {
  const tcn = compileTcn(model, d);
  const gbt = compileTrees(model, d, 'gbt');
  const weight = (name: string) => {
    const v = model.initializers.get(name)?.values[0];
    if (v === undefined) throw invalidArtifact(`ensemble initializer ${name} is missing`);
    return v;
  };
  const wGbt = weight(STACK_NAMES.gbt);
  const wTcn = weight(STACK_NAMES.tcn);
  const b = weight(STACK_NAMES.intercept);
  const width = tcn.featureCount;
  return {
    kind: 'ensemble',
    featureCount: width,
    scoreKind: 'logit',
    rawScore(x, rows) {
      const last = new Float32Array(rows * d);
      for (let r = 0; r < rows; r++) last.set(x.subarray(r * width + width - d, (r + 1) * width), r * d);
      const g = gbt.rawScore(last, rows);
      const t = tcn.rawScore(x, rows);
      const out = new Float32Array(rows);
      for (let r = 0; r < rows; r++) out[r] = f32(f32(f32(g[r]! * wGbt) + f32(t[r]! * wTcn)) + b);
      return out;
    },
  };
}

function initializer(model: DecodedModel, name: string): number[] {
  const values = model.initializers.get(name)?.values;
  if (!values || values.length === 0) throw invalidArtifact(`calibration initializer ${name} is missing`);
  return values;
}

/** The graph's tail (see modelTail): a raw score to P(adverse event), in float32 steps. */
function compileTail(
  model: DecodedModel,
  scoreKind: ScoreKind,
): Pick<CompiledModel, 'calibration' | 'toProbability'> {
  const method = model.metadata.get(CALIBRATION_KEY);
  if (method === undefined) {
    return {
      calibration: undefined,
      toProbability: scoreKind === 'logit' ? sigmoid : (s) => s,
    };
  }
  if (method === 'platt') {
    const slope = initializer(model, 'platt_slope')[0]!;
    const intercept = initializer(model, 'platt_intercept')[0]!;
    return { calibration: 'platt', toProbability: (s) => sigmoid(f32(f32(s * slope) + intercept)) };
  }
  if (method === 'isotonic') {
    const lo = initializer(model, 'iso_lo');
    const hi = initializer(model, 'iso_hi');
    const slope = initializer(model, 'iso_slope');
    const base = initializer(model, 'iso_base')[0]!;
    if (hi.length !== lo.length || slope.length !== lo.length) {
      throw invalidArtifact('isotonic initializers iso_lo/iso_hi/iso_slope differ in length');
    }
    return {
      calibration: 'isotonic',
      toProbability(s) {
        let rise = 0;
        for (let k = 0; k < lo.length; k++) {
          const ramp = f32(Math.min(Math.max(s, lo[k]!), hi[k]!) - lo[k]!);
          rise = f32(rise + f32(ramp * slope[k]!));
        }
        return Math.min(Math.max(f32(rise + base), 0), 1);
      },
    };
  }
  throw invalidArtifact(`unknown ${CALIBRATION_KEY} '${method}'`);
}

/** Decode an artifact built by this package (logistic, GBT or CART, calibrated or not) into a TypeScript scorer. */
export function compileArtifact(artifact: ModelArtifact): CompiledModel {
  if (artifact.format !== 'onnx' || !(artifact.bytes instanceof Uint8Array)) {
    throw invalidArtifact('format must be onnx with bytes');
  }
  let model: DecodedModel;
  try {
    model = decodeOnnxModel(artifact.bytes);
  } catch (error) {
    throw new VigilError('VIGIL_TRAINER_INVALID_DATASET', 'artifact bytes are not a valid ONNX model', {
      cause: error,
    });
  }
  if (model.metadata.has(QUANTIZATION_KEY))
    throw invalidArtifact(
      `it is int8-quantised (${QUANTIZATION_KEY}); this TypeScript scorer reads float models only, so score it with onnxruntime (the server does)`,
    );
  const kind = model.metadata.get(MODEL_KIND_KEY);
  const names = JSON.parse(model.metadata.get(FEATURE_NAMES_KEY) ?? '[]') as string[];
  const d = names.length;
  if (d === 0 || d !== artifact.featureNames.length) {
    throw invalidArtifact(`its ${FEATURE_NAMES_KEY} metadata disagrees with artifact.featureNames`);
  }
  let body: Body;
  if (kind === 'logistic') body = compileLogistic(model, d);
  else if (kind === 'gbt' || kind === 'cart') body = compileTrees(model, d, kind);
  else if (kind === 'tcn') body = compileTcn(model, d);
  else if (kind === 'ensemble') body = compileEnsemble(model, d);
  else throw invalidArtifact(`unknown ${MODEL_KIND_KEY} '${kind}'`);
  const tail = compileTail(model, body.scoreKind);
  const { toProbability } = tail;
  return {
    ...body,
    ...tail,
    score(x, rows) {
      const raw = body.rawScore(x, rows);
      for (let r = 0; r < rows; r++) raw[r] = toProbability(raw[r]!);
      return raw;
    },
  };
}
