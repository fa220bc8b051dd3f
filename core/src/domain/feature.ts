export type FeatureDtype = 'float64' | 'float32' | 'int64' | 'int32' | 'string' | 'bool' | 'timestamp';

/** Dtypes a join key may declare: the Feast entity value types the online store's key encodes. */
export type EntityDtype = 'string' | 'int64' | 'int32';

export interface FeatureSpec {
  name: string;
  dtype: FeatureDtype;
  description?: string;
}

/**
 * A feature view: features of one entity read from a table in the lake.
 * Semantics follow Feast: a feature row applies to an entity row when
 * `event_ts <= entity_ts` and (ttl > 0) `event_ts >= entity_ts - ttl`; the latest
 * event_ts wins, ties broken by the latest created_ts.
 */
export interface FeatureView {
  name: string;
  /** Join keys of the entity (e.g. `['patient_id']`). */
  entities: string[];
  /**
   * Dtype of join keys that are not strings, by join-key name (e.g. `{ driver_id: 'int64' }`).
   * Online stores in Feast's encoding key an entity by its declared type (an Int64 entity is
   * written as int64_val). Optional; a join key not listed is a string.
   */
  entityDtypes?: Record<string, EntityDtype>;
  features: FeatureSpec[];
  /** Time-to-live in seconds; 0 means unbounded. */
  ttlSeconds: number;
  source: {
    /** Path prefix in the lake holding Parquet files for this view. */
    path: string;
    timestampField: string;
    createdTimestampField?: string;
  };
  /** Monotonic version; bumped when the definition changes. */
  version: number;
  description?: string;
}

/** `view:feature` reference, as Feast writes it. */
export type FeatureRef = `${string}:${string}`;

export type ScalarValue = string | number | boolean | null;

export interface EntityRow {
  [joinKey: string]: ScalarValue | Date;
  event_timestamp: Date;
}
