import type { ModelArtifact } from '@vigil/core';
import { createModelArtifact, MODEL_INPUT_NAME } from '../artifact/model-artifact.js';
import { modelTail } from '../calibration/calibration-onnx.js';
import type { Calibrator } from '../calibration/calibrator.js';
import { GBT_COVER_KEY, ONNX_ML_OPSET } from '../gbt/gbt-onnx.js';
import { FEATURE_NAMES_KEY, MODEL_KIND_KEY, ONNX_OPSET } from '../logistic/logistic-regression-onnx.js';
import { decodeOnnxModel, encodeOnnxModel } from '../onnx/onnx-codec.js';
import {
  floatTensor,
  int64Tensor,
  node,
  type OnnxNodeMessage,
  type OnnxTensorMessage,
  tensorValueInfo,
} from '../onnx/onnx-graph.js';
import { OnnxDataType, onnxModelType } from '../onnx/onnx-schema.js';
import { TCN_ARCHITECTURE_KEY } from '../tcn/tcn-onnx.js';
import type { Stacker } from './stacker.js';

/** `metadata_props` key describing the stack ({@link EnsembleDescription}, JSON). */
export const ENSEMBLE_KEY = 'vigil.ensemble';

export interface EnsembleDescription {
  /** The members, in the order of `weights`. */
  members: ['gbt', 'tcn'];
  weights: number[];
  intercept: number;
  /** Folds the out-of-fold predictions the stacker was fitted on came from. */
  folds: number;
  /** L: the input is `[N, L·d]`; the GBT reads the last d columns (the current row). */
  sequenceLength: number;
}

/** Initializer names of the stacking layer. */
export const STACK_NAMES = { gbt: 'stack_w_gbt', tcn: 'stack_w_tcn', intercept: 'stack_b' } as const;

interface RawGraph {
  node?: OnnxNodeMessage[];
  initializer?: OnnxTensorMessage[];
}

/**
 * The part of a member's graph that computes its `logit`, taken from the member's own bytes:
 * the nodes `logit` depends on and the initializers they read, every name but the graph input
 * given `prefix` (names that already carry it are kept), the graph input renamed to `input`.
 * Tensors are copied as stored, so the member computes exactly what it did alone.
 */
function memberBody(
  bytes: Uint8Array,
  prefix: string,
  input: string,
): { nodes: OnnxNodeMessage[]; initializers: OnnxTensorMessage[]; logit: string } {
  const type = onnxModelType();
  const graph = (type.toObject(type.decode(bytes), { longs: Number, arrays: true }) as { graph?: RawGraph })
    .graph;
  const nodes = graph?.node ?? [];
  const producer = new Map<string, OnnxNodeMessage>();
  for (const n of nodes) for (const o of n.output) producer.set(o, n);
  if (!producer.has('logit')) throw new Error(`ensemble member (${prefix}) has no 'logit' tensor`);
  const needed = new Set<OnnxNodeMessage>();
  const stack = ['logit'];
  while (stack.length > 0) {
    const n = producer.get(stack.pop()!);
    if (!n || needed.has(n)) continue;
    needed.add(n);
    stack.push(...n.input);
  }
  const rename = (name: string) => {
    if (name === MODEL_INPUT_NAME) return input;
    return name.startsWith(prefix) ? name : `${prefix}${name}`;
  };
  const kept = nodes.filter((n) => needed.has(n));
  const used = new Set(kept.flatMap((n) => n.input));
  return {
    nodes: kept.map((n) => ({
      ...n,
      input: n.input.map(rename),
      output: n.output.map(rename),
      name: rename(n.name || n.output[0] || n.op_type),
    })),
    initializers: (graph?.initializer ?? [])
      .filter((t) => used.has(t.name))
      .map((t) => ({ ...t, name: rename(t.name) })),
    logit: rename('logit'),
  };
}

