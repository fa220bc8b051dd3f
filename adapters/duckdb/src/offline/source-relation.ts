import type { DuckDBConnection } from '@duckdb/node-api';
import { type FeatureView, VigilError } from '@vigil/core';
import { SQL_TYPES } from '../sql/dtype.js';
import { quoteIdent, quoteString } from '../sql/quote.js';

/**
 * A view's source as a SQL relation with fixed column names:
 * `__k0…` (join keys, in `view.entities` order), `__ts` (event time, epoch µs),
 * `__created` (created time, epoch µs, or NULL) and `__f0…` (features, cast to their dtypes).
 */
export interface SourceRelation {
  sql: string;
  /** DuckDB types of the join-key columns as stored in the source (or the casts applied). */
  keyTypes: string[];
  /** Whether the relation has the `__ord` tie-break column. */
  ordered: boolean;
}

/** Column names and DuckDB types of the Parquet files (unioned by name). */
export async function describeFiles(
  conn: DuckDBConnection,
  files: readonly string[],
): Promise<Map<string, string>> {
  const reader = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${readParquet(files)}`);
  const [names = [], types = []] = reader.getColumns();
  return new Map(names.map((name, i) => [String(name), String(types[i])]));
}

function readParquet(files: readonly string[]): string {
  return `read_parquet([${files.map(quoteString).join(', ')}], union_by_name = true)`;
}

const epochMicros = (column: string) => `epoch_us(CAST(${quoteIdent(column)} AS TIMESTAMPTZ))`;

/**
 * Build the relation. `keyCasts` (one DuckDB type per join key) casts keys to the entity
 * table's types (values that do not convert never match). With `order`, a view with a
 * created timestamp also gets `__ord = {t: __ts, c: __created}` (a missing created time sorts
 * first): ordering by it is "latest event time, then latest created time", Feast's tie-break.
 */
export function sourceRelation(
  view: FeatureView,
  commit: string,
  files: readonly string[],
  columns: ReadonlyMap<string, string>,
  options: { keyCasts?: readonly string[]; order?: boolean },
): SourceRelation {
  const keys = view.entities.map((_, i) => `__k${i}`);
  const feats = view.features.map((_, i) => `__f${i}`);
  const { timestampField, createdTimestampField } = view.source;
  const ordered = options.order === true && createdTimestampField !== undefined;
  if (files.length === 0) {
    const keyTypes = view.entities.map((_, i) => options.keyCasts?.[i] ?? 'VARCHAR');
    const cols = [
      ...keys.map((k, i) => `CAST(NULL AS ${keyTypes[i]}) AS ${k}`),
      'CAST(NULL AS BIGINT) AS __ts',
      'CAST(NULL AS BIGINT) AS __created',
      ...view.features.map((f, i) => `CAST(NULL AS ${SQL_TYPES[f.dtype]}) AS ${feats[i]}`),
    ];
    if (ordered) cols.push(`${orderKey('CAST(NULL AS BIGINT)', 'CAST(NULL AS BIGINT)')} AS __ord`);
    return { sql: `SELECT ${cols.join(', ')} WHERE false`, keyTypes, ordered };
  }
  const required = [...view.entities, timestampField, ...view.features.map((f) => f.name)];
  if (createdTimestampField) required.push(createdTimestampField);
  const missing = required.filter((c) => !columns.has(c));
  if (missing.length > 0) {
    throw new VigilError(
      'VIGIL_FEATURE_INVALID_REQUEST',
      `view '${view.name}': source '${view.source.path}' at ${commit} lacks column(s) ${missing.map((m) => `'${m}'`).join(', ')}`,
    );
  }
  const keyTypes = view.entities.map((k, i) => options.keyCasts?.[i] ?? columns.get(k) ?? 'VARCHAR');
  const ts = epochMicros(timestampField);
  const created = createdTimestampField ? epochMicros(createdTimestampField) : 'CAST(NULL AS BIGINT)';
  const cols = [
    ...view.entities.map((k, i) =>
      options.keyCasts
        ? `TRY_CAST(${quoteIdent(k)} AS ${keyTypes[i]}) AS ${keys[i]}`
        : `${quoteIdent(k)} AS ${keys[i]}`,
    ),
    `${ts} AS __ts`,
    `${created} AS __created`,
    ...view.features.map((f, i) => `CAST(${quoteIdent(f.name)} AS ${SQL_TYPES[f.dtype]}) AS ${feats[i]}`),
  ];
  if (ordered) cols.push(`${orderKey(ts, created)} AS __ord`);
  return {
    sql: `SELECT ${cols.join(', ')} FROM ${readParquet(files)} WHERE ${quoteIdent(timestampField)} IS NOT NULL`,
    keyTypes,
    ordered,
  };
}

const MIN_BIGINT = '-9223372036854775807';
export const MAX_BIGINT = '9223372036854775807';

/** `{t, c}` ordering key: event time, then created time (missing created sorts first). */
export function orderKey(ts: string, created: string): string {
  return `struct_pack(t := ${ts}, c := coalesce(${created}, ${MIN_BIGINT}))`;
}
