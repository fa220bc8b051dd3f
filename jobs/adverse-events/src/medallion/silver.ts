import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Catalog, DEFAULT_CATALOG } from './catalog-config.js';
import type { Connection, DuckDBSession } from './duckdb-session.js';
import { readParquet, sqlString } from './duckdb-session.js';
import {
  checkedColumnSql,
  defaultExpectationSuite,
  type Expectation,
  expectationTargetSql,
  isSetRule,
} from './expectations.js';
import type { LakeFiles } from './lake-files.js';
import { ALL_FIELDS, type SilverCheck, silverChecks, unitCatalogSql } from './silver-rules.js';
import { type ValidationReportPaths, writeValidationReport } from './validation-report.js';

/** Per-kind silver tables (lake folder under `silver/`) and the event kind each holds. */
export const SILVER_TABLES = {
  vitals: 'vital',
  labs: 'lab',
  doses: 'dose',
  symptoms: 'symptom',
  adverse_events: 'adverse_event',
  enrolments: 'enrolment',
  visits: 'visit',
} as const;
export type SilverTable = keyof typeof SILVER_TABLES;

export const QUARANTINE_PATH = 'quarantine/silver/part-0.parquet';
export const silverPath = (table: SilverTable) => `silver/${table}/part-0.parquet`;

export interface SilverOptions {
  /** Readings of one measure from different origins this close in time are one measurement. */
  dedupeWindowMinutes: number;
  /** How far `observedAt` may run ahead of `recordedAt` (clock skew) before the event is quarantined. */
  futureToleranceMinutes: number;
  /** Measures, units, ranges and signs (default: the built-in catalogue). */
  catalog?: Catalog;
  /** The expectation suite (default: the built-in suite of the catalogue). */
  expectations?: readonly Expectation[];
  /** Folder the validation report (validation.json, validation.html) is written to; none when absent. */
  reportDir?: string;
}

