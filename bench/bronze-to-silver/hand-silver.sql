-- Bronze → silver written by hand in DuckDB SQL: the peer of Vigil's buildSilver.
-- The bench replaces {{bronze}} (the bronze Parquet files) and {{out}} (an output folder).
--
-- Same work: parse every payload, check the expectations in order (the first failure is the
-- reason), normalise units, quarantine unknown patients and repeated event ids, collapse the
-- same reading from several origins to the most reliable one, and write seven per-kind silver
-- tables (visits included: contacts with no measurement) plus the quarantine table.

SET TimeZone = 'UTC';

-- Accepted units per measure: canonical = value * factor + shift; lo..hi is the possible range.
CREATE TEMP TABLE unit_catalog (
  kind VARCHAR, measure VARCHAR, unit VARCHAR, factor DOUBLE, shift DOUBLE, lo DOUBLE, hi DOUBLE, canonical VARCHAR
);
INSERT INTO unit_catalog VALUES
  ('vital', 'heart_rate', 'bpm', 1, 0, 20, 250, 'bpm'),
  ('vital', 'heart_rate', 'beats/min', 1, 0, 20, 250, 'bpm'),
  ('vital', 'systolic_bp', 'mmHg', 1, 0, 50, 260, 'mmHg'),
  ('vital', 'diastolic_bp', 'mmHg', 1, 0, 20, 160, 'mmHg'),
  ('vital', 'temperature', '°C', 1, 0, 30, 44, '°C'),
  ('vital', 'temperature', '°F', 5.0 / 9, -160.0 / 9, 30, 44, '°C'),
  ('vital', 'weight', 'kg', 1, 0, 25, 300, 'kg'),
  ('vital', 'weight', 'lb', 0.45359237, 0, 25, 300, 'kg'),
  ('vital', 'spo2', '%', 1, 0, 50, 100, '%'),
  ('lab', 'alt', 'U/L', 1, 0, 1, 5000, 'U/L'),
  ('lab', 'ast', 'U/L', 1, 0, 1, 5000, 'U/L'),
  ('lab', 'bilirubin', 'mg/dL', 1, 0, 0.05, 40, 'mg/dL'),
  ('lab', 'bilirubin', 'µmol/L', 1 / 17.1, 0, 0.05, 40, 'mg/dL'),
  ('lab', 'creatinine', 'mg/dL', 1, 0, 0.1, 20, 'mg/dL'),
  ('lab', 'creatinine', 'µmol/L', 1 / 88.42, 0, 0.1, 20, 'mg/dL');

