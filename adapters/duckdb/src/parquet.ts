import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { type FeatureDtype, VigilError } from '@vigil/core';
import { SQL_TYPES } from './sql/dtype.js';
import { quoteIdent, quoteString } from './sql/quote.js';

export interface ParquetColumn {
  name: string;
  dtype: FeatureDtype;
}

export interface ParquetOptions {
  /** A DuckDB connection to use; by default a throwaway in-memory instance. */
  connection?: DuckDBConnection;
  /** Folder for the temporary file (default: the OS temp folder). */
  tmpDir?: string;
  /** Parquet compression codec (default `zstd`). */
  compression?: 'zstd' | 'snappy' | 'gzip' | 'uncompressed';
}

/** Append `value` when it is valid for the column, else return false (nothing appended). */
type Append = (appender: DuckDBAppender, value: unknown) => boolean;

function millis(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string' || typeof value === 'number') return new Date(value).getTime();
  return Number.NaN;
}

function guarded<T>(valid: (v: unknown) => v is T, append: (a: DuckDBAppender, v: T) => void): Append {
  return (a, v) => {
    if (!valid(v)) return false;
    append(a, v);
    return true;
  };
}

const isNumber = (v: unknown): v is number => typeof v === 'number';
const isInt64 = (v: unknown): v is number | bigint =>
  typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v));
const isInt32 = (v: unknown): v is number => typeof v === 'number' && (v | 0) === v;
const isString = (v: unknown): v is string => typeof v === 'string';
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isTime = (v: unknown): v is Date | string | number => Number.isFinite(millis(v));

function appenderFor(duckdb: typeof import('@duckdb/node-api'), dtype: FeatureDtype): Append {
  switch (dtype) {
    case 'float64':
      return guarded(isNumber, (a, v) => a.appendDouble(v));
    case 'float32':
      return guarded(isNumber, (a, v) => a.appendFloat(v));
    case 'int64':
      return guarded(isInt64, (a, v) => a.appendBigInt(BigInt(v)));
    case 'int32':
      return guarded(isInt32, (a, v) => a.appendInteger(v));
    case 'string':
      return guarded(isString, (a, v) => a.appendVarchar(v));
    case 'bool':
      return guarded(isBoolean, (a, v) => a.appendBoolean(v));
    case 'timestamp':
      return guarded(isTime, (a, v) =>
        a.appendTimestampTZ(duckdb.timestampTZValue(BigInt(Math.round(millis(v))) * 1000n)),
      );
  }
}

/**
 * Rows → Parquet bytes, written by DuckDB (`COPY … TO … (FORMAT parquet)`). Timestamps are
 * stored as UTC-adjusted microsecond timestamps (TIMESTAMPTZ), which pyarrow/Feast read as
 * tz-aware UTC. `null`/`undefined` become nulls; a value of the wrong type is an error naming
 * the column and row.
 */
export async function parquetFromRows(
  columns: readonly ParquetColumn[],
  rows: readonly Record<string, unknown>[],
  options: ParquetOptions = {},
): Promise<Uint8Array> {
  if (columns.length === 0) {
    throw new VigilError('VIGIL_FEATURE_INVALID_REQUEST', 'parquetFromRows: columns must not be empty');
  }
  const duckdb = await import('@duckdb/node-api');
  const instance = options.connection
    ? undefined
    : await duckdb.DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = options.connection ?? (await instance!.connect());
  const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'vigil-parquet-'));
  const table = `__parquet_rows_${Math.random().toString(36).slice(2, 10)}`;
  try {
    const defs = columns.map((c) => `${quoteIdent(c.name)} ${SQL_TYPES[c.dtype]}`);
    await conn.run(`CREATE TEMP TABLE ${quoteIdent(table)} (${defs.join(', ')})`);
    const appender = await conn.createAppender(table);
    try {
      const appends = columns.map((c) => appenderFor(duckdb, c.dtype));
      rows.forEach((row, r) => {
        columns.forEach((c, i) => {
          const v = row[c.name];
          if (v === null || v === undefined) appender.appendNull();
          else if (!appends[i]!(appender, v)) {
            throw new VigilError(
              'VIGIL_FEATURE_INVALID_REQUEST',
              `parquetFromRows: rows[${r}].${c.name} is not a valid ${c.dtype} (got ${typeof v})`,
            );
          }
        });
        appender.endRow();
      });
      appender.flushSync();
      appender.closeSync();
    } catch (error) {
      // Drop a half-appended row so closing does not fail over it and hide the real error.
      try {
        appender.clear();
        appender.closeSync();
      } catch {}
      throw error;
    }
    const file = join(dir, 'rows.parquet');
    await conn.run(
      `COPY ${quoteIdent(table)} TO ${quoteString(file)} (FORMAT parquet, COMPRESSION ${options.compression ?? 'zstd'})`,
    );
    return new Uint8Array(await readFile(file));
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${quoteIdent(table)}`).catch(() => undefined);
    if (instance) {
      conn.closeSync();
      instance.closeSync();
    }
    await rm(dir, { recursive: true, force: true });
  }
}
