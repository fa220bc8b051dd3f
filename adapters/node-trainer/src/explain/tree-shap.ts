import { goesLeft, type TreeEnsemble } from './tree-ensemble.js';

/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion & Lee 2018, "Consistent Individualized Feature
 * Attribution for Tree Ensembles", Algorithm 2) over a {@link TreeEnsemble}.
 *
 * The game it solves, per tree: v(S) = E[f(x) | x_S], where a split on a feature in S follows the
 * row (a missing value its learned direction) and a split on any other feature averages its
 * children weighted by their cover. The Shapley values of that game sum, over the trees, to
 * `raw(x) − expected`, where `expected` is the cover-weighted mean leaf value of every tree plus
 * the ensemble's base value. Polynomial time: O(T · leaves · depth²) per row.
 *
 * The path of unique features from the root to the current node is kept per recursion level as
 * (feature, zero fraction, one fraction, permutation weight) in preallocated buffers: level k's
 * copy starts at k · stride, so a child extends a copy of its parent's path.
 */
export class TreeShap {
  readonly trees: TreeEnsemble;
  /** base_values + Σ_t (cover-weighted mean leaf value of tree t): E[raw score] under the cover. */
  readonly expected: number;
  readonly #stride: number;
  readonly #feature: Int32Array;
  readonly #zero: Float64Array;
  readonly #one: Float64Array;
  readonly #weight: Float64Array;
  /** 1/k for k = 1 … stride + 1 (multiplications instead of divisions in the path updates). */
  readonly #inverse: Float64Array;
  #phi: Float64Array = new Float64Array(0);
  #phiAt = 0;
  #x: ArrayLike<number> = [];
  #xAt = 0;

  constructor(trees: TreeEnsemble) {
    this.trees = trees;
    // A leaf's path: the root's dummy element plus at most one element per split above it.
    this.#stride = trees.maxDepth + 2;
    const size = (trees.maxDepth + 2) * this.#stride;
    this.#feature = new Int32Array(size);
    this.#zero = new Float64Array(size);
    this.#one = new Float64Array(size);
    this.#weight = new Float64Array(size);
    this.#inverse = Float64Array.from({ length: this.#stride + 2 }, (_, k) => (k === 0 ? 0 : 1 / k));
    let expected = trees.base;
    for (const root of trees.roots) expected += this.#meanValue(root);
    this.expected = expected;
  }

