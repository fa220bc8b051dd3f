import { VigilError } from '@vigil/core';
import type { RegressionTree } from '../gbt/regression-tree.js';
import type { DecodedModel } from '../onnx/onnx-codec.js';
import { decodeTreeEnsembleNode } from '../scoring/tree-ensemble-node.js';

/**
 * Trees as TreeSHAP reads them: every tree's nodes flattened into one set of arrays (a global
 * index per node), children as global indexes, plus each node's cover. A row goes to `left`
 * when `x <= threshold` (`x < threshold` where `strict`), and a missing value (NaN) goes left
 * when `missingLeft`. The model's raw score is `base + Σ_t value[leaf_t(x)]`.
 */
export interface TreeEnsemble {
  /** Input columns the trees read (features 0..d−1). */
  readonly featureCount: number;
  /** The ensemble's `base_values` (the GBT's initial log-odds; 0 for CART). */
  readonly base: number;
  /** Global index of each tree's root. */
  readonly roots: Int32Array;
  /** Split feature per node; -1 marks a leaf. */
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly strict: Uint8Array;
  readonly missingLeft: Uint8Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Leaf value (the sum of the leaf's target weights, float32 as the graph stores it). */
  readonly value: Float64Array;
  /** Training rows (or their weight) that reached each node; a split's cover is its children's sum. */
  readonly cover: Float64Array;
  /** Edges on the longest root-to-leaf path of any tree. */
  readonly maxDepth: number;
}

function invalid(reason: string): VigilError {
  return new VigilError(
    'VIGIL_TRAINER_INVALID_DATASET',
    `artifact is not a Vigil node-trainer model: ${reason}`,
  );
}

/** The raw arrays of a {@link TreeEnsemble}, before cover and depth are checked. */
interface TreeArrays {
  featureCount: number;
  base: number;
  roots: Int32Array;
  feature: Int32Array;
  threshold: Float64Array;
  strict: Uint8Array;
  missingLeft: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;
}

/**
 * The model's `TreeEnsembleRegressor` node as {@link TreeArrays} (see decodeTreeEnsembleNode, the
 * scorer's decoder); `byTree[t][id]` is the global index of node `id` of tree `t` (−1 where the
 * tree has no such id), so a cover given by node id can be placed.
 */
function decodeTreeArrays(model: DecodedModel, d: number): { arrays: TreeArrays; byTree: Int32Array[] } {
  const { leafValue, byTree, ...rest } = decodeTreeEnsembleNode(model, d, { requireSum: true });
  return { arrays: { featureCount: d, ...rest, value: leafValue }, byTree };
}

/** Depth of the deepest leaf; throws on a cycle (a node reached twice). */
function maxDepthOf(a: TreeArrays): number {
  let deepest = 0;
  const seen = new Uint8Array(a.feature.length);
  const stack: number[] = [];
  for (const root of a.roots) {
    stack.push(root, 0);
    while (stack.length > 0) {
      const depth = stack.pop()!;
      const i = stack.pop()!;
      if (seen[i]) throw invalid('a tree node is reached twice (not a tree)');
      seen[i] = 1;
      if (a.feature[i]! < 0) deepest = Math.max(deepest, depth);
      else stack.push(a.left[i]!, depth + 1, a.right[i]!, depth + 1);
    }
  }
  return deepest;
}

/** Check the cover: finite, non-negative, positive at each root, a split's = its children's sum. */
function checkCover(a: TreeArrays, cover: Float64Array): void {
  for (let t = 0; t < a.roots.length; t++) {
    if (!(cover[a.roots[t]!]! > 0)) {
      throw new VigilError('VIGIL_EXPLAIN_UNSUPPORTED', `node cover: tree ${t}'s root has no cover`);
    }
  }
  for (let i = 0; i < cover.length; i++) {
    const c = cover[i]!;
    if (!Number.isFinite(c) || c < 0) {
      throw new VigilError('VIGIL_EXPLAIN_UNSUPPORTED', `node cover: node ${i} has cover ${c}`);
    }
    if (a.feature[i]! < 0) continue;
    const sum = cover[a.left[i]!]! + cover[a.right[i]!]!;
    if (Math.abs(sum - c) > 1e-9 * Math.max(1, c)) {
      throw new VigilError(
        'VIGIL_EXPLAIN_UNSUPPORTED',
        `node cover: node ${i} has cover ${c} but its children ${sum}`,
      );
    }
  }
}

function finish(a: TreeArrays, cover: Float64Array): TreeEnsemble {
  checkCover(a, cover);
  return { ...a, cover, maxDepth: maxDepthOf(a) };
}

/**
 * The trees of a decoded model with their cover: `coverByNodeId[t][id]` = cover of node `id` of
 * tree `t` (the `vigil.gbt.node_cover` or `vigil.cart.node_samples` metadata).
 */
export function decodeTreeEnsemble(
  model: DecodedModel,
  d: number,
  coverByNodeId: readonly (readonly number[])[],
): TreeEnsemble {
  const { arrays, byTree } = decodeTreeArrays(model, d);
  if (coverByNodeId.length !== byTree.length) {
    throw new VigilError(
      'VIGIL_EXPLAIN_UNSUPPORTED',
      `node cover has ${coverByNodeId.length} trees, the model ${byTree.length}`,
    );
  }
  const cover = new Float64Array(arrays.feature.length);
  byTree.forEach((ids, t) => {
    const given = coverByNodeId[t]!;
    if (given.length !== ids.length) {
      throw new VigilError(
        'VIGIL_EXPLAIN_UNSUPPORTED',
        `node cover of tree ${t} has ${given.length} nodes, the tree ${ids.length}`,
      );
    }
    ids.forEach((i, id) => {
      if (i >= 0) cover[i] = Number(given[id]);
    });
  });
  return finish(arrays, cover);
}

/** Whether value `v` of the split feature goes to node `i`'s left child. */
export function goesLeft(trees: TreeEnsemble, i: number, v: number): boolean {
  if (Number.isNaN(v)) return trees.missingLeft[i] === 1;
  return trees.strict[i] === 1 ? v < trees.threshold[i]! : v <= trees.threshold[i]!;
}

/**
 * The decoded trees with their cover counted from `rows` rows of `x` (row-major, `d` columns):
 * each row walked through each tree (NaN following the learned direction), every node on its
 * path counted. For artifacts without stored cover, given rows like the training rows.
 */
export function decodeTreeEnsembleCountingRows(
  model: DecodedModel,
  d: number,
  x: Float32Array,
  rows: number,
): TreeEnsemble {
  const { arrays } = decodeTreeArrays(model, d);
  return withCoverFromRows(arrays, x, rows);
}

function withCoverFromRows(arrays: TreeArrays, x: Float32Array, rows: number): TreeEnsemble {
  const d = arrays.featureCount;
  if (x.length !== rows * d) {
    throw new VigilError(
      'VIGIL_EXPLAIN_INVALID_REQUEST',
      `cover rows: x has ${x.length} values, not ${rows} × ${d}`,
    );
  }
  const cover = new Float64Array(arrays.feature.length);
  const probe = { ...arrays, cover, maxDepth: 0 };
  for (let r = 0; r < rows; r++) {
    for (const root of arrays.roots) {
      let i = root;
      cover[i] = cover[i]! + 1;
      while (arrays.feature[i]! >= 0) {
        i = goesLeft(probe, i, x[r * d + arrays.feature[i]!]!) ? arrays.left[i]! : arrays.right[i]!;
        cover[i] = cover[i]! + 1;
      }
    }
  }
  return finish(arrays, cover);
}

/**
 * A {@link TreeEnsemble} from trees in memory (`RegressionTree`s, node ids = array indexes) and
 * their cover per node id: for tests and for callers holding trees rather than an artifact.
 */
export function treeEnsembleFromTrees(
  trees: readonly RegressionTree[],
  covers: readonly ArrayLike<number>[],
  base: number,
  d: number,
): TreeEnsemble {
  const count = trees.reduce((n, t) => n + t.feature.length, 0);
  const arrays: TreeArrays = {
    featureCount: d,
    base,
    roots: new Int32Array(trees.length),
    feature: new Int32Array(count),
    threshold: new Float64Array(count),
    strict: new Uint8Array(count),
    missingLeft: new Uint8Array(count),
    left: new Int32Array(count).fill(-1),
    right: new Int32Array(count).fill(-1),
    value: new Float64Array(count),
  };
  const cover = new Float64Array(count);
  if (covers.length !== trees.length) throw new Error(`${covers.length} covers for ${trees.length} trees`);
  let offset = 0;
  trees.forEach((tree, t) => {
    arrays.roots[t] = offset;
    const c = covers[t]!;
    for (let i = 0; i < tree.feature.length; i++) {
      const g = offset + i;
      const f = tree.feature[i]!;
      if (f >= d) throw new Error(`tree ${t} node ${i}: feature ${f} ≥ ${d}`);
      arrays.feature[g] = f;
      cover[g] = c[i]!;
      if (f < 0) {
        arrays.value[g] = tree.value[i]!;
        continue;
      }
      arrays.threshold[g] = tree.threshold[i]!;
      arrays.missingLeft[g] = tree.missingLeft[i]!;
      arrays.left[g] = offset + tree.left[i]!;
      arrays.right[g] = offset + tree.right[i]!;
    }
    offset += tree.feature.length;
  });
  return finish(arrays, cover);
}

/** The same trees with another cover per global node index (tests compare covers). */
export function withCover(trees: TreeEnsemble, cover: Float64Array): TreeEnsemble {
  return finish(trees, cover);
}
