import type { TieRuns } from './binary-input.js';

/**
 * AUROC of a multiset of rows: row i counted `weights[i]` times (a bootstrap resample as
 * counts). Mann–Whitney with ties given half credit, in one pass over precomputed tie
 * runs, so a bootstrap replicate costs O(n) rather than a sort. Null when the weighted
 * rows hold a single class.
 */
export function weightedAuroc(
  runs: TieRuns,
  labels: ArrayLike<number>,
  weights: ArrayLike<number>,
): number | null {
  const { order, starts } = runs;
  let negativesBelow = 0;
  let positives = 0;
  let wins = 0;
  for (let r = 0; r + 1 < starts.length; r++) {
    let pos = 0;
    let neg = 0;
    for (let k = starts[r]!; k < starts[r + 1]!; k++) {
      const i = order[k]!;
      if (labels[i] === 1) pos += weights[i]!;
      else neg += weights[i]!;
    }
    wins += pos * (negativesBelow + neg / 2);
    negativesBelow += neg;
    positives += pos;
  }
  if (positives === 0 || negativesBelow === 0) return null;
  return wins / (positives * negativesBelow);
}
