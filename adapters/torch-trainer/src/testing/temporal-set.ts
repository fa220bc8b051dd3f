import { createRng, type TrainingSet } from '@vigil/core';

/**
 * A synthetic set with a real temporal signal, one patient per group, `steps` rows per patient in
 * time order (rows carry `at`, so sequences follow time, not position):
 *
 * - `level`: a random walk around a per-patient offset (so its current value says little);
 * - `rate`: a noisy reading of the walk's last step (a 1-step change, 30 % missing);
 * - `noise`, `sparse`: pure noise, `sparse` 40 % missing.
 *
 * The label of a row is 1 when the level rose by more than 1.5 over the last 3 steps, plus label
 * noise: a pattern across time steps that the current row alone reveals only in part.
 */
export function temporalSet(seed: number, patients: number, steps: number): TrainingSet & { at: number[] } {
  const rng = createRng(seed);
  const d = 4;
  const rows = patients * steps;
  const x = new Float32Array(rows * d);
  const y = new Uint8Array(rows);
  const groups: string[] = [];
  const at: number[] = [];
  const day = 86_400_000;
  for (let p = 0; p < patients; p++) {
    let level = 8 * rng.normal();
    const history: number[] = [];
    for (let t = 0; t < steps; t++) {
      const step = rng.normal();
      level += step;
      history.push(level);
      const r = p * steps + t;
      x[r * d] = level;
      x[r * d + 1] = rng.next() < 0.3 ? Number.NaN : step + 0.5 * rng.normal();
      x[r * d + 2] = rng.normal();
      x[r * d + 3] = rng.next() < 0.4 ? Number.NaN : rng.normal();
      const before = t >= 3 ? history[t - 3]! : history[0]!;
      y[r] = level - before + 0.6 * rng.normal() > 1.5 ? 1 : 0;
      groups.push(`s${seed}p${p}`);
      at.push(Date.UTC(2024, 0, 1) + t * day);
    }
  }
  return {
    featureNames: ['level', 'rate', 'noise', 'sparse'],
    x,
    y,
    groups,
    at,
    lineage: { lakeCommit: 'test', featureViews: [{ name: 'temporal', version: 1 }] },
  };
}
