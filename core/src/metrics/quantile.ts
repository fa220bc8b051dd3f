/**
 * Quantiles of already ascending values. Two definitions are in use and both are kept:
 * linear interpolation (numpy's default) for bootstrap intervals and PSI bin edges, and
 * nearest rank for reported latencies (p50/p99 are values that were actually observed).
 */

/** numpy's default q-quantile (type 7, 0 ≤ q ≤ 1) of ascending `sorted`: interpolated linearly at (n − 1)·q; throws when empty. */
export function linearQuantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('linearQuantileSorted: no values');
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** Nearest-rank q-quantile (0 ≤ q ≤ 1) of ascending `sorted`: the ⌈q·n⌉-th smallest, rank clamped to [1, n]; throws when empty. */
export function nearestRankQuantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('nearestRankQuantileSorted: no values');
  const rank = Math.min(n, Math.max(1, Math.ceil(q * n)));
  return sorted[rank - 1]!;
}
