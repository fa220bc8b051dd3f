import type { ModelArtifact } from '@vigil/core';
import { createModelArtifact, MODEL_INPUT_NAME } from '../artifact/model-artifact.js';
import { modelTail } from '../calibration/calibration-onnx.js';
import type { Calibrator } from '../calibration/calibrator.js';
import { encodeOnnxModel } from '../onnx/onnx-codec.js';
import { floatTensor, node, tensorValueInfo } from '../onnx/onnx-graph.js';
import { OnnxDataType } from '../onnx/onnx-schema.js';

/** `metadata_props` key naming which Vigil model family built the graph. */
export const MODEL_KIND_KEY = 'vigil.model';
/** `metadata_props` key holding the JSON array of feature names. */
export const FEATURE_NAMES_KEY = 'vigil.feature_names';
/** Default-domain opset all Vigil graphs import. */
export const ONNX_OPSET = 17;

export interface LogisticRegressionOnnxOptions {
  /** One coefficient per feature, on the raw (unstandardised) feature scale. */
  weights: number[];
  bias: number;
  featureNames: string[];
  /** Value substituted for a NaN in each column before scoring (training means); default 0. */
  imputeValues?: number[];
  /** Extra `metadata_props` (e.g. training provenance); keys must not start with `vigil.`. */
  metadata?: Record<string, string>;
  /** A calibrator of the logit, put inside the graph (see {@link modelTail}). */
  calibration?: Calibrator;
}

/**
 * Build a logistic-regression model as ONNX: `x' = Where(IsNaN(x), impute, x)`,
 * `logit = x' · weights + bias`, then the shared probability head.
 *
 * I/O contract (all Vigil models): input `input` FP32 `[-1, d]` (NaN = missing, columns in
 * `featureNames` order); outputs `label` INT64 `[-1]` (1 when P > 0.5) and `probabilities`
 * FP32 `[-1, 2]`, column 1 = P(adverse event). The returned artifact has `inputs`, `outputs`,
 * `featureNames` and `sha256` filled in. Weights are stored as float32; the bytes are
 * deterministic (no timestamps, producer `vigil` 0.1.0, stable ordering).
 */
export function logisticRegressionOnnx(options: LogisticRegressionOnnxOptions): ModelArtifact {
  const { weights, bias, featureNames } = options;
  const d = featureNames.length;
  if (d === 0) throw new RangeError('logisticRegressionOnnx: featureNames is empty');
  if (weights.length !== d) {
    throw new RangeError(
      `logisticRegressionOnnx: weights has ${weights.length} entries, featureNames has ${d}`,
    );
  }
  const impute = options.imputeValues ?? new Array<number>(d).fill(0);
  if (impute.length !== d) {
    throw new RangeError(`logisticRegressionOnnx: imputeValues has ${impute.length} entries, expected ${d}`);
  }
  for (const [name, values] of [
    ['weights', weights],
    ['imputeValues', impute],
    ['bias', [bias]],
  ] as const) {
    if (values.some((v) => !Number.isFinite(v))) {
      throw new RangeError(`logisticRegressionOnnx: ${name} must be finite numbers`);
    }
  }
  const head = modelTail('logit', 'logit', options.calibration);
  const graph = {
    name: 'vigil_logistic',
    node: [
      node('IsNaN', [MODEL_INPUT_NAME], ['input_isnan']),
      node('Where', ['input_isnan', 'impute', MODEL_INPUT_NAME], ['input_imputed']),
      node('MatMul', ['input_imputed', 'coef'], ['margin']),
      node('Add', ['margin', 'intercept'], ['logit']),
      ...head.nodes,
    ],
    initializer: [
      floatTensor('impute', [d], impute),
      floatTensor('coef', [d, 1], weights),
      floatTensor('intercept', [1], [bias]),
      ...head.initializers,
    ],
    input: [tensorValueInfo(MODEL_INPUT_NAME, OnnxDataType.FLOAT, [-1, d])],
    output: head.outputs,
  };
  const extra = options.metadata ?? {};
  for (const key of Object.keys(extra)) {
    if (key.startsWith('vigil.'))
      throw new RangeError(`logisticRegressionOnnx: metadata key '${key}' is reserved`);
  }
  const bytes = encodeOnnxModel({
    graph,
    opsets: [{ domain: '', version: ONNX_OPSET }],
    metadata: {
      ...extra,
      ...head.metadata,
      [MODEL_KIND_KEY]: 'logistic',
      [FEATURE_NAMES_KEY]: JSON.stringify(featureNames),
    },
    docString: 'Vigil logistic regression: P(adverse event) = sigmoid(x·w + b), NaN imputed.',
  });
  return createModelArtifact(bytes, featureNames);
}
