/**
 * One boosted regression tree, nodes in creation order (root = 0). A split node sends a row
 * left when `x <= threshold` (equivalently `bin <= binThreshold` on training bins), and a
 * missing value left when `missingLeft`. Leaf values are float32 and already include the
 * learning rate.
 */
export interface RegressionTree {
  /** Split feature per node; -1 marks a leaf. */
  feature: Int32Array;
  threshold: Float32Array;
  binThreshold: Uint8Array;
  missingLeft: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  value: Float32Array;
}

/** Grows a tree node by node, then freezes it into typed arrays. */
export class RegressionTreeBuilder {
  readonly #feature: number[] = [-1];
  readonly #threshold: number[] = [0];
  readonly #binThreshold: number[] = [0];
  readonly #missingLeft: number[] = [0];
  readonly #left: number[] = [-1];
  readonly #right: number[] = [-1];
  readonly #value: number[] = [0];

  #add(): number {
    this.#feature.push(-1);
    this.#threshold.push(0);
    this.#binThreshold.push(0);
    this.#missingLeft.push(0);
    this.#left.push(-1);
    this.#right.push(-1);
    this.#value.push(0);
    return this.#feature.length - 1;
  }

  /** Turn `id` into a split; returns the new children's ids. */
  split(
    id: number,
    feature: number,
    binThreshold: number,
    threshold: number,
    missingLeft: boolean,
  ): [number, number] {
    const left = this.#add();
    const right = this.#add();
    this.#feature[id] = feature;
    this.#binThreshold[id] = binThreshold;
    this.#threshold[id] = threshold;
    this.#missingLeft[id] = missingLeft ? 1 : 0;
    this.#left[id] = left;
    this.#right[id] = right;
    return [left, right];
  }

  leaf(id: number, value: number): void {
    this.#value[id] = value;
  }

  build(): RegressionTree {
    return {
      feature: Int32Array.from(this.#feature),
      threshold: Float32Array.from(this.#threshold),
      binThreshold: Uint8Array.from(this.#binThreshold),
      missingLeft: Uint8Array.from(this.#missingLeft),
      left: Int32Array.from(this.#left),
      right: Int32Array.from(this.#right),
      value: Float32Array.from(this.#value),
    };
  }
}

/** Leaf value for training row `r` of `rows`, given by its column-major bins. */
export function treeValueBinned(tree: RegressionTree, binned: Uint8Array, rows: number, r: number): number {
  let i = 0;
  while (tree.feature[i]! >= 0) {
    const bin = binned[tree.feature[i]! * rows + r]!;
    const goLeft = bin === 255 ? tree.missingLeft[i] === 1 : bin <= tree.binThreshold[i]!;
    i = goLeft ? tree.left[i]! : tree.right[i]!;
  }
  return tree.value[i]!;
}

/**
 * Training rows that reach each node of `tree` (by node id), given all `rows` rows by their
 * column-major bins; a missing value (bin 255) follows the split's learned direction.
 */
export function treeNodeRows(tree: RegressionTree, binned: Uint8Array, rows: number): Int32Array {
  const counts = new Int32Array(tree.feature.length);
  for (let r = 0; r < rows; r++) {
    let i = 0;
    counts[0] = counts[0]! + 1;
    while (tree.feature[i]! >= 0) {
      const bin = binned[tree.feature[i]! * rows + r]!;
      const goLeft = bin === 255 ? tree.missingLeft[i] === 1 : bin <= tree.binThreshold[i]!;
      i = goLeft ? tree.left[i]! : tree.right[i]!;
      counts[i] = counts[i]! + 1;
    }
  }
  return counts;
}

/** Leaf value for a raw float row (row-major offset `base`), NaN following the missing branch. */
export function treeValue(tree: RegressionTree, x: Float32Array, base: number): number {
  let i = 0;
  while (tree.feature[i]! >= 0) {
    const v = x[base + tree.feature[i]!]!;
    const goLeft = Number.isNaN(v) ? tree.missingLeft[i] === 1 : v <= tree.threshold[i]!;
    i = goLeft ? tree.left[i]! : tree.right[i]!;
  }
  return tree.value[i]!;
}
