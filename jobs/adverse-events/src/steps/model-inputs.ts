import { type FeatureRef, type FeatureStore, type ModelArtifact, toSequences } from '@vigil/core';
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

/** Rows as a model is fed them: features in the model's order, each row's patient and time. */
export interface ModelRows {
  x: Float32Array;
  groups: readonly string[];
  at?: ArrayLike<number> | undefined;
}

/**
 * The matrix `artifact` reads for `rows`: the rows themselves (`[N, d]`), or for a sequence model
 * (input `[N, L·d]`: TCN, ensemble) each row after its patient's L − 1 earlier rows in `rows`
 * (by time when given), NaN-padded — the sequences the trainer built from the same rows.
 */
export function modelInput(artifact: ModelArtifact, rows: ModelRows): Float32Array {
  const d = artifact.featureNames.length;
  const width = artifact.inputs[0]?.shape[1] ?? d;
  if (width === d) return rows.x;
  return toSequences(
    {
      featureNames: [...artifact.featureNames],
      x: rows.x,
      groups: [...rows.groups],
      ...(rows.at ? { at: rows.at } : {}),
    },
    width / d,
  );
}

/**
 * Online rows as `artifact` reads them: the online features themselves for a row model; for a
 * sequence model each patient's online row (at `now`) after their L − 1 latest `history` rows,
 * the same sequence the model was trained on.
 */
export function onlineInput(
  artifact: ModelArtifact,
  online: { x: Float32Array; patientIds: readonly string[] },
  history: ModelRows & { at: ArrayLike<number> },
  now: number,
): Float32Array {
  const d = artifact.featureNames.length;
  const width = artifact.inputs[0]?.shape[1] ?? d;
  if (width === d) return online.x;
  const n = history.groups.length;
  const x = new Float32Array(n * d + online.x.length);
  x.set(history.x.subarray(0, n * d));
  x.set(online.x, n * d);
  const at = new Float64Array(n + online.patientIds.length).fill(now);
  for (let i = 0; i < n; i++) at[i] = history.at[i]!;
  const all = modelInput(artifact, { x, groups: [...history.groups, ...online.patientIds], at });
  return all.subarray(n * width);
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
