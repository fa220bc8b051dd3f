import type { FeatureRef, FeatureStore } from '@vigil/core';
import { denseMatrix } from '../pipeline/training-set.js';

/** A model's input names (`view__feature`) back as feature references (`view:feature`). */
export function refsOf(featureNames: readonly string[]): FeatureRef[] {
  return featureNames.map((n) => {
    const i = n.indexOf('__');
    return `${n.slice(0, i)}:${n.slice(i + 2)}` as FeatureRef;
  });
}

/**
 * The rows (patient, time) as a model reading `featureNames` sees them: a point-in-time join of
 * its own feature views at `ref`. This is how a champion trained on other features is scored on
 * the same held-out patients as a challenger.
 */
export async function matrixFor(
  store: FeatureStore,
  featureNames: readonly string[],
  rows: { patientIds: readonly string[]; at: ArrayLike<number> },
  ref: string,
): Promise<Float32Array> {
  const result = await store.getHistoricalFeatures({
    entityRows: rows.patientIds.map((patient_id, i) => ({
      patient_id,
      event_timestamp: new Date(rows.at[i]!),
    })),
    features: refsOf(featureNames),
    ref,
    fullFeatureNames: true,
  });
  return denseMatrix(result.rows, featureNames);
}

/** The held-out test rows of a stored dataset: their patients and prediction times. */
export function testRows(
  dataset: { groups: readonly string[]; at: ArrayLike<number> },
  test: ReadonlySet<string>,
) {
  const patientIds: string[] = [];
  const at: number[] = [];
  dataset.groups.forEach((g, i) => {
    if (test.has(g)) {
      patientIds.push(g);
      at.push(dataset.at[i]!);
    }
  });
  return { patientIds, at };
}
