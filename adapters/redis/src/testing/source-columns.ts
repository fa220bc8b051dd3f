import type { ParquetColumn } from '@vigil/adapter-duckdb';
import type { FeatureDtype, FeatureView } from '@vigil/core';

function keyDtype(rows: readonly Record<string, unknown>[], key: string): FeatureDtype {
  const value = rows.map((r) => r[key]).find((v) => v !== null && v !== undefined);
  if (typeof value === 'number') return Number.isInteger(value) ? 'int64' : 'float64';
  return 'string';
}

/** Parquet columns of a view's source, from its definition (join-key types from the rows). */
export function sourceColumns(view: FeatureView, rows: readonly Record<string, unknown>[]): ParquetColumn[] {
  const columns: ParquetColumn[] = view.entities.map((name) => ({ name, dtype: keyDtype(rows, name) }));
  columns.push({ name: view.source.timestampField, dtype: 'timestamp' });
  if (view.source.createdTimestampField)
    columns.push({ name: view.source.createdTimestampField, dtype: 'timestamp' });
  for (const f of view.features) columns.push({ name: f.name, dtype: f.dtype });
  return columns;
}
