/**
 * Test fixtures: small CDISC-SDTM-like vital-sign extracts (VS domain) in CSV, NDJSON and
 * Parquet, with the mapping that turns them into clinical events. Used by this package's
 * tests and its contract test; not exported from the package.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImportFile, Mapping } from '../config.js';

/** One VS row: the SDTM columns we map. */
export interface VsRow {
  STUDYID: string;
  USUBJID: string;
  SUBJID: string;
  SITEID: string;
  VSSEQ: number;
  VSTESTCD: string;
  VSSTRESN: number | null;
  VSSTRESU: string | null;
  VSDTC: string;
}

export const vsMapping: Mapping = {
  eventId: { columns: ['USUBJID', 'VSSEQ'], separator: '-' },
  kind: 'vital',
  origin: 'ehr',
  patientId: 'SUBJID',
  siteId: 'SITEID',
  observedAt: 'VSDTC',
  measure: {
    column: 'VSTESTCD',
    values: {
      HR: 'heart_rate',
      SYSBP: 'systolic_bp',
      DIABP: 'diastolic_bp',
      TEMP: 'temperature',
      WEIGHT: 'weight',
      OXYSAT: 'spo2',
    },
    otherwise: 'unmapped',
  },
  value: 'VSSTRESN',
  unit: { column: 'VSSTRESU', values: { 'beats/min': 'bpm', C: '°C', F: '°F' }, otherwise: 'keep' },
};

export const VS_COLUMNS: (keyof VsRow)[] = [
  'STUDYID',
  'USUBJID',
  'SUBJID',
  'SITEID',
  'VSSEQ',
  'VSTESTCD',
  'VSSTRESN',
  'VSSTRESU',
  'VSDTC',
];

const UNITS: Record<string, string> = { 'beats/min': 'bpm', C: '°C', F: '°F' };
const MEASURES: Record<string, string> = {
  HR: 'heart_rate',
  SYSBP: 'systolic_bp',
  DIABP: 'diastolic_bp',
  TEMP: 'temperature',
  WEIGHT: 'weight',
  OXYSAT: 'spo2',
};

/** The event JSON the mapping must produce for a complete, mappable VS row (written by hand, field order included). */
export function expectedVital(row: VsRow): string {
  const observedAt = new Date(
    /[zZ]|[+-]\d\d:?\d\d$/.test(row.VSDTC) ? row.VSDTC : `${row.VSDTC}Z`,
  ).toISOString();
  return JSON.stringify({
    eventId: `${row.USUBJID}-${row.VSSEQ}`,
    kind: 'vital',
    patientId: row.SUBJID,
    siteId: row.SITEID,
    observedAt,
    recordedAt: observedAt,
    origin: 'ehr',
    measure: MEASURES[row.VSTESTCD],
    value: row.VSSTRESN,
    unit: UNITS[row.VSSTRESU ?? ''] ?? row.VSSTRESU,
  });
}

/** Rows of one subject's vital signs. */
export function vsRows(subject: number, site: string, count: number, startSeq = 1): VsRow[] {
  const tests: [string, number, string][] = [
    ['HR', 72, 'beats/min'],
    ['TEMP', 36.8, 'C'],
    ['SYSBP', 121, 'mmHg'],
    ['OXYSAT', 97, '%'],
  ];
  return Array.from({ length: count }, (_, i) => {
    const [code, value, unit] = tests[i % tests.length]!;
    const subjid = String(subject).padStart(4, '0');
    return {
      STUDYID: 'VIG-001',
      USUBJID: `VIG-001-${subjid}`,
      SUBJID: subjid,
      SITEID: site,
      VSSEQ: startSeq + i,
      VSTESTCD: code,
      VSSTRESN: value + (i % 3),
      VSSTRESU: unit,
      VSDTC: `2026-01-${String(5 + Math.floor(i / 4)).padStart(2, '0')}T08:${String(i % 60).padStart(2, '0')}:00`,
    };
  });
}

function csvCell(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export async function writeCsv(
  path: string,
  rows: readonly Record<string, string | number | null>[],
  columns: readonly string[],
): Promise<void> {
  const lines = [columns.join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c] ?? null)).join(','))];
  await writeFile(path, `${lines.join('\n')}\n`);
}

export async function writeNdjson(path: string, rows: readonly unknown[]): Promise<void> {
  await writeFile(path, rows.map((r) => `${typeof r === 'string' ? r : JSON.stringify(r)}\n`).join(''));
}

/** Parquet through DuckDB (from a CSV with typed columns). */
export async function writeParquet(path: string, rows: readonly VsRow[]): Promise<void> {
  const csv = `${path}.src.csv`;
  await writeCsv(csv, rows as unknown as Record<string, string | number | null>[], VS_COLUMNS);
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const c = await db.connect();
  try {
    await c.run(`COPY (SELECT * FROM read_csv('${csv}', header = true, columns = {
        'STUDYID': 'VARCHAR', 'USUBJID': 'VARCHAR', 'SUBJID': 'VARCHAR', 'SITEID': 'VARCHAR', 'VSSEQ': 'BIGINT',
        'VSTESTCD': 'VARCHAR', 'VSSTRESN': 'DOUBLE', 'VSSTRESU': 'VARCHAR', 'VSDTC': 'VARCHAR'}))
      TO '${path}' (FORMAT parquet)`);
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

/** Three VS extracts of topic `topic` (CSV, an empty NDJSON, Parquet) and the records each partition must deliver. */
export async function writeVsExtracts(
  dir: string,
  topic: string,
): Promise<{ files: ImportFile[]; partitions: { key: string | null; value: string }[][] }> {
  const csvRows = vsRows(1, 'site-01', 5);
  const parquetRows = vsRows(2, 'site-02', 3, 10);
  await writeCsv(
    join(dir, 'vs-site-01.csv'),
    csvRows as unknown as Record<string, string | number | null>[],
    VS_COLUMNS,
  );
  await writeNdjson(join(dir, 'vs-late.ndjson'), []);
  await writeParquet(join(dir, 'vs-site-02.parquet'), parquetRows);
  const files: ImportFile[] = ['vs-site-01.csv', 'vs-late.ndjson', 'vs-site-02.parquet'].map((path) => ({
    path: join(dir, path),
    topic,
    mapping: vsMapping,
  }));
  const expected = (rows: VsRow[]) => rows.map((r) => ({ key: r.SITEID, value: expectedVital(r) }));
  return { files, partitions: [expected(csvRows), [], expected(parquetRows)] };
}