-- 1. One pass over bronze: parse each payload once (the JSON type and text of every field we
--    use), type the values, normalise units, and check the expectations in order; the first one
--    that fails is the reason ('reason/field'). The payload itself stays in bronze.
CREATE TEMP TABLE checked AS
WITH b AS (
  SELECT topic, "partition", "offset", key, received_at, kind AS bronze_kind, payload,
    CASE WHEN json_valid(payload) THEN json_type(payload) = 'OBJECT' ELSE false END AS is_object
  FROM read_parquet({{bronze}}, union_by_name = true)
), j AS (
  SELECT *,
    CASE WHEN is_object THEN json_type(payload, ['$.eventId', '$.kind', '$.patientId', '$.siteId',
      '$.observedAt', '$.recordedAt', '$.origin', '$.measure', '$.value', '$.unit', '$.doseMg', '$.taken',
      '$.symptom', '$.severity', '$.grade', '$.term', '$.age', '$.sex', '$.arm', '$._unmapped']) END AS t,
    CASE WHEN is_object THEN json_extract_string(payload, ['$.eventId', '$.kind', '$.patientId', '$.siteId',
      '$.observedAt', '$.recordedAt', '$.origin', '$.measure', '$.value', '$.unit', '$.doseMg', '$.taken',
      '$.symptom', '$.severity', '$.grade', '$.term', '$.age', '$.sex', '$.arm']) END AS v
  FROM b
), p AS (
  SELECT topic, "partition", "offset", key, received_at, bronze_kind, is_object,
    strlen(payload) AS payload_bytes,
    t[1] AS t_event_id, v[1] AS event_id,
    t[2] AS t_kind, v[2] AS ev_kind,
    t[3] AS t_patient_id, v[3] AS patient_id,
    t[4] AS t_site_id, v[4] AS site_id,
    t[5] AS t_observed_at, TRY_CAST(v[5] AS TIMESTAMP) AS observed_at,
    t[6] AS t_recorded_at, TRY_CAST(v[6] AS TIMESTAMP) AS recorded_at,
    t[7] AS t_origin, v[7] AS origin,
    t[8] AS t_measure, v[8] AS measure,
    t[9] AS t_value, TRY_CAST(v[9] AS DOUBLE) AS reported_value,
    t[10] AS t_unit, v[10] AS unit,
    t[11] AS t_dose_mg, TRY_CAST(v[11] AS DOUBLE) AS dose_mg,
    t[12] AS t_taken, v[12] = 'true' AS taken,
    t[13] AS t_symptom, v[13] AS symptom,
    t[14] AS t_severity, TRY_CAST(v[14] AS DOUBLE) AS severity,
    t[15] AS t_grade, TRY_CAST(v[15] AS DOUBLE) AS grade,
    t[16] AS t_term, v[16] AS term,
    t[17] AS t_age, TRY_CAST(v[17] AS DOUBLE) AS age,
    t[18] AS t_sex, v[18] AS sex,
    t[19] AS t_arm, v[19] AS arm,
    t[20] AS t_unmapped
  FROM j
), c AS (
  SELECT p.*, u.factor, u.canonical, reported_value * u.factor + u.shift AS value_norm, u.lo, u.hi
  FROM p LEFT JOIN unit_catalog u ON u.kind = p.ev_kind AND u.measure = p.measure AND u.unit = p.unit
)
SELECT topic, "partition", "offset", key, received_at, bronze_kind,
  CASE WHEN t_event_id = 'VARCHAR' THEN event_id END AS raw_event_id,
  event_id, ev_kind, patient_id, site_id, origin, observed_at, recorded_at, measure, value_norm, canonical,
  reported_value, unit, dose_mg, taken, symptom, severity, grade, term, age, sex, arm,
  CASE
    WHEN payload_bytes > 65536 THEN 'oversized/'
    WHEN NOT is_object THEN 'invalid_json/'
    WHEN t_unmapped IS NOT NULL THEN 'unmapped/_unmapped'
    WHEN t_event_id IS NULL OR t_event_id = 'NULL' THEN 'missing_field/eventId'
    WHEN t_event_id <> 'VARCHAR' THEN 'wrong_type/eventId'
    WHEN t_kind IS NULL OR t_kind = 'NULL' THEN 'missing_field/kind'
    WHEN t_kind <> 'VARCHAR' THEN 'wrong_type/kind'
    WHEN t_patient_id IS NULL OR t_patient_id = 'NULL' THEN 'missing_field/patientId'
    WHEN t_patient_id <> 'VARCHAR' THEN 'wrong_type/patientId'
    WHEN t_site_id IS NULL OR t_site_id = 'NULL' THEN 'missing_field/siteId'
    WHEN t_site_id <> 'VARCHAR' THEN 'wrong_type/siteId'
    WHEN t_observed_at IS NULL OR t_observed_at = 'NULL' THEN 'missing_field/observedAt'
    WHEN t_observed_at <> 'VARCHAR' OR observed_at IS NULL THEN 'wrong_type/observedAt'
    WHEN t_recorded_at IS NULL OR t_recorded_at = 'NULL' THEN 'missing_field/recordedAt'
    WHEN t_recorded_at <> 'VARCHAR' OR recorded_at IS NULL THEN 'wrong_type/recordedAt'
    WHEN t_origin IS NULL OR t_origin = 'NULL' THEN 'missing_field/origin'
    WHEN t_origin <> 'VARCHAR' THEN 'wrong_type/origin'
    WHEN ev_kind NOT IN ('vital', 'lab', 'dose', 'symptom', 'adverse_event', 'enrolment', 'visit') THEN 'unknown_kind/kind'
    WHEN topic IN ('vitals', 'labs', 'doses', 'symptoms', 'adverse-events', 'enrolments', 'visits')
      AND topic <> CASE ev_kind WHEN 'vital' THEN 'vitals' WHEN 'lab' THEN 'labs' WHEN 'dose' THEN 'doses'
        WHEN 'symptom' THEN 'symptoms' WHEN 'adverse_event' THEN 'adverse-events' WHEN 'enrolment' THEN 'enrolments'
        WHEN 'visit' THEN 'visits' END
      THEN 'wrong_topic/kind'
    -- vitals and labs: measure, value, unit
    WHEN ev_kind IN ('vital', 'lab') AND (t_measure IS NULL OR t_measure = 'NULL') THEN 'missing_field/measure'
    WHEN ev_kind IN ('vital', 'lab') AND t_measure <> 'VARCHAR' THEN 'wrong_type/measure'
    WHEN ev_kind IN ('vital', 'lab') AND (t_value IS NULL OR t_value = 'NULL') THEN 'missing_field/value'
    WHEN ev_kind IN ('vital', 'lab') AND t_value NOT IN ('DOUBLE', 'BIGINT', 'UBIGINT', 'HUGEINT', 'UHUGEINT') THEN 'wrong_type/value'
    WHEN ev_kind IN ('vital', 'lab') AND (t_unit IS NULL OR t_unit = 'NULL') THEN 'missing_unit/unit'
    WHEN ev_kind IN ('vital', 'lab') AND t_unit <> 'VARCHAR' THEN 'wrong_type/unit'
    -- doses
    WHEN ev_kind = 'dose' AND (t_dose_mg IS NULL OR t_dose_mg = 'NULL') THEN 'missing_field/doseMg'
    WHEN ev_kind = 'dose' AND t_dose_mg NOT IN ('DOUBLE', 'BIGINT', 'UBIGINT', 'HUGEINT', 'UHUGEINT') THEN 'wrong_type/doseMg'
    WHEN ev_kind = 'dose' AND (t_taken IS NULL OR t_taken = 'NULL') THEN 'missing_field/taken'
    WHEN ev_kind = 'dose' AND t_taken <> 'BOOLEAN' THEN 'wrong_type/taken'
    -- symptoms
    WHEN ev_kind = 'symptom' AND (t_symptom IS NULL OR t_symptom = 'NULL') THEN 'missing_field/symptom'
    WHEN ev_kind = 'symptom' AND t_symptom <> 'VARCHAR' THEN 'wrong_type/symptom'
    WHEN ev_kind = 'symptom' AND (t_severity IS NULL OR t_severity = 'NULL') THEN 'missing_field/severity'
    WHEN ev_kind = 'symptom' AND t_severity NOT IN ('DOUBLE', 'BIGINT', 'UBIGINT', 'HUGEINT', 'UHUGEINT') THEN 'wrong_type/severity'
    -- adverse events
    WHEN ev_kind = 'adverse_event' AND (t_grade IS NULL OR t_grade = 'NULL') THEN 'missing_field/grade'
    WHEN ev_kind = 'adverse_event' AND t_grade NOT IN ('DOUBLE', 'BIGINT', 'UBIGINT', 'HUGEINT', 'UHUGEINT') THEN 'wrong_type/grade'
    WHEN ev_kind = 'adverse_event' AND (t_term IS NULL OR t_term = 'NULL') THEN 'missing_field/term'
    WHEN ev_kind = 'adverse_event' AND t_term <> 'VARCHAR' THEN 'wrong_type/term'
    -- enrolments
    WHEN ev_kind = 'enrolment' AND (t_age IS NULL OR t_age = 'NULL') THEN 'missing_field/age'
    WHEN ev_kind = 'enrolment' AND t_age NOT IN ('DOUBLE', 'BIGINT', 'UBIGINT', 'HUGEINT', 'UHUGEINT') THEN 'wrong_type/age'
    WHEN ev_kind = 'enrolment' AND (t_sex IS NULL OR t_sex = 'NULL') THEN 'missing_field/sex'
    WHEN ev_kind = 'enrolment' AND t_sex <> 'VARCHAR' THEN 'wrong_type/sex'
    WHEN ev_kind = 'enrolment' AND (t_arm IS NULL OR t_arm = 'NULL') THEN 'missing_field/arm'
    WHEN ev_kind = 'enrolment' AND t_arm <> 'VARCHAR' THEN 'wrong_type/arm'
    -- enumerations
    WHEN origin NOT IN ('ehr', 'site', 'device', 'app') THEN 'invalid_value/origin'
    WHEN ev_kind = 'symptom' AND symptom NOT IN ('fatigue', 'nausea', 'headache', 'rash', 'dizziness') THEN 'invalid_value/symptom'
    WHEN ev_kind = 'enrolment' AND sex NOT IN ('F', 'M') THEN 'invalid_value/sex'
    WHEN ev_kind = 'enrolment' AND arm NOT IN ('treatment', 'placebo') THEN 'invalid_value/arm'
    -- measures, units and ranges (after unit normalisation)
    WHEN ev_kind = 'vital' AND measure NOT IN ('heart_rate', 'systolic_bp', 'diastolic_bp', 'temperature', 'weight', 'spo2')
      THEN 'unknown_measure/measure'
    WHEN ev_kind = 'lab' AND measure NOT IN ('alt', 'ast', 'bilirubin', 'creatinine') THEN 'unknown_measure/measure'
    WHEN ev_kind IN ('vital', 'lab') AND factor IS NULL THEN 'unknown_unit/unit'
    WHEN ev_kind IN ('vital', 'lab') AND (value_norm < lo OR value_norm > hi) THEN 'out_of_range/value'
    WHEN ev_kind = 'dose' AND (dose_mg < 0 OR dose_mg > 10000) THEN 'out_of_range/doseMg'
    WHEN ev_kind = 'symptom' AND (severity <> round(severity) OR severity < 0 OR severity > 10) THEN 'out_of_range/severity'
    WHEN ev_kind = 'adverse_event' AND (grade <> round(grade) OR grade < 1 OR grade > 5) THEN 'out_of_range/grade'
    WHEN ev_kind = 'enrolment' AND (age <> round(age) OR age < 0 OR age > 120) THEN 'out_of_range/age'
    WHEN observed_at > recorded_at + INTERVAL 5 MINUTE THEN 'future_timestamp/observedAt'
  END AS failed
