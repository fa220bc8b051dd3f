import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { type EntityRow, VigilError } from '@vigil/core';
import { quoteIdent } from '../sql/quote.js';

type Duckdb = typeof import('@duckdb/node-api');

/** The DuckDB type a join key's values load as, from the JavaScript values themselves. */
export function inferKeyType(rows: readonly EntityRow[], key: string): string {
  let strings = 0;
  let integers = 0;
  let numbers = 0;
  let booleans = 0;
  let dates = 0;
  let seen = 0;
  for (const row of rows) {
    const v = row[key];
    if (v === null || v === undefined) continue;
    seen++;
    if (typeof v === 'string') strings++;
    else if (typeof v === 'number') {
      numbers++;
      if (Number.isSafeInteger(v)) integers++;
    } else if (typeof v === 'boolean') booleans++;
    else if (v instanceof Date) dates++;
  }
  if (seen === 0 || strings === seen) return 'VARCHAR';
  if (integers === seen) return 'BIGINT';
  if (numbers === seen) return 'DOUBLE';
  if (booleans === seen) return 'BOOLEAN';
  if (dates === seen) return 'TIMESTAMPTZ';
  return 'VARCHAR';
}

/** Epoch milliseconds of an entity row's `event_timestamp`, or a clear error naming the row. */
function eventMillis(row: EntityRow, index: number): number {
  const ts = row.event_timestamp as unknown;
  const ms =
    ts instanceof Date
      ? ts.getTime()
      : typeof ts === 'string' || typeof ts === 'number'
        ? new Date(ts).getTime()
        : NaN;
  if (!Number.isFinite(ms)) {
    throw new VigilError(
      'VIGIL_FEATURE_INVALID_REQUEST',
      `entityRows[${index}].event_timestamp must be a valid Date, got ${ts === undefined ? 'nothing' : typeof ts}`,
    );
  }
  return ms;
}

function keyAppender(duckdb: Duckdb, appender: DuckDBAppender, type: string): (value: unknown) => void {
  switch (type) {
    case 'BIGINT':
      return (v) => appender.appendBigInt(BigInt(v as number));
    case 'DOUBLE':
      return (v) => appender.appendDouble(v as number);
    case 'BOOLEAN':
      return (v) => appender.appendBoolean(v as boolean);
    case 'TIMESTAMPTZ':
      return (v) =>
        appender.appendTimestampTZ(duckdb.timestampTZValue(BigInt((v as Date).getTime()) * 1000n));
    default:
      return (v) => appender.appendVarchar(v instanceof Date ? v.toISOString() : String(v));
  }
}

/**
 * Create a temp table `(__idx INTEGER, __ts_ms DOUBLE, __e0 …)` holding the entity rows,
 * through an appender (no per-row SQL). `__idx` is the input position, used to restore
 * input order. Returns the key columns' DuckDB types.
 */
export async function loadEntityTable(
  duckdb: Duckdb,
  conn: DuckDBConnection,
  table: string,
  rows: readonly EntityRow[],
  joinKeys: readonly string[],
): Promise<string[]> {
  const keyTypes = joinKeys.map((k) => inferKeyType(rows, k));
  const cols = ['__idx INTEGER', '__ts_ms DOUBLE', ...keyTypes.map((t, i) => `__e${i} ${t}`)];
  await conn.run(`CREATE TEMP TABLE ${quoteIdent(table)} (${cols.join(', ')})`);
  const appender = await conn.createAppender(table);
  try {
    const appenders = keyTypes.map((t) => keyAppender(duckdb, appender, t));
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      appender.appendInteger(i);
      appender.appendDouble(eventMillis(row, i));
      for (let k = 0; k < joinKeys.length; k++) {
        const v = row[joinKeys[k]!];
        if (v === undefined) {
          throw new VigilError(
            'VIGIL_FEATURE_INVALID_REQUEST',
            `entityRows[${i}] lacks join key '${joinKeys[k]}' needed by the requested features`,
          );
        }
        if (v === null) appender.appendNull();
        else appenders[k]!(v);
      }
      appender.endRow();
    }
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
  return keyTypes;
}
