import type { RegressionTree } from '../gbt/regression-tree.js';

/**
 * A CART classification tree: the node arrays of a {@link RegressionTree} (root = 0; a split
 * sends `x <= threshold` left and NaN left when `missingLeft`), leaf `value` = the share of
 * positive training rows in the leaf (float32), plus per-node training counts for the rules.
 * A threshold of {@link PRESENCE_THRESHOLD} means "present vs missing": every value goes left
 * and NaN goes right.
 */
export interface CartTree {
  tree: RegressionTree;
  /** Training rows that reached each node. */
  samples: Int32Array;
  /** Positive training rows that reached each node. */
  positives: Int32Array;
}

/** The largest float32: a split at this threshold separates present values from missing ones. */
export const PRESENCE_THRESHOLD = 3.4028234663852886e38;
