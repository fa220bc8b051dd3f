export { type DuckDBFeatureStoreConfig, duckdbFeatureStore, duckdbFeatureStoreConfig } from './descriptor.js';
export { DuckDBFeatureStore, type DuckDBFeatureStoreOptions } from './duckdb-feature-store.js';
export { type ParquetColumn, type ParquetOptions, parquetFromRows } from './parquet.js';