  /** Cover-weighted mean leaf value below node `i`. */
  #meanValue(i: number): number {
    const t = this.trees;
    if (t.feature[i]! < 0) return t.value[i]!;
    const c = t.cover[i]!;
    if (c === 0) return 0;
    const l = t.left[i]!;
    const r = t.right[i]!;
    let sum = 0;
    if (t.cover[l]! > 0) sum += (t.cover[l]! / c) * this.#meanValue(l);
    if (t.cover[r]! > 0) sum += (t.cover[r]! / c) * this.#meanValue(r);
    return sum;
  }

  /** The raw score of the row at `x[at …]`: base_values + Σ leaf values, in float64. */
  raw(x: ArrayLike<number>, at: number): number {
    const t = this.trees;
    let sum = t.base;
    for (const root of t.roots) {
      let i = root;
      while (t.feature[i]! >= 0) i = goesLeft(t, i, x[at + t.feature[i]!]!) ? t.left[i]! : t.right[i]!;
      sum += t.value[i]!;
    }
    return sum;
  }

  /**
   * Add the row's SHAP values (row-major `x` from offset `at`, the model's d columns) to
   * `phi[phiAt … phiAt + d)`, multiplied by `scale`. Over every tree: `Σ phi = scale · (raw − expected)`.
   */
  explainRow(x: ArrayLike<number>, at: number, phi: Float64Array, phiAt: number, scale = 1): void {
    this.#x = x;
    this.#xAt = at;
    this.#phi = phi;
    this.#phiAt = phiAt;
    for (const root of this.trees.roots) this.#recurse(root, 0, 0, 1, 1, -1, scale);
  }

  /**
   * Algorithm 2's RECURSE: extend the path (level `level`, a copy of the parent's `length`
   * elements) by the split feature `pathFeature` with fractions `zero` (share of cover that
   * follows this branch) and `one` (1 when the row follows it, else 0); at a leaf, credit each
   * path feature; at a split, undo an earlier split on the same feature and go down both sides.
   */
  #recurse(
    node: number,
    level: number,
    length: number,
    zero: number,
    one: number,
    pathFeature: number,
    scale: number,
  ): void {
    const t = this.trees;
    const s = level * this.#stride;
    if (level > 0) {
      // Plain loops: the paths are a few elements long, shorter than copyWithin's call overhead.
      const from = s - this.#stride;
      const pf = this.#feature;
      const pz = this.#zero;
      const po = this.#one;
      const pw = this.#weight;
      for (let i = 0; i < length; i++) {
        pf[s + i] = pf[from + i]!;
        pz[s + i] = pz[from + i]!;
        po[s + i] = po[from + i]!;
        pw[s + i] = pw[from + i]!;
      }
    }
    this.#extend(s, length, zero, one, pathFeature);
    let n = length + 1;
    const f = t.feature[node]!;
    if (f < 0) {
      const v = t.value[node]! * scale;
      for (let i = 1; i < n; i++) {
        const w = this.#unwoundSum(s, n, i);
        const j = this.#phiAt + this.#feature[s + i]!;
        this.#phi[j] = this.#phi[j]! + w * (this.#one[s + i]! - this.#zero[s + i]!) * v;
      }
      return;
    }
    const goLeft = goesLeft(t, node, this.#x[this.#xAt + f]!);
    const hot = goLeft ? t.left[node]! : t.right[node]!;
    const cold = goLeft ? t.right[node]! : t.left[node]!;
    let inZero = 1;
    let inOne = 1;
    for (let k = 1; k < n; k++) {
      if (this.#feature[s + k] !== f) continue;
      inZero = this.#zero[s + k]!;
      inOne = this.#one[s + k]!;
      this.#unwind(s, n, k);
      n--;
      break;
    }
    const c = t.cover[node]!;
    const hotZero = c > 0 ? (inZero * t.cover[hot]!) / c : 0;
    const coldZero = c > 0 ? (inZero * t.cover[cold]!) / c : 0;
    // A branch with neither cover nor the row adds nothing for any subset (all its weights are 0).
    if (hotZero > 0 || inOne !== 0) this.#recurse(hot, level + 1, n, hotZero, inOne, f, scale);
    if (coldZero > 0) this.#recurse(cold, level + 1, n, coldZero, 0, f, scale);
  }

  /** EXTEND: append (feature, zero, one) to the `length` elements at `s`; update the weights. */
  #extend(s: number, length: number, zero: number, one: number, feature: number): void {
    const w = this.#weight;
    const inv = this.#inverse;
    this.#feature[s + length] = feature;
    this.#zero[s + length] = zero;
    this.#one[s + length] = one;
    w[s + length] = length === 0 ? 1 : 0;
    const invNext = inv[length + 1]!;
    for (let i = length - 1; i >= 0; i--) {
      w[s + i + 1] = w[s + i + 1]! + one * w[s + i]! * (i + 1) * invNext;
      w[s + i] = zero * w[s + i]! * (length - i) * invNext;
    }
  }

  /** UNWIND: remove element `k` of the `length` elements at `s`, undoing its EXTEND. */
  #unwind(s: number, length: number, k: number): void {
    const w = this.#weight;
    const inv = this.#inverse;
    const one = this.#one[s + k]!;
    const zero = this.#zero[s + k]!;
    const last = length - 1;
    const invLength = inv[length]!;
    if (one !== 0) {
      let carry = w[s + last]!;
      for (let j = last - 1; j >= 0; j--) {
        const kept = w[s + j]!;
        const restored = carry * length * inv[j + 1]!;
        w[s + j] = restored;
        carry = kept - restored * zero * (last - j) * invLength;
      }
    } else {
      const invZero = 1 / zero;
      for (let j = last - 1; j >= 0; j--) w[s + j] = w[s + j]! * length * inv[last - j]! * invZero;
    }
    for (let j = k; j < last; j++) {
      this.#feature[s + j] = this.#feature[s + j + 1]!;
      this.#zero[s + j] = this.#zero[s + j + 1]!;
      this.#one[s + j] = this.#one[s + j + 1]!;
    }
  }

  /** Σ of the weights UNWIND(k) would leave, without changing the path. */
  #unwoundSum(s: number, length: number, k: number): number {
    const w = this.#weight;
    const inv = this.#inverse;
    const one = this.#one[s + k]!;
    const zero = this.#zero[s + k]!;
    const last = length - 1;
    let total = 0;
    if (one !== 0) {
      // `one` is 1 here: the row follows every branch it is on (0 or 1 in path-dependent TreeSHAP).
      const zeroPerLength = zero * inv[length]!;
      let carry = w[s + last]!;
      for (let j = last - 1; j >= 0; j--) {
        const share = carry * length * inv[j + 1]!;
        total += share;
        carry = w[s + j]! - share * zeroPerLength * (last - j);
      }
    } else {
      for (let j = last - 1; j >= 0; j--) total += w[s + j]! * inv[last - j]!;
      total *= length / zero;
    }
    return total;
  }
}
