import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { VigilError } from '@vigil/core';
import { type DuckDBSession, readParquet, sqlString } from './duckdb-session.js';
import type { LakeFiles } from './lake-files.js';
import { ALT_ULN } from './measure-catalog.js';
import { PATIENT_DAY_FEATURES } from './patient-day-features.js';
import { SILVER_TABLES, type SilverTable } from './silver.js';

export const GOLD_PATHS = {
  patientDay: 'gold/patient_day/part-0.parquet',
  outcomes: 'gold/outcomes/part-0.parquet',
  patients: 'gold/patients/part-0.parquet',
} as const;

export interface GoldResult {
  /** Rows of `gold/patient_day` (one per patient per calendar day). */
  patientDays: number;
  /** Rows of `gold/outcomes` (every adverse event, all grades). */
  outcomes: number;
  /** Rows of `gold/patients`. */
  patients: number;
  /** Lake paths staged. */
  paths: string[];
}

const featureSelect = PATIENT_DAY_FEATURES.map(
  (f) => `CAST(${f.name} AS ${f.dtype === 'float64' ? 'DOUBLE' : 'BIGINT'}) AS ${f.name}`,
).join(',\n  ');

/**
 * Silver → gold. `gold/patient_day`: one row per enrolled patient per calendar day from
 * enrolment to the patient's last observation, `event_timestamp` = the end of the day (next
 * 00:00 UTC, when the day's aggregates are known), `created_timestamp` = when the day's last
 * contributing event was recorded (never before `event_timestamp`), and the features of
 * {@link PATIENT_DAY_FEATURES} from window functions that only look back. `gold/outcomes`:
 * every adverse event with its onset as `event_timestamp`. `gold/patients`: enrolment data.
 */
