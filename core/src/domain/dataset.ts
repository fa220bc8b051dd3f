/**
 * A training set in memory: a dense float matrix (row-major, NaN = missing),
 * a binary label and the group (patient) of each row for grouped splits.
 */
export interface TrainingSet {
  featureNames: string[];
  /** rows × featureNames.length, row-major; NaN marks a missing value. */
  x: Float32Array;
  /** 0/1 labels, one per row. */
  y: Uint8Array;
  /** Group of each row (a pseudonymous patient key); splits never cut a group. */
  groups: string[];
  /** What the set was built from, so it can be rebuilt exactly. */
  lineage: DatasetLineage;
}

export interface DatasetLineage {
  lakeCommit: string;
  featureViews: { name: string; version: number }[];
  /** Any further provenance (entity query, label definition …). */
  [key: string]: unknown;
}

export function rowCount(set: Pick<TrainingSet, 'y'>): number {
  return set.y.length;
}
