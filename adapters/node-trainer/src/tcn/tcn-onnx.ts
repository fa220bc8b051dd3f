import type { ModelArtifact } from '@vigil/core';
import { createModelArtifact, MODEL_INPUT_NAME } from '../artifact/model-artifact.js';
import { modelTail } from '../calibration/calibration-onnx.js';
import type { Calibrator } from '../calibration/calibrator.js';
import { FEATURE_NAMES_KEY, MODEL_KIND_KEY, ONNX_OPSET } from '../logistic/logistic-regression-onnx.js';
import { encodeOnnxModel } from '../onnx/onnx-codec.js';
import {
  attr,
  floatTensor,
  int64Tensor,
  node,
  type OnnxNodeMessage,
  type OnnxTensorMessage,
  tensorValueInfo,
} from '../onnx/onnx-graph.js';
import { OnnxDataType } from '../onnx/onnx-schema.js';
import type { Standardizer } from './standardizer.js';
import type { ConvSlot, TcnLayout } from './tcn-model.js';

/** `metadata_props` key holding the TCN's architecture as JSON ({@link TcnArchitecture}). */
export const TCN_ARCHITECTURE_KEY = 'vigil.tcn';

/** What the graph's `vigil.tcn` metadata records. */
export interface TcnArchitecture {
  /** L: time steps per input row. */
  sequenceLength: number;
  /** d: features per step (= featureNames.length). */
  features: number;
  blocks: number;
  kernelSize: number;
  hidden: number;
  /** Dilation of each block: 1, 2, 4, … */
  dilations: number[];
}

export function tcnArchitecture(layout: TcnLayout): TcnArchitecture {
  const s = layout.shape;
  return {
    sequenceLength: s.steps,
    features: s.features,
    blocks: s.blocks,
    kernelSize: s.kernelSize,
    hidden: s.hidden,
    dilations: layout.blocks.map((b) => b.conv1.dilation),
  };
}

/** Weights of a conv slot in ONNX/PyTorch order `[Cout, Cin, K]` (ours are `[Cout, K, Cin]`). */
export function convWeightsOnnxOrder(c: ConvSlot, params: ArrayLike<number>): Float32Array {
  const out = new Float32Array(c.cout * c.cin * c.k);
  for (let o = 0; o < c.cout; o++)
    for (let j = 0; j < c.k; j++)
      for (let i = 0; i < c.cin; i++)
        out[(o * c.cin + i) * c.k + j] = params[c.w + (o * c.k + j) * c.cin + i]!;
  return out;
}

/** Initializer names of block b's tensors: `tcn_b{b}_{conv1|conv2|res}_{w|b}`. */
export function convNames(block: number, conv: 'conv1' | 'conv2' | 'res'): { w: string; b: string } {
  return { w: `tcn_b${block}_${conv}_w`, b: `tcn_b${block}_${conv}_b` };
}

/**
 * The TCN as ONNX (default domain, opset 17):
 *
 * `input [N, L·d]` → Reshape `[N, L, d]` → `(x − tcn_mean) · tcn_scale` with NaN → 0
 * (`IsNaN` + `Where`) → Transpose `[N, d, L]` → per block b (dilation 2ᵇ, pad (K−1)·2ᵇ):
 * `Conv(pads=[pad, 0])` → Relu → Conv → Relu, plus the residual (a 1×1 Conv when the channels
 * differ), Add, Relu → `Gather(axis=2, index L−1)` (the last step) `[N, H]` → MatMul
 * `tcn_head_w [H, 1]` + `tcn_head_b` → logit `[N, 1]` → the shared probability head
 * (`probabilities` FP32 `[N, 2]` = [1 − p, p], `label` INT64 `[N]`), with the optional
 * calibrator of the logit in between (modelTail).
 */
