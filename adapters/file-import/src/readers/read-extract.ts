import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { VigilError } from '@vigil/core';
import type { FileFormat } from '../config.js';
import type { CellValue, Row } from '../mapping/convert-cell.js';

/** One data row of an extract: a row of cells, or an NDJSON line that is not a JSON object. */
export type ExtractRow = { row: Row } | { line: string; reason: 'invalid_json' | 'not_an_object' };

export interface Extract {
  /** Column names (for NDJSON: every key seen, in first-seen order). */
  columns: string[];
  rows: ExtractRow[];
}

/** The format a file is read as: the configured one, else by extension. */
export function formatOf(path: string, configured: FileFormat | undefined, at: string): FileFormat {
  if (configured) return configured;
  const ext = extname(path).toLowerCase();
  if (ext === '.csv' || ext === '.tsv') return 'csv';
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  if (ext === '.parquet') return 'parquet';
  throw new VigilError(
    'VIGIL_CONFIG_INVALID',
    `${at}.format: cannot tell the format of '${path}' from its extension; set format to csv, ndjson or parquet`,
    { details: { issues: [{ path: `${at}.format`, message: 'required for this extension' }] } },
  );
}

function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A DuckDB value as a cell: BIGINT → number (or text beyond 2^53), TIMESTAMP/DATE → ISO text. */
function cell(value: unknown): CellValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return typeof value === 'object'
    ? JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v))
    : String(value);
}

function ndjsonCell(value: unknown): CellValue {
  if (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean'
  ) {
    return value;
  }
  return JSON.stringify(value);
}

async function readNdjson(path: string): Promise<Extract> {
  const text = await readFile(path, 'utf8');
  const columns = new Set<string>();
  const rows: ExtractRow[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      rows.push({ line, reason: 'invalid_json' });
      continue;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      rows.push({ line, reason: 'not_an_object' });
      continue;
    }
    const row: Record<string, CellValue> = {};
    for (const [key, value] of Object.entries(parsed)) {
      columns.add(key);
      row[key] = ndjsonCell(value);
    }
    rows.push({ row });
  }
  return { columns: [...columns], rows };
}

async function readWithDuckDB(
  connection: DuckDBConnection,
  path: string,
  format: 'csv' | 'parquet',
  delimiter: string | undefined,
): Promise<Extract> {
  const tab = delimiter ?? (extname(path).toLowerCase() === '.tsv' ? '\t' : undefined);
  const from =
    format === 'parquet'
      ? `read_parquet(${sqlString(path)})`
      : `read_csv(${sqlString(path)}, header = true, all_varchar = true${tab ? `, delim = ${sqlString(tab)}` : ''})`;
  const reader = await connection.runAndReadAll(`SELECT * FROM ${from}`);
  const columns = reader.columnNames();
  const rows: ExtractRow[] = reader.getRowObjectsJS().map((record) => {
    const row: Record<string, CellValue> = {};
    for (const column of columns) row[column] = cell(record[column]);
    return { row };
  });
  return { columns, rows };
}

/**
 * Read a whole extract in file order. CSV cells stay text (`all_varchar`, so ids keep
 * their leading zeros and the mapping decides types); Parquet keeps its types; NDJSON
 * lines that are not JSON objects are kept as lines with a reason.
 */
export async function readExtract(
  connection: () => Promise<DuckDBConnection>,
  path: string,
  format: FileFormat,
  delimiter: string | undefined,
): Promise<Extract> {
  if (format === 'ndjson') return readNdjson(path);
  return readWithDuckDB(await connection(), path, format, delimiter);
}
