import { createRng, type EntityRow, type FeatureRef, type FeatureStore, type TrainingSet } from '@vigil/core';

export interface LabelledEntity {
  patientId: string;
  at: Date;
  label: 0 | 1;
}

/** Split patients (never rows) into disjoint groups by seeded shuffle. */
export function splitPatients(patientIds: string[], fractions: number[], seed: number): string[][] {
  const ids = [...new Set(patientIds)].sort();
  const rng = createRng(seed).fork('patient-split');
  for (let i = ids.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  const groups: string[][] = [];
  let from = 0;
  for (const f of fractions) {
    const n = Math.round(f * ids.length);
    groups.push(ids.slice(from, from + n));
    from += n;
  }
  groups.push(ids.slice(from));
  return groups;
}

/** Point-in-time features for labelled entities, as a dense training set (NaN = missing). */
export async function buildTrainingSet(options: {
  store: FeatureStore;
  entities: LabelledEntity[];
  features: FeatureRef[];
  ref: string;
}): Promise<TrainingSet> {
  const entityRows: EntityRow[] = options.entities.map((e) => ({
    patient_id: e.patientId,
    event_timestamp: e.at,
  }));
  const result = await options.store.getHistoricalFeatures({
    entityRows,
    features: options.features,
    ref: options.ref,
    fullFeatureNames: true,
  });
  const featureNames = options.features.map((f) => f.replace(':', '__'));
  return {
    featureNames,
    x: denseMatrix(result.rows, featureNames),
    y: Uint8Array.from(options.entities, (e) => e.label),
    groups: options.entities.map((e) => e.patientId),
    lineage: { lakeCommit: result.lakeCommit, featureViews: result.featureViews },
  };
}

/** Feature rows as a row-major float matrix in `names` order; a null or absent value is NaN (missing). */
export function denseMatrix(
  rows: readonly Record<string, unknown>[],
  names: readonly string[],
): Float32Array {
  const d = names.length;
  const x = new Float32Array(rows.length * d);
  rows.forEach((row, i) => {
    for (let j = 0; j < d; j++) {
      const v = row[names[j]!];
      x[i * d + j] = v === null || v === undefined ? Number.NaN : Number(v);
    }
  });
  return x;
}

/** Rows of a training set whose group is in `keep` (with their times when the set has them). */
export function subset(
  set: TrainingSet & { at?: ArrayLike<number> },
  keep: Set<string>,
): TrainingSet & { at?: Float64Array } {
  return subsetRows(set, (i) => keep.has(set.groups[i]!));
}

/** The rows of a set for which `keep(row)` holds, in order (with their times when the set has them). */
export function subsetRows(
  set: TrainingSet & { at?: ArrayLike<number> },
  keep: (row: number) => boolean,
): TrainingSet & { at?: Float64Array } {
  const d = set.featureNames.length;
  const idx: number[] = [];
  for (let i = 0; i < set.y.length; i++) if (keep(i)) idx.push(i);
  const x = new Float32Array(idx.length * d);
  idx.forEach((src, dst) => {
    x.set(set.x.subarray(src * d, src * d + d), dst * d);
  });
  return {
    featureNames: set.featureNames,
    x,
    y: Uint8Array.from(idx, (i) => set.y[i]!),
    groups: idx.map((i) => set.groups[i]!),
    lineage: set.lineage,
    ...(set.at ? { at: Float64Array.from(idx, (i) => set.at![i]!) } : {}),
  };
}