export function tcnOnnx(options: {
  layout: TcnLayout;
  params: Float32Array;
  standardizer: Standardizer;
  featureNames: string[];
  /** A calibrator of the logit, put inside the graph (see modelTail). */
  calibration?: Calibrator | undefined;
}): ModelArtifact {
  const { layout, params, standardizer, featureNames } = options;
  const { steps: L, features: d, hidden: H } = layout.shape;
  if (featureNames.length !== d)
    throw new RangeError(`tcnOnnx: ${featureNames.length} feature names, d = ${d}`);
  const nodes: OnnxNodeMessage[] = [
    node('Reshape', [MODEL_INPUT_NAME], ['tcn_steps']),
    node('IsNaN', ['tcn_steps'], ['tcn_isnan']),
    node('Sub', ['tcn_steps', 'tcn_mean'], ['tcn_centred']),
    node('Mul', ['tcn_centred', 'tcn_scale'], ['tcn_scaled']),
    node('Where', ['tcn_isnan', 'tcn_zero', 'tcn_scaled'], ['tcn_clean']),
    node('Transpose', ['tcn_clean'], ['tcn_x0'], { attributes: [attr.ints('perm', [0, 2, 1])] }),
  ];
  nodes[0]!.input.push('tcn_shape');
  const initializers: OnnxTensorMessage[] = [
    int64Tensor('tcn_shape', [3], [-1, L, d]),
    floatTensor('tcn_mean', [d], standardizer.mean),
    floatTensor('tcn_scale', [d], standardizer.scale),
    floatTensor('tcn_zero', [], [0]),
  ];
  const conv = (input: string, output: string, c: ConvSlot, names: { w: string; b: string }) => {
    const pad = (c.k - 1) * c.dilation;
    nodes.push(
      node('Conv', [input, names.w, names.b], [output], {
        attributes: [
          attr.ints('dilations', [c.dilation]),
          attr.int('group', 1),
          attr.ints('kernel_shape', [c.k]),
          attr.ints('pads', [pad, 0]),
          attr.ints('strides', [1]),
        ],
      }),
    );
    initializers.push(
      floatTensor(names.w, [c.cout, c.cin, c.k], convWeightsOnnxOrder(c, params)),
      floatTensor(names.b, [c.cout], params.subarray(c.b, c.b + c.cout)),
    );
  };
  let x = 'tcn_x0';
  layout.blocks.forEach((block, b) => {
    const p = `tcn_b${b}_`;
    conv(x, `${p}a1`, block.conv1, convNames(b, 'conv1'));
    nodes.push(node('Relu', [`${p}a1`], [`${p}h1`]));
    conv(`${p}h1`, `${p}a2`, block.conv2, convNames(b, 'conv2'));
    nodes.push(node('Relu', [`${p}a2`], [`${p}h2`]));
    let residual = x;
    if (block.residual) {
      conv(x, `${p}res`, block.residual, convNames(b, 'res'));
      residual = `${p}res`;
    }
    nodes.push(node('Add', [`${p}h2`, residual], [`${p}sum`]), node('Relu', [`${p}sum`], [`${p}y`]));
    x = `${p}y`;
  });
  const head = modelTail('logit', 'logit', options.calibration);
  nodes.push(
    node('Gather', [x, 'tcn_last'], ['tcn_last_step'], { attributes: [attr.int('axis', 2)] }),
    node('MatMul', ['tcn_last_step', 'tcn_head_w'], ['tcn_margin']),
    node('Add', ['tcn_margin', 'tcn_head_b'], ['logit']),
    ...head.nodes,
  );
  initializers.push(
    int64Tensor('tcn_last', [], [L - 1]),
    floatTensor('tcn_head_w', [H, 1], params.subarray(layout.headW, layout.headW + H)),
    floatTensor('tcn_head_b', [1], [params[layout.headB]!]),
    ...head.initializers,
  );
  const bytes = encodeOnnxModel({
    graph: {
      name: 'vigil_tcn',
      node: nodes,
      initializer: initializers,
      input: [tensorValueInfo(MODEL_INPUT_NAME, OnnxDataType.FLOAT, [-1, L * d])],
      output: head.outputs,
    },
    opsets: [{ domain: '', version: ONNX_OPSET }],
    metadata: {
      ...head.metadata,
      [MODEL_KIND_KEY]: 'tcn',
      [FEATURE_NAMES_KEY]: JSON.stringify(featureNames),
      [TCN_ARCHITECTURE_KEY]: JSON.stringify(tcnArchitecture(layout)),
    },
    docString:
      'Vigil TCN: input [N, L·d] time-major (last d columns = current step), standardised with NaN → 0, dilated causal residual blocks, linear head on the last step.',
  });
  const artifact = createModelArtifact(bytes, featureNames);
  artifact.inputs = [{ name: MODEL_INPUT_NAME, datatype: 'FP32', shape: [-1, L * d] }];
  return artifact;
}
