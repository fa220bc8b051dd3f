import { createRng, type TrainingSet } from '@vigil/core';

/**
 * Test data for this package: `features` standard-normal columns (a `nanRate` share set to NaN)
 * and a label from `label(row)` on the complete row. Seeded, so every run sees the same set.
 */
export function syntheticSet(
  seed: number,
  rows: number,
  features: number,
  label: (row: number[], rng: { normal(): number }) => boolean,
  options: { nanRate?: number } = {},
): TrainingSet {
  const rng = createRng(seed);
  const x = new Float32Array(rows * features);
  const y = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = Array.from({ length: features }, () => rng.normal());
    y[r] = label(row, rng) ? 1 : 0;
    for (let j = 0; j < features; j++) {
      x[r * features + j] = rng.next() < (options.nanRate ?? 0) ? Number.NaN : row[j]!;
    }
  }
  return {
    featureNames: Array.from({ length: features }, (_, j) => `f${j}`),
    x,
    y,
    groups: Array.from({ length: rows }, (_, r) => `p${r}`),
    lineage: { lakeCommit: 'test', featureViews: [] },
  };
}