export async function buildGold(
  db: DuckDBSession,
  files: LakeFiles,
  scratch: string,
  branch: string,
): Promise<GoldResult> {
  const outDir = join(scratch, `gold-${process.pid}-${Date.now()}`);
  const sources = {} as Record<SilverTable, string[]>;
  for (const table of Object.keys(SILVER_TABLES) as SilverTable[]) {
    sources[table] = await files.parquetPaths(branch, `silver/${table}/`);
  }
  try {
    await mkdir(outDir, { recursive: true });
    const counts = await db.withConnection(async (c) => {
      for (const [table, paths] of Object.entries(sources)) {
        if (paths.length === 0) {
          throw new VigilError(
            'VIGIL_LAKE_NOT_FOUND',
            `silver table '${table}' is missing on '${branch}': build silver first`,
            {
              details: { ref: branch, path: `silver/${table}/` },
            },
          );
        }
        await c.run(`CREATE TEMP TABLE s_${table} AS SELECT * FROM ${readParquet(paths)}`);
      }
      await c.run(`CREATE TEMP TABLE patients AS
        SELECT patient_id, site_id, observed_at AS enrolled_at, age, sex, arm
        FROM s_enrolments
        QUALIFY row_number() OVER (PARTITION BY patient_id ORDER BY observed_at, event_id) = 1`);
      await c.run(`CREATE TEMP TABLE grid AS
        WITH activity AS (
          SELECT patient_id, observed_at FROM s_vitals UNION ALL SELECT patient_id, observed_at FROM s_labs
          UNION ALL SELECT patient_id, observed_at FROM s_doses UNION ALL SELECT patient_id, observed_at FROM s_symptoms
        ), span AS (
          SELECT p.patient_id, any_value(p.site_id) AS site_id, CAST(any_value(p.enrolled_at) AS DATE) AS first_day,
            greatest(CAST(any_value(p.enrolled_at) AS DATE), CAST(max(a.observed_at) AS DATE)) AS last_day
          FROM patients p LEFT JOIN activity a ON a.patient_id = p.patient_id AND a.observed_at >= CAST(CAST(p.enrolled_at AS DATE) AS TIMESTAMP)
          GROUP BY p.patient_id
        )
        SELECT patient_id, site_id, first_day,
          CAST(unnest(range(CAST(first_day AS TIMESTAMP), CAST(last_day AS TIMESTAMP) + INTERVAL 1 DAY, INTERVAL 1 DAY)) AS DATE) AS day
        FROM span`);
      await c.run(`CREATE TEMP TABLE vd AS
        SELECT patient_id, CAST(observed_at AS DATE) AS day,
          avg(value) FILTER (WHERE measure = 'heart_rate') AS hr_mean,
          var_samp(value) FILTER (WHERE measure = 'heart_rate') AS hr_var,
          sum(value) FILTER (WHERE measure = 'heart_rate') AS hr_sum,
          count(value) FILTER (WHERE measure = 'heart_rate') AS hr_n,
          max(value) FILTER (WHERE measure = 'temperature') AS temp_max,
          min(value) FILTER (WHERE measure = 'spo2') AS spo2_min,
          avg(value) FILTER (WHERE measure = 'systolic_bp') AS sbp_mean,
          avg(value) FILTER (WHERE measure = 'diastolic_bp') AS dbp_mean,
          arg_max(value, observed_at) FILTER (WHERE measure = 'weight') AS weight_day,
          max(recorded_at) AS recorded
        FROM s_vitals GROUP BY ALL`);
      await c.run(`CREATE TEMP TABLE ld AS
        SELECT patient_id, CAST(observed_at AS DATE) AS day,
          arg_max(value, observed_at) FILTER (WHERE measure = 'alt') AS alt_day,
          arg_max(value, observed_at) FILTER (WHERE measure = 'ast') AS ast_day,
          arg_max(value, observed_at) FILTER (WHERE measure = 'bilirubin') AS bilirubin_day,
          arg_max(value, observed_at) FILTER (WHERE measure = 'creatinine') AS creatinine_day,
          max(observed_at) AS lab_at,
          max(recorded_at) AS recorded
        FROM s_labs GROUP BY ALL`);
      await c.run(`CREATE TEMP TABLE dd AS
        SELECT patient_id, CAST(observed_at AS DATE) AS day,
          count(*) FILTER (WHERE taken) AS taken_n, sum(dose_mg) AS dose_mg, max(recorded_at) AS recorded
        FROM s_doses GROUP BY ALL`);
      await c.run(`CREATE TEMP TABLE sd AS
        SELECT patient_id, CAST(observed_at AS DATE) AS day,
          max(severity) AS symptom_max, count(*) AS symptom_n, max(recorded_at) AS recorded
        FROM s_symptoms GROUP BY ALL`);
      await c.run(`CREATE TEMP TABLE daily AS
        SELECT g.patient_id, g.site_id, g.day, datediff('day', g.first_day, g.day) AS day_index,
          CAST(g.day + INTERVAL 1 DAY AS TIMESTAMP) AS event_timestamp,
          vd.hr_mean, vd.hr_var, vd.hr_sum, vd.hr_n, vd.temp_max, vd.spo2_min, vd.sbp_mean, vd.dbp_mean, vd.weight_day,
          ld.alt_day, ld.ast_day, ld.bilirubin_day, ld.creatinine_day, ld.lab_at,
          dd.taken_n, dd.dose_mg, sd.symptom_max, sd.symptom_n,
          greatest(vd.recorded, ld.recorded, dd.recorded, sd.recorded) AS recorded
        FROM grid g
          LEFT JOIN vd ON vd.patient_id = g.patient_id AND vd.day = g.day
          LEFT JOIN ld ON ld.patient_id = g.patient_id AND ld.day = g.day
          LEFT JOIN dd ON dd.patient_id = g.patient_id AND dd.day = g.day
          LEFT JOIN sd ON sd.patient_id = g.patient_id AND sd.day = g.day`);
      await c.run(`CREATE TEMP TABLE carried AS
        SELECT *,
          sum(hr_sum) FILTER (WHERE day_index < 7) OVER upto
            / nullif(sum(hr_n) FILTER (WHERE day_index < 7) OVER upto, 0) AS hr_baseline,
          last_value(weight_day IGNORE NULLS) OVER upto AS weight_kg,
          last_value(alt_day IGNORE NULLS) OVER upto AS alt,
          last_value(ast_day IGNORE NULLS) OVER upto AS ast,
          last_value(bilirubin_day IGNORE NULLS) OVER upto AS bilirubin,
          last_value(creatinine_day IGNORE NULLS) OVER upto AS creatinine,
          last_value(lab_at IGNORE NULLS) OVER upto AS last_lab_at,
          first_value(alt_day IGNORE NULLS) OVER upto AS alt_first,
          first_value(ast_day IGNORE NULLS) OVER upto AS ast_first,
          first_value(bilirubin_day IGNORE NULLS) OVER upto AS bilirubin_first,
          first_value(weight_day IGNORE NULLS) OVER upto AS weight_first,
          avg(temp_max) FILTER (WHERE day_index < 7) OVER upto AS temp_baseline,
          avg(spo2_min) FILTER (WHERE day_index < 7) OVER upto AS spo2_baseline,
          least(1.0, coalesce(sum(taken_n) OVER week, 0) / least(7, day_index + 1)) AS adherence_7d,
          coalesce(sum(dose_mg) OVER week, 0) / least(7, day_index + 1) AS dose_mg_mean_7d,
          coalesce(max(symptom_max) OVER three, 0) AS symptom_max_severity_3d,
          coalesce(sum(symptom_n) OVER three, 0) AS symptom_count_3d
        FROM daily
        WINDOW upto AS (PARTITION BY patient_id ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
          week AS (PARTITION BY patient_id ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW),
          three AS (PARTITION BY patient_id ORDER BY day ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)`);
      const patientDayFile = join(outDir, 'patient_day.parquet');
      await c.run(`COPY (
        WITH features AS (
          SELECT *,
            hr_mean AS hr_mean_24h,
            hr_var AS hr_var_24h,
            hr_mean - hr_baseline AS hr_baseline_dev,
            temp_max AS temp_max_24h,
            spo2_min AS spo2_min_24h,
            sbp_mean AS sbp_mean_24h,
            dbp_mean AS dbp_mean_24h,
            weight_kg - lag(weight_kg, 7) OVER byday AS weight_change_7d,
            date_diff('second', last_lab_at, event_timestamp) / 86400.0 AS days_since_lab,
            (alt - lag(alt, 7) OVER byday) / 7.0 AS alt_roc_7d,
            alt / ${ALT_ULN}.0 AS alt_uln_ratio,
            alt / nullif(alt_first, 0) AS alt_baseline_ratio,
            ast / nullif(ast_first, 0) AS ast_baseline_ratio,
            bilirubin / nullif(bilirubin_first, 0) AS bilirubin_baseline_ratio,
            weight_kg - weight_first AS weight_baseline_change,
            temp_max - temp_baseline AS temp_baseline_dev,
            spo2_min - spo2_baseline AS spo2_baseline_dev,
            coalesce(CAST(alt > ${3 * ALT_ULN} AS BIGINT), 0) AS alt_gt_3uln,
            dose_mg_mean_7d / 100.0 * alt / ${ALT_ULN}.0 AS dose_x_alt,
            CAST(hr_n IS NULL AS BIGINT) AS hr_missing,
            CAST(temp_max IS NULL AS BIGINT) AS temp_missing,
            CAST(weight_kg IS NULL AS BIGINT) AS weight_missing,
            CAST(last_lab_at IS NULL OR date_diff('second', last_lab_at, event_timestamp) > 10 * 86400 AS BIGINT) AS labs_missing,
            day_index AS days_on_study
          FROM carried
          WINDOW byday AS (PARTITION BY patient_id ORDER BY day)
        )
        SELECT patient_id, site_id, event_timestamp,
          greatest(event_timestamp, recorded) AS created_timestamp,
          ${featureSelect}
        FROM features ORDER BY patient_id, event_timestamp
      ) TO ${sqlString(patientDayFile)} (FORMAT parquet)`);
      const outcomesFile = join(outDir, 'outcomes.parquet');
      await c.run(`COPY (
        SELECT patient_id, site_id, observed_at AS event_timestamp, recorded_at AS created_timestamp,
          CAST(grade AS BIGINT) AS grade, term
        FROM s_adverse_events ORDER BY patient_id, event_timestamp, event_id
      ) TO ${sqlString(outcomesFile)} (FORMAT parquet)`);
      const patientsFile = join(outDir, 'patients.parquet');
      await c.run(`COPY (
        SELECT patient_id, site_id, enrolled_at, CAST(age AS BIGINT) AS age, sex, arm,
          CAST(arm = 'treatment' AS BIGINT) AS treated, CAST(sex = 'F' AS BIGINT) AS female
        FROM patients ORDER BY patient_id
      ) TO ${sqlString(patientsFile)} (FORMAT parquet)`);
      return {
        files: [
          [GOLD_PATHS.patientDay, patientDayFile],
          [GOLD_PATHS.outcomes, outcomesFile],
          [GOLD_PATHS.patients, patientsFile],
        ] as [string, string][],
        patientDays: await c.count('SELECT 1 FROM carried'),
        outcomes: await c.count('SELECT 1 FROM s_adverse_events'),
        patients: await c.count('SELECT 1 FROM patients'),
      };
    });
    await files.putAll(branch, counts.files);
    return {
      patientDays: counts.patientDays,
      outcomes: counts.outcomes,
      patients: counts.patients,
      paths: counts.files.map(([p]) => p),
    };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}
