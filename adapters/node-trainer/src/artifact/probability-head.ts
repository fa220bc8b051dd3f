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

/**
 * The graph tail shared by every Vigil binary classifier: from a logit `[N, 1]` to the
 * contract's outputs. `p = Sigmoid(logit)`, `probabilities = Concat(1 - p, p)` on axis 1,
 * `label = Reshape(Cast<INT64>(p > 0.5), [-1])`. Uses default-domain ops of opset ≤ 17.
 */
export function probabilityHead(logit: string): {
  nodes: OnnxNodeMessage[];
  initializers: OnnxTensorMessage[];
  outputs: OnnxValueInfoMessage[];
} {
  return {
    nodes: [
      node('Sigmoid', [logit], ['p_event']),
      node('Sub', ['head_one', 'p_event'], ['p_none']),
      node('Concat', ['p_none', 'p_event'], [MODEL_PROBABILITIES_NAME], {
        attributes: [attr.int('axis', 1)],
      }),
      node('Greater', ['p_event', 'head_half'], ['label_bool']),
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
