export { type DuckDBFeatureStoreConfig, duckdbFeatureStore, duckdbFeatureStoreConfig } from './descriptor.js';
export { DuckDBFeatureStore, type DuckDBFeatureStoreOptions } from './duckdb-feature-store.js';
export { EmbeddedOnlineBackend } from './online/embedded-online-backend.js';
export type { OnlineBackend, OnlineEntry, OnlineRow } from './online/online-backend.js';
export {
  type OnlineConfig,
  onlineConfig,
  type RedisOnlineConfig,
  redisOnlineConfig,
} from './online/online-config.js';
export { micros, OnlineFeatures } from './online/online-features.js';
export { type ParquetColumn, type ParquetOptions, parquetFromRows } from './parquet.js';
export { type ResolvedFeature, resolveFeatures } from './views/resolve-features.js';
export { assertValidViews, ENTITY_DTYPES } from './views/validate-view.js';
export { type ApplyOutcome, ViewRegistry } from './views/view-registry.js';
