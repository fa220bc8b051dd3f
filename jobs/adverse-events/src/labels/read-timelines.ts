import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LakeStore } from '@vigil/core';
import type { EventPredicate } from '../config.js';
import { sqlString } from '../medallion/duckdb-session.js';
import { LakeFiles } from '../medallion/lake-files.js';
import { SILVER_TABLES, type SilverTable } from '../medallion/silver.js';
import type { PatientTimeline } from './label-points.js';

const TABLE_OF_KIND = Object.fromEntries(
  Object.entries(SILVER_TABLES).map(([table, kind]) => [kind, table as SilverTable]),
) as Record<string, SilverTable>;

/** SQL condition of a predicate over its silver table (kind implied by the table). */
export function predicateSql(p: EventPredicate): string {
  const parts = ['TRUE'];
  if (p.measure !== undefined) parts.push(`measure = ${sqlString(p.measure)}`);
  if (p.symptom !== undefined) parts.push(`symptom = ${sqlString(p.symptom)}`);
  if (p.field !== undefined && p.op !== undefined && p.value !== undefined) {
    const op = p.op === '==' ? '=' : p.op === '!=' ? '<>' : p.op;
    parts.push(`${p.field} ${op} ${Number(p.value)}`);
  }
  return parts.join(' AND ');
}

export function silverTableOf(kind: string): SilverTable {
  const table = TABLE_OF_KIND[kind];
  if (!table)
    throw new RangeError(
      `no silver table holds events of kind '${kind}'; kinds: ${Object.keys(TABLE_OF_KIND).join(', ')}`,
    );
  return table;
}

/**
 * Each enrolled patient's enrolment, last observation, outcome times and observation times,
 * from silver at `ref`. Patients come from silver enrolments; timestamps are UTC.
 */
export async function readTimelines(options: {
  lake: LakeStore;
  ref: string;
  scratch: string;
  outcome: EventPredicate;
  observation?: { kind: string; measure?: string };
}): Promise<PatientTimeline[]> {
  await mkdir(options.scratch, { recursive: true });
  const copies = await mkdtemp(join(options.scratch, 'silver-'));
  const files = new LakeFiles(options.lake, copies);
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const c = await instance.connect();
  try {
    const from = async (table: SilverTable, columns: string) => {
      const paths = await files.parquetPaths(options.ref, `silver/${table}/`);
      if (paths.length === 0)
        return `(SELECT NULL::VARCHAR AS patient_id, NULL::TIMESTAMP AS observed_at WHERE false)`;
      return `(SELECT ${columns} FROM read_parquet([${paths.map(sqlString).join(', ')}], union_by_name = true))`;
    };
    const all: string[] = [];
    for (const table of Object.keys(SILVER_TABLES) as SilverTable[]) {
      all.push(`SELECT patient_id, observed_at FROM ${await from(table, 'patient_id, observed_at')}`);
    }
    const outcomeTable = silverTableOf(options.outcome.kind);
    const outcomes = `SELECT patient_id, observed_at FROM ${await from(outcomeTable, '*')} WHERE ${predicateSql(options.outcome)}`;
    const observations = options.observation
      ? `SELECT patient_id, observed_at FROM ${await from(silverTableOf(options.observation.kind), '*')} WHERE ${predicateSql({ kind: options.observation.kind, ...(options.observation.measure ? { measure: options.observation.measure } : {}) })}`
      : `SELECT NULL::VARCHAR AS patient_id, NULL::TIMESTAMP AS observed_at WHERE false`;
    const iso = (col: string) => `strftime(${col}, '%Y-%m-%dT%H:%M:%S.%gZ')`;
    const reader = await c.runAndReadAll(`
      WITH enrolled AS (
        SELECT patient_id, min(observed_at) AS enrolled_at, min(site_id) AS site_id FROM ${await from('enrolments', 'patient_id, site_id, observed_at')} GROUP BY patient_id
      ), seen AS (
        SELECT patient_id, max(observed_at) AS last_seen FROM (${all.join(' UNION ALL ')}) GROUP BY patient_id
      ), o AS (
        SELECT patient_id, list(${iso('observed_at')} ORDER BY observed_at) AS times FROM (${outcomes}) GROUP BY patient_id
      ), v AS (
        SELECT patient_id, list(${iso('observed_at')} ORDER BY observed_at) AS times FROM (${observations}) GROUP BY patient_id
      )
      SELECT e.patient_id, e.site_id, ${iso('e.enrolled_at')} AS enrolled_at, ${iso('s.last_seen')} AS last_seen,
        coalesce(o.times, []) AS outcomes, coalesce(v.times, []) AS observations
      FROM enrolled e JOIN seen s USING (patient_id) LEFT JOIN o USING (patient_id) LEFT JOIN v USING (patient_id)
      ORDER BY e.patient_id`);
    return reader.getRowObjectsJS().map((r) => ({
      patientId: String(r.patient_id),
      siteId: String(r.site_id),
      enrolledAt: new Date(String(r.enrolled_at)),
      lastSeen: new Date(String(r.last_seen)),
      outcomes: (r.outcomes as string[]).map((t) => new Date(t)),
      observations: (r.observations as string[]).map((t) => new Date(t)),
    }));
  } finally {
    c.closeSync();
    instance.closeSync();
    await rm(copies, { recursive: true, force: true });
  }
}
