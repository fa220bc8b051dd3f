import { nearestRankQuantileSorted } from '@vigil/core';

/** The q-th quantile by nearest rank (the smallest value with at least q of the sample at or below it); null when empty. */
export function nearestRankQuantile(values: ArrayLike<number>, q: number): number | null {
  if (values.length === 0) return null;
  return nearestRankQuantileSorted(Float64Array.from(values).sort(), q);
}
