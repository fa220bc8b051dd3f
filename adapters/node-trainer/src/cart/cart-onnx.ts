import type { ModelArtifact } from '@vigil/core';
import { createModelArtifact, MODEL_INPUT_NAME } from '../artifact/model-artifact.js';
import { modelTail } from '../calibration/calibration-onnx.js';
import type { Calibrator } from '../calibration/calibrator.js';
import { ONNX_ML_OPSET, treeEnsembleNode } from '../gbt/gbt-onnx.js';
import { FEATURE_NAMES_KEY, MODEL_KIND_KEY, ONNX_OPSET } from '../logistic/logistic-regression-onnx.js';
import { encodeOnnxModel } from '../onnx/onnx-codec.js';
import { tensorValueInfo } from '../onnx/onnx-graph.js';
import { OnnxDataType } from '../onnx/onnx-schema.js';
import type { CartTree } from './cart-tree.js';

/** `metadata_props` key: JSON array of the training rows that reached each node (by node id). */
export const CART_SAMPLES_KEY = 'vigil.cart.node_samples';

/**
 * Export a CART tree as ONNX with the same construction and interface as the GBT:
 * `p_tree = TreeEnsembleRegressor(input)` (one tree, SUM, `base_values` 0, leaf weight =
 * P(event) in the leaf, `BRANCH_LEQ`, `nodes_missing_value_tracks_true`), then the shared tail
 * from a probability (optionally calibrated). The node sample counts go to `metadata_props`
 * so {@link cartRules} can print `n` from the artifact alone.
 */
export function cartOnnx(cart: CartTree, featureNames: string[], calibration?: Calibrator): ModelArtifact {
  const tail = modelTail('p_tree', 'probability', calibration);
  const bytes = encodeOnnxModel({
    graph: {
      name: 'vigil_cart',
      node: [treeEnsembleNode([cart.tree], 0, 'p_tree'), ...tail.nodes],
      initializer: tail.initializers,
      input: [tensorValueInfo(MODEL_INPUT_NAME, OnnxDataType.FLOAT, [-1, featureNames.length])],
      output: tail.outputs,
    },
    opsets: [
      { domain: '', version: ONNX_OPSET },
      { domain: 'ai.onnx.ml', version: ONNX_ML_OPSET },
    ],
    metadata: {
      ...tail.metadata,
      [MODEL_KIND_KEY]: 'cart',
      [FEATURE_NAMES_KEY]: JSON.stringify(featureNames),
      [CART_SAMPLES_KEY]: JSON.stringify(Array.from(cart.samples)),
    },
    docString: `Vigil CART classification tree (${cart.tree.feature.length} nodes); leaves hold P(adverse event); NaN follows each split's learned direction.`,
  });
  return createModelArtifact(bytes, featureNames);
}
