import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBSession } from './duckdb-session.js';
import { readParquet, sqlString } from './duckdb-session.js';
import type { LakeFiles } from './lake-files.js';
import { ALL_FIELDS, silverChecks, unitCatalogSql } from './silver-rules.js';

/** Per-kind silver tables (lake folder under `silver/`) and the event kind each holds. */
export const SILVER_TABLES = {
  vitals: 'vital',
  labs: 'lab',
  doses: 'dose',
  symptoms: 'symptom',
  adverse_events: 'adverse_event',
  enrolments: 'enrolment',
} as const;
export type SilverTable = keyof typeof SILVER_TABLES;

export const QUARANTINE_PATH = 'quarantine/silver/part-0.parquet';
export const silverPath = (table: SilverTable) => `silver/${table}/part-0.parquet`;

export interface SilverOptions {
  /** Readings of one measure from different origins this close in time are one measurement. */
  dedupeWindowMinutes: number;
  /** How far `observedAt` may run ahead of `recordedAt` (clock skew) before the event is quarantined. */
  futureToleranceMinutes: number;
}

export interface SilverResult {
  /** Rows read from bronze. */
  bronze: number;
  /** Rows written to the silver tables, all kinds together. */
  silver: number;
  /** Silver rows per table. */
  tables: Record<SilverTable, number>;
  /** The same measurement from a less reliable origin, dropped in favour of the better one. */
  duplicates: number;
  /** Rows written to `quarantine/` with a reason. */
  quarantined: number;
  /** Quarantined rows per reason. */
  reasons: Record<string, number>;
  /** The same counts per site (the record key), so each site's feed reconciles on its own. */
  bySite: Record<string, { bronze: number; silver: number; duplicates: number; quarantined: number }>;
  /** Lake paths staged. */
  paths: string[];
}

const COMMON = `s_eventId AS event_id, s_patientId AS patient_id, s_siteId AS site_id, s_origin AS origin,
  observed_at, recorded_at, (recorded_at - observed_at > INTERVAL 1 DAY) AS late,
  topic AS source_topic, "partition" AS source_partition, "offset" AS source_offset`;

const TABLE_COLUMNS: Record<SilverTable, string> = {
  vitals: `${COMMON}, s_measure AS measure, value_norm AS value, cat_canonical AS unit, num_value AS reported_value, s_unit AS reported_unit`,
  labs: `${COMMON}, s_measure AS measure, value_norm AS value, cat_canonical AS unit, num_value AS reported_value, s_unit AS reported_unit`,
  doses: `${COMMON}, num_doseMg AS dose_mg, (s_taken = 'true') AS taken`,
  symptoms: `${COMMON}, s_symptom AS symptom, CAST(num_severity AS INTEGER) AS severity`,
  adverse_events: `${COMMON}, CAST(num_grade AS INTEGER) AS grade, s_term AS term`,
  enrolments: `${COMMON}, CAST(num_age AS INTEGER) AS age, s_sex AS sex, s_arm AS arm`,
};

/**
 * Bronze → silver: parse, check expectations (schema, types, kind/topic, units, ranges after
 * normalisation, future timestamps, referential patient, duplicate eventId), normalise units
 * to the canonical ones, drop the same measurement seen from a less reliable origin
 * (ehr > site > device > app) within the dedupe window, and write per-kind tables ordered by
 * patient and `observed_at` (late arrivals land where they were observed). Failing rows go to
 * quarantine with `reason`, `field` and the raw payload. Rebuilt in full from bronze each time;
 * `bronze = silver + duplicates + quarantined`.
 */
