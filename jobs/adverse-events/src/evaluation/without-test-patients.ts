import { type TrainingSet, VigilError } from '@vigil/core';
import type { PatientSplit } from '../steps/feature-steps.js';

/** Indices (ascending) of the rows whose patient is not a test patient of the split. */
export function nonTestRows(groups: readonly string[], split: Pick<PatientSplit, 'test'>): number[] {
  const test = new Set(split.test);
  const rows: number[] = [];
  for (let i = 0; i < groups.length; i++) if (!test.has(groups[i]!)) rows.push(i);
  return rows;
}

/**
 * The rows that CV and tuning may see: the training set without the split's test
 * patients (train and validation patients both stay; CV folds re-split them). Keeps row
 * order; carries `at` (prediction times) along when the set has it.
 */
export function withoutTestPatients<T extends TrainingSet & { at?: Float64Array }>(
  set: T,
  split: Pick<PatientSplit, 'test'>,
): T {
  const rows = nonTestRows(set.groups, split);
  const d = set.featureNames.length;
  const x = new Float32Array(rows.length * d);
  rows.forEach((src, dst) => {
    x.set(set.x.subarray(src * d, src * d + d), dst * d);
  });
  return {
    ...set,
    x,
    y: Uint8Array.from(rows, (i) => set.y[i]!),
    groups: rows.map((i) => set.groups[i]!),
    ...(set.at ? { at: Float64Array.from(rows, (i) => set.at![i]!) } : {}),
  };
}

/** Throws if any row belongs to a test patient: the guard in front of every CV and tuning fold. */
export function assertNoTestPatients(groups: readonly string[], testPatients: Iterable<string>): void {
  const test = new Set(testPatients);
  let found = 0;
  let first = -1;
  for (let i = 0; i < groups.length; i++)
    if (test.has(groups[i]!)) {
      found++;
      if (first < 0) first = i;
    }
  if (found > 0)
    throw new VigilError(
      'VIGIL_TRAINER_INVALID_DATASET',
      `${found} rows (first: row ${first}) belong to held-out test patients; CV and tuning take the rows from withoutTestPatients()`,
      { details: { rows: found, firstRow: first } },
    );
}
