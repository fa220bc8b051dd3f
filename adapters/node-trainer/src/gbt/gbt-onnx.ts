import type { ModelArtifact } from '@vigil/core';
import { createModelArtifact, MODEL_INPUT_NAME } from '../artifact/model-artifact.js';
import { modelTail } from '../calibration/calibration-onnx.js';
import type { Calibrator } from '../calibration/calibrator.js';
import { FEATURE_NAMES_KEY, MODEL_KIND_KEY, ONNX_OPSET } from '../logistic/logistic-regression-onnx.js';
import { encodeOnnxModel } from '../onnx/onnx-codec.js';
import { attr, node, type OnnxNodeMessage, tensorValueInfo } from '../onnx/onnx-graph.js';
import { OnnxDataType } from '../onnx/onnx-schema.js';
import type { RegressionTree } from './regression-tree.js';

/** `ai.onnx.ml` opset the tree ensemble imports. */
export const ONNX_ML_OPSET = 3;

/**
 * `metadata_props` key: the trees' node cover, JSON `[[rows per node id of tree 0], [… tree 1], …]`,
 * as row counts: every training row (all of them, also where `subsample` < 1 grew the tree on a
 * sample) walked through the tree, a missing value following the split's learned direction. A
 * node's count is its children's sum, and the root's is the number of training rows. Metadata
 * only: the graph does not read it (TreeSHAP does, see explainArtifact).
 */
export const GBT_COVER_KEY = 'vigil.gbt.node_cover';

/** The {@link GBT_COVER_KEY} value: JSON of plain integer arrays (deterministic text). */
export function nodeCoverJson(covers: readonly Int32Array[]): string {
  return JSON.stringify(covers.map((c) => Array.from(c)));
}

/**
 * One `ai.onnx.ml` `TreeEnsembleRegressor` node (SUM of leaf values plus `base_values`,
 * `BRANCH_LEQ` splits, `nodes_missing_value_tracks_true` for each split's learned NaN
 * direction) from `input` to `[N, 1]` `output`.
 */
export function treeEnsembleNode(
  trees: readonly RegressionTree[],
  baseValue: number,
  output: string,
): OnnxNodeMessage {
  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const modes: string[] = [];
  const values: number[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const tracksTrue: number[] = [];
  const targetTrees: number[] = [];
  const targetNodes: number[] = [];
  const targetWeights: number[] = [];
  trees.forEach((tree, t) => {
    for (let i = 0; i < tree.feature.length; i++) {
      treeIds.push(t);
      nodeIds.push(i);
      const f = tree.feature[i]!;
      if (f < 0) {
        featureIds.push(0);
        modes.push('LEAF');
        values.push(0);
        trueIds.push(0);
        falseIds.push(0);
        tracksTrue.push(0);
        targetTrees.push(t);
        targetNodes.push(i);
        targetWeights.push(tree.value[i]!);
      } else {
        featureIds.push(f);
        modes.push('BRANCH_LEQ');
        values.push(tree.threshold[i]!);
        trueIds.push(tree.left[i]!);
        falseIds.push(tree.right[i]!);
        tracksTrue.push(tree.missingLeft[i]!);
      }
    }
  });
  return node('TreeEnsembleRegressor', [MODEL_INPUT_NAME], [output], {
    domain: 'ai.onnx.ml',
    attributes: [
      attr.string('aggregate_function', 'SUM'),
      attr.floats('base_values', [baseValue]),
      attr.int('n_targets', 1),
      attr.ints('nodes_falsenodeids', falseIds),
      attr.ints('nodes_featureids', featureIds),
      attr.ints('nodes_missing_value_tracks_true', tracksTrue),
      attr.strings('nodes_modes', modes),
      attr.ints('nodes_nodeids', nodeIds),
      attr.ints('nodes_treeids', treeIds),
      attr.ints('nodes_truenodeids', trueIds),
      attr.floats('nodes_values', values),
      attr.string('post_transform', 'NONE'),
      attr.ints('target_ids', new Array<number>(targetNodes.length).fill(0)),
      attr.ints('target_nodeids', targetNodes),
      attr.ints('target_treeids', targetTrees),
      attr.floats('target_weights', targetWeights),
    ],
  });
}

/**
 * Export boosted trees as ONNX: `logit = TreeEnsembleRegressor(input)` (see
 * {@link treeEnsembleNode}; `base_values` = the initial log-odds), then the shared tail
 * (optionally calibrated, see {@link modelTail}). Follows the Vigil I/O contract (see
 * {@link createModelArtifact}). `nodeCover` (one array per tree, rows per node id) goes to
 * `metadata_props` as {@link GBT_COVER_KEY}.
 */
export function gbtOnnx(
  trees: readonly RegressionTree[],
  baseLogit: number,
  featureNames: string[],
  calibration?: Calibrator,
  nodeCover?: readonly Int32Array[],
): ModelArtifact {
  if (nodeCover && nodeCover.length !== trees.length) {
    throw new Error(`gbtOnnx: ${nodeCover.length} node covers for ${trees.length} trees`);
  }
  const head = modelTail('logit', 'logit', calibration);
  const ensemble = treeEnsembleNode(trees, baseLogit, 'logit');
  const bytes = encodeOnnxModel({
    graph: {
      name: 'vigil_gbt',
      node: [ensemble, ...head.nodes],
      initializer: head.initializers,
      input: [tensorValueInfo(MODEL_INPUT_NAME, OnnxDataType.FLOAT, [-1, featureNames.length])],
      output: head.outputs,
    },
    opsets: [
      { domain: '', version: ONNX_OPSET },
      { domain: 'ai.onnx.ml', version: ONNX_ML_OPSET },
    ],
    metadata: {
      ...head.metadata,
      [MODEL_KIND_KEY]: 'gbt',
      [FEATURE_NAMES_KEY]: JSON.stringify(featureNames),
      ...(nodeCover ? { [GBT_COVER_KEY]: nodeCoverJson(nodeCover) } : {}),
    },
    docString: `Vigil gradient-boosted trees (${trees.length} trees, logistic loss); NaN follows each split's learned default.`,
  });
  return createModelArtifact(bytes, featureNames);
}