export async function buildSilver(
  db: DuckDBSession,
  files: LakeFiles,
  scratch: string,
  branch: string,
  options: SilverOptions,
): Promise<SilverResult> {
  const bronzePaths = await files.parquetPaths(branch, 'bronze/');
  const outDir = join(scratch, `silver-${process.pid}-${Date.now()}`);
  const checks = silverChecks(options.futureToleranceMinutes);
  const reasonCase = `CASE ${checks.map(([c, r]) => `WHEN ${c} THEN ${sqlString(r)}`).join(' ')} END`;
  const fieldCase = `CASE ${checks.map(([c, , f]) => `WHEN ${c} THEN ${f === null ? 'NULL' : sqlString(f)}`).join(' ')} END`;
  const extract = ALL_FIELDS.map(
    (f) => `json_type(doc, '$."${f}"') AS t_${f}, json_extract_string(doc, '$."${f}"') AS s_${f}`,
  ).join(',\n    ');
  const staged: [string, string][] = [];
  try {
    await mkdir(outDir, { recursive: true });
    const result = await db.withConnection(async (c) => {
      await c.run(`CREATE TEMP TABLE bronze (topic VARCHAR, "partition" INTEGER, "offset" BIGINT, key VARCHAR,
        payload VARCHAR, received_at TIMESTAMP, kind VARCHAR)`);
      if (bronzePaths.length > 0) {
        await c.run(`INSERT INTO bronze SELECT topic, "partition", "offset", key, payload, received_at, kind
          FROM ${readParquet(bronzePaths)}`);
      }
      await c.run(`CREATE TEMP TABLE parsed AS
        WITH docs AS (SELECT *, CASE WHEN json_valid(payload) THEN payload::JSON END AS doc FROM bronze)
        SELECT row_number() OVER (ORDER BY topic, "partition", "offset") AS bronze_row, docs.*,
          ${extract}
        FROM docs`);
      await c.run(`CREATE TEMP TABLE checked AS
        SELECT p.*, cat.*,
          TRY_CAST(s_observedAt AS TIMESTAMP) AS observed_at,
          TRY_CAST(s_recordedAt AS TIMESTAMP) AS recorded_at,
          TRY_CAST(s_value AS DOUBLE) AS num_value,
          TRY_CAST(s_doseMg AS DOUBLE) AS num_doseMg,
          TRY_CAST(s_severity AS DOUBLE) AS num_severity,
          TRY_CAST(s_grade AS DOUBLE) AS num_grade,
          TRY_CAST(s_age AS DOUBLE) AS num_age,
          TRY_CAST(s_value AS DOUBLE) * cat_factor + cat_offset AS value_norm
        FROM parsed p LEFT JOIN ${unitCatalogSql()}
          ON cat_kind = p.s_kind AND cat_measure = p.s_measure AND cat_unit = p.s_unit`);
      await c.run(
        `CREATE TEMP TABLE screened AS SELECT *, ${reasonCase} AS reason, ${fieldCase} AS field FROM checked`,
      );
      // Referential: the patient must be enrolled (by an enrolment that passed its own checks).
      await c.run(`UPDATE screened SET reason = 'unknown_patient', field = 'patientId'
        WHERE reason IS NULL AND s_kind <> 'enrolment'
          AND s_patientId NOT IN (SELECT s_patientId FROM screened WHERE reason IS NULL AND s_kind = 'enrolment')`);
      // Idempotence: the first arrival of an eventId wins.
      await c.run(`UPDATE screened SET reason = 'duplicate_event_id', field = 'eventId'
        WHERE bronze_row IN (
          SELECT bronze_row FROM (
            SELECT bronze_row, row_number() OVER (
              PARTITION BY s_eventId ORDER BY received_at, topic, "partition", "offset") AS arrival
            FROM screened WHERE reason IS NULL)
          WHERE arrival > 1)`);
      // The same measurement from several origins: keep the most reliable origin in each cluster.
      // Clusters never span midnight, so a later day's reading cannot suppress an earlier day's (no leakage into gold).
      await c.run(`CREATE TEMP TABLE valid AS
        WITH base AS (
          SELECT *, CASE s_origin WHEN 'ehr' THEN 0 WHEN 'site' THEN 1 WHEN 'device' THEN 2 ELSE 3 END AS origin_rank,
            CAST(observed_at AS DATE) AS observed_day
          FROM screened WHERE reason IS NULL
        ), gaps AS (
          SELECT *, CASE WHEN s_kind IN ('vital', 'lab') AND observed_at - lag(observed_at) OVER w
              <= INTERVAL ${Math.max(0, Math.round(options.dedupeWindowMinutes))} MINUTE THEN 0 ELSE 1 END AS starts
          FROM base
          WINDOW w AS (PARTITION BY s_patientId, s_kind, s_measure, observed_day ORDER BY observed_at, s_eventId)
        ), clusters AS (
          SELECT *, sum(starts) OVER (PARTITION BY s_patientId, s_kind, s_measure, observed_day ORDER BY observed_at, s_eventId
            ROWS UNBOUNDED PRECEDING) AS cluster
          FROM gaps
        )
        SELECT *, origin_rank > min(origin_rank) OVER (PARTITION BY s_patientId, s_kind, s_measure, observed_day, cluster) AS superseded
        FROM clusters`);

      const tables = {} as Record<SilverTable, number>;
      for (const [table, kind] of Object.entries(SILVER_TABLES) as [SilverTable, string][]) {
        const file = join(outDir, `${table}.parquet`);
        await c.run(`COPY (SELECT ${TABLE_COLUMNS[table]} FROM valid
            WHERE s_kind = ${sqlString(kind)} AND NOT superseded
            ORDER BY patient_id, observed_at, event_id)
          TO ${sqlString(file)} (FORMAT parquet)`);
        tables[table] = await c.count(
          `SELECT 1 FROM valid WHERE s_kind = ${sqlString(kind)} AND NOT superseded`,
        );
        staged.push([silverPath(table), file]);
      }
      const quarantineFile = join(outDir, 'quarantine.parquet');
      await c.run(`COPY (SELECT topic, "partition", "offset", key, received_at, kind AS bronze_kind,
            CASE WHEN t_eventId = 'VARCHAR' THEN s_eventId END AS event_id,
            reason, field, 'silver' AS stage, payload AS raw
          FROM screened WHERE reason IS NOT NULL ORDER BY topic, "partition", "offset")
        TO ${sqlString(quarantineFile)} (FORMAT parquet)`);
      staged.push([QUARANTINE_PATH, quarantineFile]);
      const reasons: Record<string, number> = {};
      for (const row of await c.rows(
        `SELECT reason, count(*) AS n FROM screened WHERE reason IS NOT NULL GROUP BY reason ORDER BY reason`,
      )) {
        reasons[String(row.reason)] = Number(row.n);
      }
      const bronze = await c.count('SELECT 1 FROM bronze');
      const duplicates = await c.count('SELECT 1 FROM valid WHERE superseded');
      const quarantined = Object.values(reasons).reduce((a, b) => a + b, 0);
      const silver = Object.values(tables).reduce((a, b) => a + b, 0);
      const bySite: SilverResult['bySite'] = {};
      for (const row of await c.rows(`
        WITH q AS (SELECT coalesce(key, '(no key)') AS site, count(*) AS bronze,
                     count(*) FILTER (WHERE reason IS NOT NULL) AS quarantined FROM screened GROUP BY 1),
             v AS (SELECT coalesce(key, '(no key)') AS site, count(*) FILTER (WHERE superseded) AS duplicates,
                     count(*) FILTER (WHERE NOT superseded) AS silver FROM valid GROUP BY 1)
        SELECT q.site, q.bronze, q.quarantined, coalesce(v.duplicates, 0) AS duplicates, coalesce(v.silver, 0) AS silver
        FROM q LEFT JOIN v USING (site) ORDER BY q.site`)) {
        bySite[String(row.site)] = {
          bronze: Number(row.bronze),
          silver: Number(row.silver),
          duplicates: Number(row.duplicates),
          quarantined: Number(row.quarantined),
        };
      }
      return { bronze, silver, tables, duplicates, quarantined, reasons, bySite };
    });
    await files.putAll(branch, staged);
    return { ...result, paths: staged.map(([p]) => p) };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}
