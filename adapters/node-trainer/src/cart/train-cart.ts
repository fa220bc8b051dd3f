import type { TrainingSet } from '@vigil/core';
import { RegressionTreeBuilder } from '../gbt/regression-tree.js';
import type { CartParams } from '../spec/train-params.js';
import type { RunControl } from '../training/run-control.js';
import { type CartTree, PRESENCE_THRESHOLD } from './cart-tree.js';

/** Node impurity of `n` rows with `p` positives, times `n` (so children sum). */
type WeightedImpurity = (n: number, p: number) => number;

const gini: WeightedImpurity = (n, p) => {
  if (n === 0) return 0;
  const q = p / n;
  return n * (2 * q * (1 - q));
};

const entropy: WeightedImpurity = (n, p) => {
  if (n === 0 || p === 0 || p === n) return 0;
  const q = p / n;
  return -n * (q * Math.log2(q) + (1 - q) * Math.log2(1 - q));
};

interface Candidate {
  decrease: number;
  feature: number;
  threshold: number;
  missingLeft: boolean;
}

/**
 * Grow a CART classification tree depth by depth on exact thresholds (every midpoint between
 * consecutive distinct values is a candidate; the threshold stored is the left value, a float32
 * data value, so `x <= threshold` is exact in the ONNX graph). At each split the rows whose
 * feature is missing are tried on both sides and go where the impurity falls most; when a node
 * has no missing value for the chosen feature, NaN follows the larger child (as the GBT does).
 * A split that separates present from missing values is also a candidate.
 *
 * A node splits when it is above `maxDepth`, has both classes, each child keeps
 * `minSamplesLeaf` rows and the weighted impurity decrease (sklearn's
 * `N_t / N · (I − N_L/N_t · I_L − N_R/N_t · I_R)`) is positive and at least
 * `minImpurityDecrease`. Ties go to the lower feature index, then the lower threshold, then
 * missing-right: there is no randomness, so the seed does not change the tree.
 */
