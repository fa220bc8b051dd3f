import type { FeatureView, ScalarValue } from '@vigil/core';

/** One row to store online: an entity of a view, its event time and its feature values. */
export interface OnlineRow {
  /** Join-key values in `view.entities` order. */
  entity: readonly unknown[];
  /** Event timestamp, epoch microseconds. */
  ts: number;
  /** Values in `view.features` order; timestamp features as ISO strings, missing as null. */
  values: readonly ScalarValue[];
}

/** What the online side holds for one entity of a view. */
export interface OnlineEntry {
  /** Event timestamp of the stored row, epoch microseconds. */
  ts: number;
  values: ScalarValue[];
}

/**
 * Where a FeatureStore keeps its online values: the embedded journal store by default, or
 * Redis in Feast's encoding (`@vigil/adapter-redis`). Feast's write rule holds for every
 * backend: a row whose timestamp is ≤ the stored one for its entity and view (or an earlier
 * row of the same batch) is skipped.
 */
export interface OnlineBackend {
  /** Store the rows that are newer than what is stored; returns how many were applied. */
  write(view: FeatureView, rows: readonly OnlineRow[]): Promise<number>;
  /**
   * For each entity (join-key values in `view.entities` order), the stored event timestamp
   * (epoch microseconds) and the values of the features at `features` (indices into
   * `view.features`), in that order; null for an entity the view never stored.
   */
  read(
    view: FeatureView,
    entities: readonly (readonly unknown[])[],
    features: readonly number[],
  ): Promise<(OnlineEntry | null)[]>;
  /**
   * Optional: the reads of several views for the same entity rows (join-key values by name),
   * answered as `read` would answer each one (`result[r][i]` = read `r`, entity row `i`) but
   * in as few round trips as the backend can: Redis reads the views that share an entity key
   * with one `HMGET` per entity (Feast keeps them in one hash). Without it, each view is one
   * `read`.
   */
  readViews?(
    reads: readonly { view: FeatureView; features: readonly number[] }[],
    entityRows: readonly Record<string, unknown>[],
  ): Promise<(OnlineEntry | null)[][]>;
  /** Forget every stored value of a view, as it was defined by `previous` (its definition changed). */
  clearView(previous: FeatureView): Promise<void>;
  /** Wait for pending writes and release connections. */
  close(): Promise<void>;
}