FROM c;

-- 2. Rows that passed: the patient must be enrolled (by an enrolment that passed its checks),
--    and the first arrival of an event id wins (producer retries).
CREATE TEMP TABLE rejected AS
WITH enrolled AS (
  SELECT DISTINCT patient_id FROM checked WHERE failed IS NULL AND ev_kind = 'enrolment'
), passed AS (
  SELECT topic, "partition", "offset", received_at, event_id,
    ev_kind <> 'enrolment' AND enrolled.patient_id IS NULL AS unknown_patient
  FROM checked LEFT JOIN enrolled USING (patient_id)
  WHERE failed IS NULL
), ranked AS (
  SELECT *, row_number() OVER (PARTITION BY event_id, unknown_patient
    ORDER BY received_at, topic, "partition", "offset") AS arrival
  FROM passed
)
SELECT topic, "partition", "offset",
  CASE WHEN unknown_patient THEN 'unknown_patient/patientId' ELSE 'duplicate_event_id/eventId' END AS failed
FROM ranked WHERE unknown_patient OR arrival > 1;

-- 3. The same reading from several origins within 30 minutes (same patient, measure and day):
--    keep the most reliable origin (ehr > site > device > app).
CREATE TEMP TABLE superseded AS
WITH v AS (
  SELECT topic, "partition", "offset", patient_id, ev_kind, measure, observed_at, event_id,
    CAST(observed_at AS DATE) AS observed_day,
    CASE origin WHEN 'ehr' THEN 0 WHEN 'site' THEN 1 WHEN 'device' THEN 2 ELSE 3 END AS origin_rank
  FROM checked
  WHERE failed IS NULL AND ev_kind IN ('vital', 'lab')
    AND (topic, "partition", "offset") NOT IN (SELECT (topic, "partition", "offset") FROM rejected)
), gaps AS (
  SELECT *, CASE WHEN observed_at - lag(observed_at) OVER w <= INTERVAL 30 MINUTE THEN 0 ELSE 1 END AS starts
  FROM v
  WINDOW w AS (PARTITION BY patient_id, ev_kind, measure, observed_day ORDER BY observed_at, event_id)
), clusters AS (
  SELECT *, sum(starts) OVER (PARTITION BY patient_id, ev_kind, measure, observed_day
    ORDER BY observed_at, event_id ROWS UNBOUNDED PRECEDING) AS cluster
  FROM gaps
), ranked AS (
  SELECT topic, "partition", "offset",
    origin_rank > min(origin_rank) OVER (PARTITION BY patient_id, ev_kind, measure, observed_day, cluster) AS dup
  FROM clusters
)
SELECT topic, "partition", "offset" FROM ranked WHERE dup;