export async function trainCart(
  data: TrainingSet,
  params: CartParams,
  control: RunControl,
): Promise<CartTree> {
  const n = data.y.length;
  const d = data.featureNames.length;
  const { x, y } = data;
  const impurity = params.criterion === 'gini' ? gini : entropy;
  const minLeaf = params.minSamplesLeaf;

  // Rows with a value, sorted by value (then row), and rows without one, per feature.
  const sorted: Int32Array[] = [];
  const missing: Int32Array[] = [];
  for (let f = 0; f < d; f++) {
    const present: number[] = [];
    const absent: number[] = [];
    for (let r = 0; r < n; r++) (Number.isNaN(x[r * d + f]!) ? absent : present).push(r);
    const order = Int32Array.from(present);
    order.sort((a, b) => x[a * d + f]! - x[b * d + f]! || a - b);
    sorted.push(order);
    missing.push(Int32Array.from(absent));
  }

  const builder = new RegressionTreeBuilder();
  const samples: number[] = [n];
  const positives: number[] = [];
  let totalPositives = 0;
  for (let r = 0; r < n; r++) totalPositives += y[r]!;
  positives.push(totalPositives);
  const nodeOf = new Int32Array(n); // every row starts at the root
  let level = [0];
  control.progress(0, 'growing the tree');
  await control.checkpoint();

  for (let depth = 0; depth < params.maxDepth && level.length > 0; depth++) {
    const open = level.filter((id) => {
      const count = samples[id]!;
      const pos = positives[id]!;
      return count >= 2 * minLeaf && pos > 0 && pos < count;
    });
    if (open.length === 0) break;
    const slotOf = new Map<number, number>();
    open.forEach((id, s) => {
      slotOf.set(id, s);
    });
    const slots = open.length;
    const nodeN = Float64Array.from(open, (id) => samples[id]!);
    const nodeP = Float64Array.from(open, (id) => positives[id]!);
    const parentImpurity = Float64Array.from(open, (id) => impurity(samples[id]!, positives[id]!));
    const best: (Candidate | undefined)[] = new Array(slots).fill(undefined);
    const slotOfRow = new Int32Array(n);
    for (let r = 0; r < n; r++) slotOfRow[r] = slotOf.get(nodeOf[r]!) ?? -1;

    const missN = new Float64Array(slots);
    const missP = new Float64Array(slots);
    const leftN = new Float64Array(slots);
    const leftP = new Float64Array(slots);
    const last = new Float64Array(slots);

    const consider = (s: number, f: number, threshold: number, ln: number, lp: number, presence: boolean) => {
      const N = nodeN[s]!;
      const P = nodeP[s]!;
      const mN = missN[s]!;
      const mP = missP[s]!;
      // option 0: missing right; option 1: missing left (only when this node has missing rows).
      for (let option = 0; option < (mN > 0 && !presence ? 2 : 1); option++) {
        const nL = option === 1 ? ln + mN : ln;
        const pL = option === 1 ? lp + mP : lp;
        const nR = N - nL;
        if (nL < minLeaf || nR < minLeaf) continue;
        const decrease = parentImpurity[s]! - impurity(nL, pL) - impurity(nR, P - pL);
        const current = best[s];
        if (current === undefined ? decrease > 0 : decrease > current.decrease) {
          const missingLeft = mN > 0 ? option === 1 : nL >= nR;
          best[s] = { decrease, feature: f, threshold, missingLeft };
        }
      }
    };

    for (let f = 0; f < d; f++) {
      missN.fill(0);
      missP.fill(0);
      leftN.fill(0);
      leftP.fill(0);
      for (const r of missing[f]!) {
        const s = slotOfRow[r]!;
        if (s < 0) continue;
        missN[s] = missN[s]! + 1;
        missP[s] = missP[s]! + y[r]!;
      }
      const order = sorted[f]!;
      for (let i = 0; i < order.length; i++) {
        const r = order[i]!;
        const s = slotOfRow[r]!;
        if (s < 0) continue;
        const v = x[r * d + f]!;
        if (leftN[s]! > 0 && v > last[s]!) consider(s, f, last[s]!, leftN[s]!, leftP[s]!, false);
        leftN[s] = leftN[s]! + 1;
        leftP[s] = leftP[s]! + y[r]!;
        last[s] = v;
      }
      // Present values left, missing right.
      for (let s = 0; s < slots; s++) {
        if (missN[s]! > 0 && leftN[s]! > 0) consider(s, f, PRESENCE_THRESHOLD, leftN[s]!, leftP[s]!, true);
      }
      await control.checkpoint();
    }

    const childOf = new Map<
      number,
      { feature: number; threshold: number; missingLeft: boolean; left: number; right: number }
    >();
    const next: number[] = [];
    for (let s = 0; s < slots; s++) {
      const split = best[s];
      if (!split || split.decrease / n < params.minImpurityDecrease) continue;
      const id = open[s]!;
      const [left, right] = builder.split(id, split.feature, 0, split.threshold, split.missingLeft);
      samples.push(0, 0);
      positives.push(0, 0);
      childOf.set(id, { ...split, left, right });
      next.push(left, right);
    }
    for (let r = 0; r < n; r++) {
      const split = childOf.get(nodeOf[r]!);
      if (!split) continue;
      const v = x[r * d + split.feature]!;
      const goLeft = Number.isNaN(v) ? split.missingLeft : v <= split.threshold;
      const child = goLeft ? split.left : split.right;
      nodeOf[r] = child;
      samples[child] = samples[child]! + 1;
      positives[child] = positives[child]! + y[r]!;
    }
    level = next;
    control.progress((depth + 1) / params.maxDepth, `depth ${depth + 1}: ${next.length} nodes`);
    await control.checkpoint();
  }
  for (let id = 0; id < samples.length; id++) builder.leaf(id, positives[id]! / samples[id]!);
  const tree = builder.build();
  // builder.leaf set a value on split nodes too; only leaves' values are used or exported.
  return { tree, samples: Int32Array.from(samples), positives: Int32Array.from(positives) };
}
