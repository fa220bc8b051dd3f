import type { FeatureDtype } from '@vigil/core';

/** DuckDB column type of each feature dtype. */
export const SQL_TYPES: Readonly<Record<FeatureDtype, string>> = {
  float64: 'DOUBLE',
  float32: 'FLOAT',
  int64: 'BIGINT',
  int32: 'INTEGER',
  string: 'VARCHAR',
  bool: 'BOOLEAN',
  timestamp: 'TIMESTAMPTZ',
};

export const FEATURE_DTYPES: readonly FeatureDtype[] = Object.keys(SQL_TYPES) as FeatureDtype[];

export function isFeatureDtype(value: unknown): value is FeatureDtype {
  return typeof value === 'string' && Object.hasOwn(SQL_TYPES, value);
}

/**
 * SQL that turns a column of the given dtype into what we hand back to JavaScript without
 * per-value conversion objects: numbers as DOUBLE (int64 included, exact up to 2^53),
 * timestamps as epoch milliseconds (DOUBLE, turned into `Date`s by the caller).
 */
export function outputExpression(column: string, dtype: FeatureDtype): string {
  switch (dtype) {
    case 'float64':
    case 'float32':
    case 'int64':
      return `CAST(${column} AS DOUBLE)`;
    case 'timestamp':
      return `CAST(epoch_ms(${column}) AS DOUBLE)`;
    default:
      return column;
  }
}
