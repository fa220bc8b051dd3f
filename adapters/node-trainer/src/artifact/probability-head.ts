import {
  attr,
  floatTensor,
  int64Tensor,
  node,
  type OnnxNodeMessage,
  type OnnxTensorMessage,
  type OnnxValueInfoMessage,
  tensorValueInfo,
} from '../onnx/onnx-graph.js';
import { OnnxDataType } from '../onnx/onnx-schema.js';
import { MODEL_LABEL_NAME, MODEL_PROBABILITIES_NAME } from './model-artifact.js';

export interface GraphPart {
  nodes: OnnxNodeMessage[];
  initializers: OnnxTensorMessage[];
}

/**
 * The graph tail shared by every Vigil binary classifier: from a logit `[N, 1]` to the
 * contract's outputs. `p = Sigmoid(logit)`, `probabilities = Concat(1 - p, p)` on axis 1,
 * `label = Reshape(Cast<INT64>(p > 0.5), [-1])`. Uses default-domain ops of opset ≤ 17.
 */
export function probabilityHead(logit: string): GraphPart & { outputs: OnnxValueInfoMessage[] } {
  const tail = probabilityTail('p_event');
  return { ...tail, nodes: [node('Sigmoid', [logit], ['p_event']), ...tail.nodes] };
}

/**
 * Like {@link probabilityHead} but from P(adverse event) `[N, 1]` itself (no Sigmoid):
 * `probabilities = Concat(1 - p, p)`, `label = Reshape(Cast<INT64>(p > 0.5), [-1])`.
 */
export function probabilityTail(probability: string): GraphPart & { outputs: OnnxValueInfoMessage[] } {
  return {
    nodes: [
      node('Sub', ['head_one', probability], ['p_none']),
      node('Concat', ['p_none', probability], [MODEL_PROBABILITIES_NAME], {
        attributes: [attr.int('axis', 1)],
      }),
      node('Greater', [probability, 'head_half'], ['label_bool']),
      node('Cast', ['label_bool'], ['label_2d'], { attributes: [attr.int('to', OnnxDataType.INT64)] }),
      node('Reshape', ['label_2d', 'head_flat'], [MODEL_LABEL_NAME]),
    ],
    initializers: [
      floatTensor('head_one', [], [1]),
      floatTensor('head_half', [], [0.5]),
      int64Tensor('head_flat', [1], [-1]),
    ],
    outputs: [
      tensorValueInfo(MODEL_LABEL_NAME, OnnxDataType.INT64, [-1]),
      tensorValueInfo(MODEL_PROBABILITIES_NAME, OnnxDataType.FLOAT, [-1, 2]),
    ],
  };
}