/** How one expectation (all rules of one name together) fared, overall and per site. */
export interface ExpectationResult {
  /** The expectation's name: the quarantine reason of the rows it failed. */
  name: string;
  /** Rows it judged: those it applies to that no earlier check had quarantined. */
  evaluated: number;
  /** Rows it quarantined. */
  failed: number;
  bySite: Record<string, { evaluated: number; failed: number }>;
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
  /**
   * Every check silver ran, in order (the fixed schema checks, the suite's row rules, future
   * timestamps, the referential and duplicate-id checks, then the suite's set rules), with
   * rows judged and failed; `failed` sums to `quarantined`.
   */
  expectations: ExpectationResult[];
  /** The validation report written for this build; null without `reportDir`. */
  report: ValidationReportPaths | null;
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
  visits: COMMON,
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
  const catalog = options.catalog ?? DEFAULT_CATALOG;
  const suite = options.expectations ?? defaultExpectationSuite(catalog);
  const setRules = suite.filter((e) => isSetRule(e.rule));
  const checks = silverChecks(options.futureToleranceMinutes, catalog, suite);
  const checkCase = `CASE ${checks.map((c, i) => `WHEN ${c.condition} THEN ${i + 1}`).join(' ')} END`;
  const reasonOf = `[${checks.map((c) => sqlString(c.reason)).join(', ')}]`;
  const fieldOf = `[${checks.map((c) => (c.field === null ? 'NULL::VARCHAR' : sqlString(c.field))).join(', ')}]`;
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
          FROM fields f LEFT JOIN ${unitCatalogSql(catalog)}
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
          CASE WHEN unknown_patient THEN 'patientId' ELSE 'eventId' END AS field, 0 AS step
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
        SELECT row_id, NULL, NULL, 1 FROM ranked WHERE superseded`);
      // 4. The suite's set rules (unique, rate of change), in order, on the rows that would reach silver.
      for (const [k, rule] of setRules.entries()) await applySetRule(c, rule, catalog, SET_RULE_STEP + k);
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
      const expectations = await expectationResults(c, checks, setRules, catalog);
      return {
        bronze,
        silver,
        tables,
        duplicates,
        quarantined,
        expectations,
        reasons: Object.fromEntries(Object.entries(reasons).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
        bySite,
      };
    });
    await files.putAll(branch, staged);
    const report = options.reportDir
      ? await writeValidationReport(options.reportDir, {
          branch,
          bronze: result.bronze,
          silver: result.silver,
          duplicates: result.duplicates,
          quarantined: result.quarantined,
          expectations: result.expectations,
        })
      : null;
    return { ...result, report, paths: staged.map(([p]) => p) };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

/** `verdicts.step` of the first set rule (0: referential and duplicate id, 1: superseded by dedupe). */
const SET_RULE_STEP = 2;

/** Rows that would reach silver before set rule `step`, optionally restricted to the rule's target. */
const survivors = (target: string | null) =>
  `check_no IS NULL AND ch.rowid NOT IN (SELECT row_id FROM verdicts)${target ? ` AND ${target}` : ''}`;

/** Quarantine the rows a set rule fails: later arrivals of a repeated value, or readings changing too fast. */
async function applySetRule(c: Connection, e: Expectation, catalog: Catalog, step: number): Promise<void> {
  const target = expectationTargetSql(e, catalog);
  const reason = sqlString(e.name);
  const field = sqlString(e.column);
  if (e.rule.type === 'unique') {
    const columns = [e.column, ...e.rule.with].map((col, i) => `${checkedColumnSql(e, col)} AS u${i}`);
    const keys = columns.map((_, i) => `u${i}`);
    await c.run(`INSERT INTO verdicts
      WITH cand AS (
        SELECT ch.rowid AS row_id, received_at, topic, "partition", "offset", ${columns.join(', ')}
        FROM checked ch WHERE ${survivors(target)}
      ), ranked AS (
        SELECT row_id, row_number() OVER (PARTITION BY ${keys.join(', ')}
          ORDER BY received_at, topic, "partition", "offset") AS arrival
        FROM cand WHERE u0 IS NOT NULL
      )
      SELECT row_id, ${reason}, ${field}, ${step} FROM ranked WHERE arrival > 1`);
    return;
  }
  if (e.rule.type !== 'rate_of_change') throw new Error(`'${e.rule.type}' is not a set rule`);
  // Each reading against the patient's previous accepted reading: a reading that fails is not
  // the reference for the next one, so a single spike fails alone and the return to normal passes.
  const rows =
    await c.rows(`SELECT ch.rowid AS row_id, s_patientId AS patient, epoch_us(observed_at) AS t, value_norm AS v
    FROM checked ch WHERE ${survivors(target)} AND value_norm IS NOT NULL
    ORDER BY s_patientId, observed_at, received_at, topic, "partition", "offset"`);
  const perUs = e.rule.perSeconds * 1e6;
  const failed: string[] = [];
  let patient: unknown;
  let prev: { t: number; v: number } | undefined;
  for (const row of rows) {
    if (row.patient !== patient) {
      patient = row.patient;
      prev = undefined;
    }
    const t = Number(row.t);
    const v = Number(row.v);
    if (prev !== undefined) {
      const dt = t - prev.t;
      const change = Math.abs(v - prev.v);
      const tooFast = dt <= 0 ? change > 0 : change / (dt / perUs) > e.rule.max;
      if (tooFast) {
        failed.push(String(row.row_id));
        continue;
      }
    }
    prev = { t, v };
  }
  for (let i = 0; i < failed.length; i += 10_000) {
    await c.run(`INSERT INTO verdicts
      SELECT unnest([${failed.slice(i, i + 10_000).join(', ')}]::BIGINT[]), ${reason}, ${field}, ${step}`);
  }
}

/**
 * Rows judged and failed by every check, per site. A check judges the rows it applies to that
 * reach it: the first-pass checks in order (the first failure wins), the referential check on
 * the rest (not enrolments), the duplicate-id check on those, the set rules on what dedupe left.
 */
async function expectationResults(
  c: Connection,
  checks: readonly SilverCheck[],
  setRules: readonly Expectation[],
  catalog: Catalog,
): Promise<ExpectationResult[]> {
  const judged = new Map<string, { evaluated: string[]; failed: string[] }>();
  const entry = (name: string) => {
    let e = judged.get(name);
    if (!e) {
      e = { evaluated: [], failed: [] };
      judged.set(name, e);
    }
    return e;
  };
  checks.forEach((check, i) => {
    const e = entry(check.reason);
    const reaches = `(check_no IS NULL OR check_no >= ${i + 1})`;
    e.evaluated.push(check.target ? `(${check.target} AND ${reaches})` : reaches);
    e.failed.push(`check_no = ${i + 1}`);
  });
  entry('unknown_patient').evaluated.push(`(check_no IS NULL AND s_kind <> 'enrolment')`);
  entry('unknown_patient').failed.push(`v.reason = 'unknown_patient'`);
  entry('duplicate_event_id').evaluated.push(
    `(check_no IS NULL AND (v.row_id IS NULL OR v.reason IS DISTINCT FROM 'unknown_patient'))`,
  );
  entry('duplicate_event_id').failed.push(`v.reason = 'duplicate_event_id'`);
  setRules.forEach((rule, k) => {
    const step = SET_RULE_STEP + k;
    const target = expectationTargetSql(rule, catalog);
    const e = entry(rule.name);
    e.evaluated.push(
      `(check_no IS NULL AND (v.row_id IS NULL OR v.step >= ${step})${target ? ` AND ${target}` : ''})`,
    );
    e.failed.push(`v.step = ${step}`);
  });
  const names = [...judged.keys()];
  const aggregates = names.flatMap((name, i) => {
    const e = judged.get(name)!;
    return [
      `count(*) FILTER (WHERE ${e.evaluated.join(' OR ')}) AS e${i}`,
      `count(*) FILTER (WHERE ${e.failed.join(' OR ')}) AS f${i}`,
    ];
  });
  const rows = await c.rows(`SELECT coalesce(ch.key, '(no key)') AS site, ${aggregates.join(', ')}
    FROM checked ch LEFT JOIN verdicts v ON v.row_id = ch.rowid GROUP BY ALL ORDER BY ALL`);
  return names.map((name, i) => {
    const result: ExpectationResult = { name, evaluated: 0, failed: 0, bySite: {} };
    for (const row of rows) {
      const evaluated = Number(row[`e${i}`]);
      const failed = Number(row[`f${i}`]);
      result.evaluated += evaluated;
      result.failed += failed;
      result.bySite[String(row.site)] = { evaluated, failed };
    }
    return result;
  });
}