-- 4. Every row's fate: quarantined (reason/field), a duplicate, or silver.
CREATE TEMP TABLE fate AS
SELECT c.*, coalesce(c.failed, r.failed) AS why, s.topic IS NOT NULL AS duplicate
FROM checked c
LEFT JOIN rejected r USING (topic, "partition", "offset")
LEFT JOIN superseded s USING (topic, "partition", "offset");

-- 5. Outputs: one table per kind, ordered by patient and observation time, and the quarantine
--    with the payload exactly as received (from bronze).
COPY (SELECT event_id, patient_id, site_id, origin, observed_at, recorded_at,
    recorded_at - observed_at > INTERVAL 1 DAY AS late,
    topic AS source_topic, "partition" AS source_partition, "offset" AS source_offset,
    measure, value_norm AS value, canonical AS unit, reported_value, unit AS reported_unit
  FROM fate WHERE why IS NULL AND NOT duplicate AND ev_kind = 'vital' ORDER BY patient_id, observed_at, event_id)
  TO '{{out}}/vitals.parquet' (FORMAT parquet);
COPY (SELECT event_id, patient_id, site_id, origin, observed_at, recorded_at,
    recorded_at - observed_at > INTERVAL 1 DAY AS late,
    topic AS source_topic, "partition" AS source_partition, "offset" AS source_offset,
    measure, value_norm AS value, canonical AS unit, reported_value, unit AS reported_unit
  FROM fate WHERE why IS NULL AND NOT duplicate AND ev_kind = 'lab' ORDER BY patient_id, observed_at, event_id)
  TO '{{out}}/labs.parquet' (FORMAT parquet);
