import { createRng, type TrainingSet } from '@vigil/core';

/**
 * Test data for the TCN: `patients` patients with `steps` rows each (in time order), features
 * `level` (a random walk around a large per-patient offset), and two noise features. The label of
 * a row is 1 when the level rose over the last two steps by more than 1 (x_t − x_{t−2} > 1, plus
 * a little noise): a pattern across time steps that the current row alone barely reveals.
 */
export function risingSequenceSet(seed: number, patients: number, steps: number): TrainingSet {
  const rng = createRng(seed);
  const d = 3;
  const rows = patients * steps;
  const x = new Float32Array(rows * d);
  const y = new Uint8Array(rows);
  const groups: string[] = [];
  for (let p = 0; p < patients; p++) {
    let level = 10 * rng.normal();
    const history: number[] = [];
    for (let t = 0; t < steps; t++) {
      level += rng.normal();
      history.push(level);
      const r = p * steps + t;
      x[r * d] = level;
      x[r * d + 1] = rng.normal();
      x[r * d + 2] = rng.next() < 0.1 ? Number.NaN : rng.normal();
      const before = t >= 2 ? history[t - 2]! : level;
      y[r] = level - before + 0.2 * rng.normal() > 1 ? 1 : 0;
      groups.push(`s${seed}p${p}`);
    }
  }
  return {
    featureNames: ['level', 'noise', 'sparse'],
    x,
    y,
    groups,
    lineage: { lakeCommit: 'test', featureViews: [] },
  };
}

/**
 * Test data for sequence models and their ensembles: per patient, `level` (a random walk around a
 * per-patient offset of sd `levelSd`), `spike` (standard normal) and `sparse` (noise, a `nanRate`
 * share missing). A row's label is 1 when the level rose over the last two steps by more than
 * `riseThreshold` (plus 0.3 noise) — only a sequence model sees that — or when |spike| > 1.8,
 * which trees find at once from the current row.
 */
export function mixedSequenceSet(
  seed: number,
  patients: number,
  steps: number,
  options: { levelSd: number; nanRate: number; riseThreshold: number },
): TrainingSet {
  const rng = createRng(seed);
  const d = 3;
  const x = new Float32Array(patients * steps * d);
  const y = new Uint8Array(patients * steps);
  const groups: string[] = [];
  for (let p = 0; p < patients; p++) {
    let level = options.levelSd * rng.normal();
    const history: number[] = [];
    for (let t = 0; t < steps; t++) {
      level += rng.normal();
      history.push(level);
      const r = p * steps + t;
      const spike = rng.normal();
      x[r * d] = level;
      x[r * d + 1] = spike;
      x[r * d + 2] = rng.next() < options.nanRate ? Number.NaN : rng.normal();
      const rise = level - (t >= 2 ? history[t - 2]! : level);
      y[r] = rise + 0.3 * rng.normal() > options.riseThreshold || Math.abs(spike) > 1.8 ? 1 : 0;
      groups.push(`s${seed}p${p}`);
    }
  }
  return {
    featureNames: ['level', 'spike', 'sparse'],
    x,
    y,
    groups,
    lineage: { lakeCommit: 'test', featureViews: [] },
  };
}