/**
 * The stacked ensemble as one ONNX graph (default domain opset 17, `ai.onnx.ml` 3):
 *
 * `input [N, L·d]` → the TCN member's body → `tcn_logit`; `Slice` of the last d columns →
 * the GBT member's body → `gbt_logit`; `logit = gbt_logit · stack_w_gbt + tcn_logit · stack_w_tcn
 * + stack_b` (Mul, Mul, Add, Add); then the shared tail with the optional calibrator of that
 * logit (modelTail). `metadata_props`: `vigil.model` = `ensemble`, the feature names, the TCN's
 * architecture (`vigil.tcn`), the stack (`vigil.ensemble`) and the GBT member's node cover
 * (`vigil.gbt.node_cover`, copied from its bytes, for TreeSHAP).
 */
export function stackOnnx(options: {
  gbt: ModelArtifact;
  tcn: ModelArtifact;
  stacker: Stacker;
  folds: number;
  sequenceLength: number;
  tcnArchitecture: string;
  featureNames: string[];
  calibration?: Calibrator | undefined;
}): ModelArtifact {
  const { featureNames, sequenceLength: L, stacker } = options;
  const d = featureNames.length;
  const gbt = memberBody(options.gbt.bytes, 'gbt_', 'gbt_input');
  const tcn = memberBody(options.tcn.bytes, 'tcn_', MODEL_INPUT_NAME);
  const gbtCover = decodeOnnxModel(options.gbt.bytes).metadata.get(GBT_COVER_KEY);
  const head = modelTail('logit', 'logit', options.calibration);
  const nodes: OnnxNodeMessage[] = [
    node('Slice', [MODEL_INPUT_NAME, 'stack_last_from', 'stack_last_to', 'stack_axis'], ['gbt_input']),
    ...gbt.nodes,
    ...tcn.nodes,
    node('Mul', [gbt.logit, STACK_NAMES.gbt], ['stack_gbt']),
    node('Mul', [tcn.logit, STACK_NAMES.tcn], ['stack_tcn']),
    node('Add', ['stack_gbt', 'stack_tcn'], ['stack_sum']),
    node('Add', ['stack_sum', STACK_NAMES.intercept], ['logit']),
    ...head.nodes,
  ];
  const initializers: OnnxTensorMessage[] = [
    int64Tensor('stack_last_from', [1], [(L - 1) * d]),
    int64Tensor('stack_last_to', [1], [L * d]),
    int64Tensor('stack_axis', [1], [1]),
    ...gbt.initializers,
    ...tcn.initializers,
    floatTensor(STACK_NAMES.gbt, [1], [stacker.weights[0]!]),
    floatTensor(STACK_NAMES.tcn, [1], [stacker.weights[1]!]),
    floatTensor(STACK_NAMES.intercept, [1], [stacker.intercept]),
    ...head.initializers,
  ];
  const description: EnsembleDescription = {
    members: ['gbt', 'tcn'],
    weights: stacker.weights.map(Math.fround),
    intercept: Math.fround(stacker.intercept),
    folds: options.folds,
    sequenceLength: L,
  };
  const bytes = encodeOnnxModel({
    graph: {
      name: 'vigil_ensemble',
      node: nodes,
      initializer: initializers,
      input: [tensorValueInfo(MODEL_INPUT_NAME, OnnxDataType.FLOAT, [-1, L * d])],
      output: head.outputs,
    },
    opsets: [
      { domain: '', version: ONNX_OPSET },
      { domain: 'ai.onnx.ml', version: ONNX_ML_OPSET },
    ],
    metadata: {
      ...head.metadata,
      [MODEL_KIND_KEY]: 'ensemble',
      [FEATURE_NAMES_KEY]: JSON.stringify(featureNames),
      [TCN_ARCHITECTURE_KEY]: options.tcnArchitecture,
      [ENSEMBLE_KEY]: JSON.stringify(description),
      ...(gbtCover === undefined ? {} : { [GBT_COVER_KEY]: gbtCover }),
    },
    docString:
      'Vigil stacked ensemble: a TCN over the [N, L·d] sequence and gradient-boosted trees over its last step (the current row), combined by a logistic stacker fitted on out-of-fold logits.',
  });
  const artifact = createModelArtifact(bytes, featureNames);
  artifact.inputs = [{ name: MODEL_INPUT_NAME, datatype: 'FP32', shape: [-1, L * d] }];
  return artifact;
}
