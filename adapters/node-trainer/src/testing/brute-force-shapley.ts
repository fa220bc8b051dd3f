/**
 * Trees as the brute force reads them (a {@link TreeEnsemble} fits): flat node arrays, `feature`
 * −1 at a leaf, a row going left when `x <= threshold` (`<` where `strict`), NaN left when
 * `missingLeft`.
 */
export interface ShapleyTrees {
  featureCount: number;
  base: number;
  roots: ArrayLike<number>;
  feature: ArrayLike<number>;
  threshold: ArrayLike<number>;
  strict?: ArrayLike<number>;
  missingLeft: ArrayLike<number>;
  left: ArrayLike<number>;
  right: ArrayLike<number>;
  value: ArrayLike<number>;
  cover: ArrayLike<number>;
}

/**
 * v(S) = E[f(x) | x_S] as path-dependent TreeSHAP defines it, for one tree from node `i`: a split
 * on a feature in S (bit mask `inS`) follows the row, NaN its learned direction; any other split
 * averages its children weighted by cover.
 */
function conditional(t: ShapleyTrees, i: number, x: ArrayLike<number>, at: number, inS: number): number {
  const f = t.feature[i]!;
  if (f < 0) return t.value[i]!;
  const l = t.left[i]!;
  const r = t.right[i]!;
  if ((inS >> f) & 1) {
    const v = x[at + f]!;
    let left: boolean;
    if (Number.isNaN(v)) left = t.missingLeft[i] === 1;
    else left = t.strict?.[i] === 1 ? v < t.threshold[i]! : v <= t.threshold[i]!;
    return conditional(t, left ? l : r, x, at, inS);
  }
  const c = t.cover[i]!;
  if (c === 0) return 0;
  let sum = 0;
  if (t.cover[l]! > 0) sum += t.cover[l]! * conditional(t, l, x, at, inS);
  if (t.cover[r]! > 0) sum += t.cover[r]! * conditional(t, r, x, at, inS);
  return sum / c;
}

/**
 * The truth TreeSHAP must match, the slow and obvious way (tests only): v(S) for all 2^M subsets
 * of the M features, then φ_i = Σ_{S ∌ i} |S|!(M − |S| − 1)!/M! · (v(S ∪ {i}) − v(S)). M ≤ 16.
 */
export function bruteForceShapley(t: ShapleyTrees, x: ArrayLike<number>, at: number): Float64Array {
  const m = t.featureCount;
  if (m > 16) throw new Error(`brute force over ${m} features: too many subsets`);
  const subsets = 1 << m;
  const v = new Float64Array(subsets);
  for (let s = 0; s < subsets; s++) {
    let sum = t.base;
    for (let k = 0; k < t.roots.length; k++) sum += conditional(t, t.roots[k]!, x, at, s);
    v[s] = sum;
  }
  return shapleyOfGame(v, m);
}

/** Shapley values of a game given by its value on every subset (bit mask) of m players. */
export function shapleyOfGame(v: ArrayLike<number>, m: number): Float64Array {
  const factorial = [1];
  for (let k = 1; k <= m; k++) factorial.push(factorial[k - 1]! * k);
  const phi = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    for (let s = 0; s < 1 << m; s++) {
      if ((s >> i) & 1) continue;
      let size = 0;
      for (let b = s; b > 0; b >>= 1) size += b & 1;
      const weight = (factorial[size]! * factorial[m - size - 1]!) / factorial[m]!;
      phi[i] = phi[i]! + weight * (v[s | (1 << i)]! - v[s]!);
    }
  }
  return phi;
}
