import { VigilError } from '@vigil/core';
import type { DecodedModel, DecodedNode } from '../onnx/onnx-codec.js';

/**
 * A model's `TreeEnsembleRegressor` node (the GBT's trees, CART's one tree, the ensemble's GBT
 * member) as flat arrays: a global index per node, children as global indexes. A row goes to
 * `left` when `x <= threshold` (`x < threshold` where `strict`), and a missing value (NaN) goes
 * left when `missingLeft`. The raw score is `base + Σ_t leafValue[leaf_t(x)]`.
 */
export interface DecodedTreeEnsemble {
  /** The node's `base_values[0]` (the GBT's initial log-odds; 0 for CART). */
  readonly base: number;
  /** Global index of each tree's root (node id 0). */
  readonly roots: Int32Array;
  /** Split feature per node; -1 marks a leaf. */
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly strict: Uint8Array;
  readonly missingLeft: Uint8Array;
  /** Children's global indexes; -1 at a leaf. */
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Leaf value: the sum of the leaf's target weights, in float32 steps as the graph sums them. */
  readonly leafValue: Float64Array;
  /** `byTree[t][id]` = global index of node `id` of tree `t` (−1 where the tree has no such id). */
  readonly byTree: Int32Array[];
}

function invalidArtifact(reason: string): VigilError {
  return new VigilError(
    'VIGIL_TRAINER_INVALID_DATASET',
    `artifact is not a Vigil node-trainer model: ${reason}`,
  );
}

function ints(n: DecodedNode, name: string): number[] {
  return n.attributes.get(name)?.ints ?? [];
}

/**
 * Decode the model's `TreeEnsembleRegressor` node over features 0..d−1; throws
 * `VIGIL_TRAINER_INVALID_DATASET` when it is missing or malformed. With `requireSum`, an
 * `aggregate_function` other than SUM is refused too.
 */
export function decodeTreeEnsembleNode(
  model: DecodedModel,
  d: number,
  options: { requireSum?: boolean } = {},
): DecodedTreeEnsemble {
  const ensemble = model.nodes.find((n) => n.opType === 'TreeEnsembleRegressor');
  if (!ensemble) throw invalidArtifact('no TreeEnsembleRegressor node');
  const treeIds = ints(ensemble, 'nodes_treeids');
  const nodeIds = ints(ensemble, 'nodes_nodeids');
  const featureIds = ints(ensemble, 'nodes_featureids');
  const trueIds = ints(ensemble, 'nodes_truenodeids');
  const falseIds = ints(ensemble, 'nodes_falsenodeids');
  const tracksTrue = ints(ensemble, 'nodes_missing_value_tracks_true');
  const values = ensemble.attributes.get('nodes_values')?.floats ?? [];
  const modes = ensemble.attributes.get('nodes_modes')?.strings ?? [];
  const targetTrees = ints(ensemble, 'target_treeids');
  const targetNodes = ints(ensemble, 'target_nodeids');
  const targetWeights = ensemble.attributes.get('target_weights')?.floats ?? [];
  if (options.requireSum) {
    const aggregate = ensemble.attributes.get('aggregate_function')?.s ?? 'SUM';
    if (aggregate !== 'SUM')
      throw invalidArtifact(`TreeEnsembleRegressor aggregate_function ${aggregate} (SUM expected)`);
  }
  const count = nodeIds.length;
  if ([treeIds, featureIds, trueIds, falseIds, values, modes].some((a) => a.length !== count)) {
    throw invalidArtifact('TreeEnsembleRegressor node attributes have different lengths');
  }
  const treeCount = treeIds.length === 0 ? 0 : Math.max(...treeIds) + 1;
  const sizes = new Int32Array(treeCount);
  for (let i = 0; i < count; i++) sizes[treeIds[i]!] = Math.max(sizes[treeIds[i]!]!, nodeIds[i]! + 1);
  const byTree = Array.from(sizes, (n) => new Int32Array(n).fill(-1));
  for (let i = 0; i < count; i++) byTree[treeIds[i]!]![nodeIds[i]!] = i;
  const roots = Int32Array.from(byTree, (ids) => ids[0] ?? -1);
  if (roots.some((r) => r < 0)) throw invalidArtifact('a tree has no root node 0');
  const feature = new Int32Array(count).fill(-1);
  const threshold = new Float64Array(count);
  const strict = new Uint8Array(count);
  const missingLeft = new Uint8Array(count);
  const left = new Int32Array(count).fill(-1);
  const right = new Int32Array(count).fill(-1);
  const leafValue = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const mode = modes[i];
    if (mode === 'LEAF') continue;
    if (mode !== 'BRANCH_LEQ' && mode !== 'BRANCH_LT') throw invalidArtifact(`unsupported node mode ${mode}`);
    const f = featureIds[i]!;
    if (f < 0 || f >= d) throw invalidArtifact(`node feature ${f} outside 0..${d - 1}`);
    const ids = byTree[treeIds[i]!]!;
    const l = ids[trueIds[i]!];
    const r = ids[falseIds[i]!];
    if (l === undefined || r === undefined || l < 0 || r < 0) {
      throw invalidArtifact(`tree ${treeIds[i]} node ${nodeIds[i]} has a dangling child`);
    }
    feature[i] = f;
    threshold[i] = values[i]!;
    strict[i] = mode === 'BRANCH_LT' ? 1 : 0;
    missingLeft[i] = tracksTrue[i] ?? 0;
    left[i] = l;
    right[i] = r;
  }
  for (let k = 0; k < targetNodes.length; k++) {
    const i = byTree[targetTrees[k]!]?.[targetNodes[k]!];
    if (i === undefined || i < 0) throw invalidArtifact('target weight for an unknown node');
    leafValue[i] = Math.fround(leafValue[i]! + targetWeights[k]!);
  }
  const base = ensemble.attributes.get('base_values')?.floats?.[0] ?? 0;
  return { base, roots, feature, threshold, strict, missingLeft, left, right, leafValue, byTree };
}