COPY (SELECT event_id, patient_id, site_id, origin, observed_at, recorded_at,
    recorded_at - observed_at > INTERVAL 1 DAY AS late,
    topic AS source_topic, "partition" AS source_partition, "offset" AS source_offset,
    dose_mg, taken
  FROM fate WHERE why IS NULL AND NOT duplicate AND ev_kind = 'dose' ORDER BY patient_id, observed_at, event_id)
  TO '{{out}}/doses.parquet' (FORMAT parquet);
COPY (SELECT event_id, patient_id, site_id, origin, observed_at, recorded_at,
    recorded_at - observed_at > INTERVAL 1 DAY AS late,
    topic AS source_topic, "partition" AS source_partition, "offset" AS source_offset,
    symptom, CAST(severity AS INTEGER) AS severity
  FROM fate WHERE why IS NULL AND NOT duplicate AND ev_kind = 'symptom' ORDER BY patient_id, observed_at, event_id)
  TO '{{out}}/symptoms.parquet' (FORMAT parquet);
COPY (SELECT event_id, patient_id, site_id, origin, observed_at, recorded_at,
    recorded_at - observed_at > INTERVAL 1 DAY AS late,
    topic AS source_topic, "partition" AS source_partition, "offset" AS source_offset,
    CAST(grade AS INTEGER) AS grade, term
  FROM fate WHERE why IS NULL AND NOT duplicate AND ev_kind = 'adverse_event' ORDER BY patient_id, observed_at, event_id)
  TO '{{out}}/adverse_events.parquet' (FORMAT parquet);
COPY (SELECT event_id, patient_id, site_id, origin, observed_at, recorded_at,
    recorded_at - observed_at > INTERVAL 1 DAY AS late,
    topic AS source_topic, "partition" AS source_partition, "offset" AS source_offset,
    CAST(age AS INTEGER) AS age, sex, arm
  FROM fate WHERE why IS NULL AND NOT duplicate AND ev_kind = 'enrolment' ORDER BY patient_id, observed_at, event_id)
  TO '{{out}}/enrolments.parquet' (FORMAT parquet);
COPY (SELECT event_id, patient_id, site_id, origin, observed_at, recorded_at,
    recorded_at - observed_at > INTERVAL 1 DAY AS late,
    topic AS source_topic, "partition" AS source_partition, "offset" AS source_offset
  FROM fate WHERE why IS NULL AND NOT duplicate AND ev_kind = 'visit' ORDER BY patient_id, observed_at, event_id)
  TO '{{out}}/visits.parquet' (FORMAT parquet);
COPY (SELECT f.topic, f."partition", f."offset", f.key, f.received_at, f.bronze_kind, f.raw_event_id AS event_id,
    split_part(f.why, '/', 1) AS reason, nullif(split_part(f.why, '/', 2), '') AS field, 'silver' AS stage,
    b.payload AS raw
  FROM fate f
  JOIN read_parquet({{bronze}}, union_by_name = true) b USING (topic, "partition", "offset")
  WHERE f.why IS NOT NULL
  ORDER BY f.topic, f."partition", f."offset")
  TO '{{out}}/quarantine.parquet' (FORMAT parquet);

-- 6. The counts that reconcile, per site: bronze = silver + duplicates + quarantined.
CREATE TEMP TABLE counts AS
SELECT coalesce(key, '(no key)') AS site,
  CASE WHEN why IS NOT NULL THEN 'reason:' || split_part(why, '/', 1)
    WHEN duplicate THEN 'duplicates' ELSE 'silver:' || ev_kind END AS what,
  count(*) AS n
FROM fate GROUP BY ALL
UNION ALL
SELECT coalesce(key, '(no key)'), 'bronze', count(*) FROM fate GROUP BY ALL
UNION ALL
SELECT coalesce(key, '(no key)'), 'quarantined', count(*) FROM fate WHERE why IS NOT NULL GROUP BY ALL;
