import type { EntityRow, FeatureRef, FeatureView, ScalarValue } from '../domain/feature.js';

/**
 * FeatureStore: feature views with an offline (historical) and an online side, with
 * Feast's semantics.
 *
 * Call order: `apply(views)` (idempotent; bumps nothing when unchanged) →
 * `getHistoricalFeatures` for training at a lake ref → `materialize` offline → online →
 * `getOnlineFeatures` when serving; `push` writes streaming rows to the online side.
 */

export interface FeatureStoreCapabilities {
  /** Point-in-time historical retrieval. Default true. */
  offline: boolean;
  /** Low-latency online lookup. Default true. */
  online: boolean;
  /** `push` of streaming rows to the online store. Default true. */
  streamingPush: boolean;
  /** `getOnlineMatrix`: the online read as one Float32 row per entity. Default false. */
  onlineMatrix?: boolean;
}

export interface HistoricalRequest {
  /** Entity rows: join keys + `event_timestamp` (UTC). Output keeps their order. */
  entityRows: EntityRow[];
  features: FeatureRef[];
  /** Lake ref (branch or commit) the views' sources are read at. Default: the lake's default branch. */
  ref?: string;
  /** Name columns `view__feature` instead of `feature`. Default true. */
  fullFeatureNames?: boolean;
}

export interface HistoricalResult {
  /** One row per entity row, in input order: the entity columns, then the features. */
  rows: Record<string, ScalarValue | Date>[];
  /** The lake commit the features were read at (pins the training set). */
  lakeCommit: string;
  featureViews: { name: string; version: number }[];
}

export interface MaterializeRequest {
  views?: string[];
  /** Inclusive lower bound of feature timestamps to copy; default: since the last materialisation. */
  start?: Date;
  /** Upper bound (inclusive). */
  end: Date;
  ref?: string;
}

export interface OnlineRequest {
  features: FeatureRef[];
  entityRows: Record<string, ScalarValue>[];
  fullFeatureNames?: boolean;
}

export interface OnlineResult {
  /** Column names: join keys then features, like Feast's `metadata.feature_names`. */
  featureNames: string[];
  /** One row per entity row; missing / expired values are null. */
  rows: Record<string, ScalarValue>[];
  /**
   * Optional, per row: the event timestamp of each feature column's stored value (null when
   * the entity has none), so a server can report Feast's `event_timestamps` and statuses.
   */
  eventTimestamps?: Record<string, Date | null>[];
}

/**
 * The read of `getOnlineFeatures`, dense, as a model server feeds it to a model: no object
 * per entity, no Date per value.
 */
export interface OnlineMatrix {
  /** Feature columns in request order, named as `getOnlineFeatures` names them (no join keys). */
  features: string[];
  /** Entity rows × features, row-major: `Number(value)`, NaN where missing or expired. */
  x: Float32Array;
  /** The feature views read, in the order `features` first uses them. */
  views: string[];
  /** Entity rows × views: the event time (epoch ms) of the entity's stored row of each view; NaN where it has none. */
  eventTimes: Float64Array;
}

export interface FeatureStore {
  readonly capabilities: FeatureStoreCapabilities;
  /** Register or update views. A changed definition must carry a higher version. */
  apply(views: FeatureView[]): Promise<void>;
  listViews(): Promise<FeatureView[]>;
  getHistoricalFeatures(request: HistoricalRequest): Promise<HistoricalResult>;
  /** Copy the latest value per entity from offline to online. Returns rows written. */
  materialize(request: MaterializeRequest): Promise<{ rowsWritten: number }>;
  /** Write streaming rows (join keys, timestamp field, features) to the online store; older rows than stored are skipped. */
  push(view: string, rows: Record<string, ScalarValue | Date>[]): Promise<{ rowsWritten: number }>;
  getOnlineFeatures(request: OnlineRequest): Promise<OnlineResult>;
  /** With `capabilities.onlineMatrix`: the same read as `getOnlineFeatures`, same checks and errors, dense. */
  getOnlineMatrix?(request: OnlineRequest): Promise<OnlineMatrix>;
  close(): Promise<void>;
}

export const defaultFeatureStoreCapabilities: FeatureStoreCapabilities = {
  offline: true,
  online: true,
  streamingPush: true,
};
