import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LakeStore } from '@vigil/core';
import { LakeFiles } from '../medallion/lake-files.js';

export interface PatientRow {
  patientId: string;
  siteId: string;
  enrolledAt: Date;
}

export interface OutcomeRow {
  patientId: string;
  onset: Date;
  grade: number;
}

function toDate(value: unknown): Date {
  if (value instanceof Date) return value;
  // DuckDB timestamps come back as objects with toString() in ISO-like form or as micros.
  const text = String(value);
  return new Date(text.endsWith('Z') || text.includes('+') ? text : `${text.replace(' ', 'T')}Z`);
}

/**
 * Read the gold tables the label definition needs, at a lake ref. A lake without `directRead`
 * (plain S3) has its objects copied into a temporary folder under `scratch`, removed afterwards.
 */
export async function readGoldTables(
  lake: LakeStore,
  ref: string,
  scratch: string = tmpdir(),
): Promise<{ patients: PatientRow[]; outcomes: OutcomeRow[] }> {
  await mkdir(scratch, { recursive: true });
  const copies = await mkdtemp(join(scratch, 'gold-tables-'));
  const lakeFiles = new LakeFiles(lake, copies);
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();
  try {
    const files = (prefix: string) => lakeFiles.parquetPaths(ref, prefix);
    const query = async (paths: string[], sql: (from: string) => string) => {
      if (paths.length === 0) return [];
      const from = `read_parquet([${paths.map((p) => `'${p.replaceAll("'", "''")}'`).join(', ')}])`;
      const reader = await connection.runAndReadAll(sql(from));
      return reader.getRowObjectsJS();
    };
    const patients = await query(
      await files('gold/patients/'),
      (from) =>
        `SELECT patient_id, site_id, strftime(enrolled_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS enrolled_at FROM ${from} ORDER BY patient_id`,
    );
    const outcomes = await query(
      await files('gold/outcomes/'),
      (from) =>
        `SELECT patient_id, strftime(event_timestamp, '%Y-%m-%dT%H:%M:%S.%gZ') AS onset, grade FROM ${from} ORDER BY patient_id, event_timestamp`,
    );
    return {
      patients: patients.map((r) => ({
        patientId: String(r.patient_id),
        siteId: String(r.site_id),
        enrolledAt: toDate(r.enrolled_at),
      })),
      outcomes: outcomes.map((r) => ({
        patientId: String(r.patient_id),
        onset: toDate(r.onset),
        grade: Number(r.grade),
      })),
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
    await rm(copies, { recursive: true, force: true });
  }
}
