import { createRng } from '@vigil/core';

/**
 * Patient-grouped, stratified k-fold assignment for stacking: every group (patient) lands in
 * exactly one fold; groups with at least one positive row and groups without are each shuffled
 * (seeded) and dealt round-robin, so each fold gets its share of positive patients.
 * Returns the fold of every row (0..k−1).
 */
export function groupFolds(groups: readonly string[], y: Uint8Array, k: number, seed: number): Int32Array {
  const positive = new Map<string, boolean>();
  for (let r = 0; r < groups.length; r++) {
    const g = groups[r]!;
    positive.set(g, (positive.get(g) ?? false) || y[r] === 1);
  }
  const rng = createRng(seed).fork('ensemble-folds');
  const foldOf = new Map<string, number>();
  let next = 0;
  for (const wanted of [true, false]) {
    const members = [...positive.keys()].filter((g) => positive.get(g) === wanted).sort();
    for (let i = members.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [members[i], members[j]] = [members[j]!, members[i]!];
    }
    for (const g of members) foldOf.set(g, next++ % k);
  }
  return Int32Array.from(groups, (g) => foldOf.get(g)!);
}
