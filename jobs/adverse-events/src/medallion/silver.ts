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

/** Every JSON path silver reads: the fields of every kind, then `_unmapped` (file-import rows). */
const PATHS = [...ALL_FIELDS, '_unmapped'];

/**
 * Bronze → silver: parse, check expectations (schema, types, kind/topic, units, ranges after
 * normalisation, future timestamps, referential patient, duplicate eventId), normalise units
 * to the canonical ones, drop the same measurement seen from a less reliable origin
 * (ehr > site > device > app) within the dedupe window, and write per-kind tables ordered by
 * patient and `observed_at` (late arrivals land where they were observed). Failing rows go to
 * quarantine with `reason`, `field` and the raw payload. Rebuilt in full from bronze each time;
 * `bronze = silver + duplicates + quarantined`.
 *
 * One pass over bronze parses each payload once (a list of JSON paths per call, not a call per
 * field) and evaluates the row checks as one CASE giving the first failing check's number. The
 * payload is not carried along: the quarantine reads it back from bronze, by file and row number,
 * for its own rows. The cross-row steps — referential patient, first arrival of an eventId,
 * cross-origin clusters — run on narrow projections and leave a small table of verdicts by row.
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
  const checkCase = `CASE ${checks.map(([c], i) => `WHEN ${c} THEN ${i + 1}`).join(' ')} END`;
  const reasonOf = `[${checks.map(([, r]) => sqlString(r)).join(', ')}]`;
  const fieldOf = `[${checks.map(([, , f]) => (f === null ? 'NULL::VARCHAR' : sqlString(f))).join(', ')}]`;
  const paths = `[${PATHS.map((f) => sqlString(`$."${f}"`)).join(', ')}]`;
  const fields = PATHS.map((f, i) => `t[${i + 1}] AS t_${f}, s[${i + 1}] AS s_${f}`).join(',\n          ');
  const window = Math.max(0, Math.round(options.dedupeWindowMinutes));
  // Each bronze row is known by its file and row number, which is how the quarantine finds its payload again.
  const bronzeSql =
    bronzePaths.length > 0
      ? `SELECT file_index, file_row_number, topic, "partition", "offset", key, payload, received_at, kind
         FROM ${readParquet(bronzePaths)}`
      : `SELECT NULL::UBIGINT AS file_index, NULL::BIGINT AS file_row_number, NULL::VARCHAR AS topic,
           NULL::INTEGER AS "partition", NULL::BIGINT AS "offset", NULL::VARCHAR AS key, NULL::VARCHAR AS payload,
           NULL::TIMESTAMP AS received_at, NULL::VARCHAR AS kind WHERE false`;
  const staged: [string, string][] = [];
  try {
    await mkdir(outDir, { recursive: true });
    const result = await db.withConnection(async (c) => {
      // 1. One pass over bronze: parse, type, normalise and check each row (no payload kept).
      await c.run(`CREATE TEMP TABLE checked AS
        WITH docs AS (
          SELECT *, CASE WHEN json_valid(payload) THEN json_type(payload) END AS doc_type FROM (${bronzeSql})
        ), parsed AS (
          SELECT *, CASE WHEN doc_type = 'OBJECT' THEN json_type(payload, ${paths}) END AS t,
            CASE WHEN doc_type = 'OBJECT' THEN json_extract_string(payload, ${paths}) END AS s
          FROM docs
        ), fields AS (
          SELECT file_index, file_row_number, topic, "partition", "offset", key, received_at, kind, payload, doc_type,
          ${fields}
          FROM parsed
        ), typed AS (
          SELECT f.*, cat.*,
            TRY_CAST(s_observedAt AS TIMESTAMP) AS observed_at,
            TRY_CAST(s_recordedAt AS TIMESTAMP) AS recorded_at,
            TRY_CAST(s_value AS DOUBLE) AS num_value,
            TRY_CAST(s_doseMg AS DOUBLE) AS num_doseMg,
            TRY_CAST(s_severity AS DOUBLE) AS num_severity,
            TRY_CAST(s_grade AS DOUBLE) AS num_grade,
            TRY_CAST(s_age AS DOUBLE) AS num_age,
            TRY_CAST(s_value AS DOUBLE) * cat_factor + cat_offset AS value_norm
          FROM fields f LEFT JOIN ${unitCatalogSql()}
            ON cat_kind = f.s_kind AND cat_measure = f.s_measure AND cat_unit = f.s_unit
        )
        SELECT file_index, file_row_number, topic, "partition", "offset", key, received_at, kind,
          CASE WHEN t_eventId = 'VARCHAR' THEN s_eventId END AS quarantine_event_id,
          s_eventId, s_kind, s_patientId, s_siteId, s_origin, observed_at, recorded_at,
          s_measure, value_norm, cat_canonical, num_value, s_unit, num_doseMg, s_taken, s_symptom, num_severity,
          num_grade, s_term, num_age, s_sex, s_arm,
          ${checkCase} AS check_no
        FROM typed`);
      // 2. Rows past the row checks: referential patient (an enrolment that passed its own checks),
      // then the first arrival of an eventId wins (producer retries).
      await c.run(`CREATE TEMP TABLE verdicts AS
        WITH enrolled AS (
          SELECT DISTINCT s_patientId FROM checked WHERE check_no IS NULL AND s_kind = 'enrolment'
        ), candidates AS (
          SELECT ch.rowid AS row_id, s_eventId, received_at, topic, "partition", "offset",
            (s_kind <> 'enrolment' AND e.s_patientId IS NULL) AS unknown_patient
          FROM checked ch LEFT JOIN enrolled e USING (s_patientId)
          WHERE check_no IS NULL
        ), ranked AS (
          SELECT row_id, unknown_patient, row_number() OVER (
            PARTITION BY s_eventId, unknown_patient ORDER BY received_at, topic, "partition", "offset") AS arrival
          FROM candidates
        )
        SELECT row_id, CASE WHEN unknown_patient THEN 'unknown_patient' ELSE 'duplicate_event_id' END AS reason,
          CASE WHEN unknown_patient THEN 'patientId' ELSE 'eventId' END AS field
        FROM ranked WHERE unknown_patient OR arrival > 1`);
      // 3. The same measurement from several origins: keep the most reliable origin in each cluster.
      // Clusters never span midnight, so a later day's reading cannot suppress an earlier day's (no leakage into gold).
      await c.run(`INSERT INTO verdicts
        WITH base AS (
          SELECT ch.rowid AS row_id, s_patientId, s_kind, s_measure, observed_at, s_eventId,
            CASE s_origin WHEN 'ehr' THEN 0 WHEN 'site' THEN 1 WHEN 'device' THEN 2 ELSE 3 END AS origin_rank,
            CAST(observed_at AS DATE) AS observed_day
          FROM checked ch
          WHERE check_no IS NULL AND s_kind IN ('vital', 'lab')
            AND ch.rowid NOT IN (SELECT row_id FROM verdicts)
        ), gaps AS (
          SELECT *, CASE WHEN observed_at - lag(observed_at) OVER w <= INTERVAL ${window} MINUTE THEN 0 ELSE 1 END AS starts
          FROM base
          WINDOW w AS (PARTITION BY s_patientId, s_kind, s_measure, observed_day ORDER BY observed_at, s_eventId)
        ), clusters AS (
          SELECT *, sum(starts) OVER (PARTITION BY s_patientId, s_kind, s_measure, observed_day ORDER BY observed_at, s_eventId
            ROWS UNBOUNDED PRECEDING) AS cluster
          FROM gaps
        ), ranked AS (
          SELECT row_id, origin_rank > min(origin_rank) OVER (PARTITION BY s_patientId, s_kind, s_measure, observed_day, cluster) AS superseded
          FROM clusters
        )
        SELECT row_id, NULL, NULL FROM ranked WHERE superseded`);
      // Every row's outcome: a reason (quarantined), superseded (a duplicate), or neither (silver).
      await c.run(`CREATE TEMP VIEW outcome AS
        SELECT ch.*, ch.rowid AS row_id,
          CASE WHEN check_no IS NOT NULL THEN ${reasonOf}[check_no] ELSE v.reason END AS reason,
          CASE WHEN check_no IS NOT NULL THEN ${fieldOf}[check_no] ELSE v.field END AS field,
          (check_no IS NULL AND v.row_id IS NOT NULL AND v.reason IS NULL) AS superseded
        FROM checked ch LEFT JOIN verdicts v ON v.row_id = ch.rowid`);

      for (const [table, kind] of Object.entries(SILVER_TABLES) as [SilverTable, string][]) {
        const file = join(outDir, `${table}.parquet`);
        await c.run(`COPY (SELECT ${TABLE_COLUMNS[table]} FROM checked
            WHERE check_no IS NULL AND s_kind = ${sqlString(kind)} AND rowid NOT IN (SELECT row_id FROM verdicts)
            ORDER BY patient_id, observed_at, event_id)
          TO ${sqlString(file)} (FORMAT parquet)`);
        staged.push([silverPath(table), file]);
      }
      // The quarantine keeps the exact bytes received: read them back from bronze for its rows only.
      const quarantineFile = join(outDir, 'quarantine.parquet');
      await c.run(`COPY (
          WITH q AS (SELECT file_index, file_row_number, topic, "partition", "offset", key, received_at,
              kind AS bronze_kind, quarantine_event_id AS event_id, reason, field
            FROM outcome WHERE reason IS NOT NULL)
          SELECT q.topic, q."partition", q."offset", q.key, q.received_at, q.bronze_kind, q.event_id,
            q.reason, q.field, 'silver' AS stage, b.payload AS raw
          FROM q JOIN (${bronzeSql}) b USING (file_index, file_row_number)
          ORDER BY q.topic, q."partition", q."offset")
        TO ${sqlString(quarantineFile)} (FORMAT parquet)`);
      staged.push([QUARANTINE_PATH, quarantineFile]);

      const tables = Object.fromEntries(Object.keys(SILVER_TABLES).map((t) => [t, 0])) as Record<
        SilverTable,
        number
      >;
      const tableOfKind = new Map(
        Object.entries(SILVER_TABLES).map(([t, k]) => [k as string, t as SilverTable]),
      );
      const reasons: Record<string, number> = {};
      const bySite: SilverResult['bySite'] = {};
      let bronze = 0;
      let duplicates = 0;
      let quarantined = 0;
      let silver = 0;
      for (const row of await c.rows(`
        SELECT coalesce(key, '(no key)') AS site, reason, superseded, s_kind, count(*) AS n
        FROM outcome GROUP BY ALL ORDER BY ALL`)) {
        const n = Number(row.n);
        const site = bySite[String(row.site)] ?? { bronze: 0, silver: 0, duplicates: 0, quarantined: 0 };
        bySite[String(row.site)] = site;
        bronze += n;
        site.bronze += n;
        if (row.reason !== null) {
          reasons[String(row.reason)] = (reasons[String(row.reason)] ?? 0) + n;
          quarantined += n;
          site.quarantined += n;
        } else if (row.superseded === true) {
          duplicates += n;
          site.duplicates += n;
        } else {
          const table = tableOfKind.get(String(row.s_kind));
          if (table === undefined) throw new Error(`silver row of unknown kind '${row.s_kind}'`);
          tables[table] += n;
          silver += n;
          site.silver += n;
        }
      }
      return {
        bronze,
        silver,
        tables,
        duplicates,
        quarantined,
        reasons: Object.fromEntries(Object.entries(reasons).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
        bySite,
      };
    });
    await files.putAll(branch, staged);
    return { ...result, paths: staged.map(([p]) => p) };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}
