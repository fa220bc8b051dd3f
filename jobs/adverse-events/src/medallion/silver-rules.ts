import type { FieldType } from '@vigil/core';
import { EVENT_KINDS } from '../domain/clinical-event.js';
import { BASE_FIELDS, KIND_FIELDS, ORIGINS } from '../domain/event-schema.js';
import { TOPIC_OF_KIND } from '../domain/topics.js';
import { sqlString } from './duckdb-session.js';
import { MEASURES } from './measure-catalog.js';

/** Payloads larger than this (UTF-8 bytes) are quarantined as `oversized` before any other check. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

export const SYMPTOM_NAMES = ['fatigue', 'nausea', 'headache', 'rash', 'dizziness'] as const;

/**
 * Every reason a row can be quarantined for on its way to silver, in the order checked
 * (the first failing check names the row's reason).
 */
export const QUARANTINE_REASONS = {
  oversized: `The payload is larger than ${MAX_PAYLOAD_BYTES} bytes (bronze and quarantine keep it whole; no other check is reported).`,
  invalid_json: 'The payload is not a JSON object.',
  unmapped: 'A file import could not map the row (`_unmapped` carries the reason; the raw row is kept).',
  missing_field: 'A required field is absent or null (`field` names it).',
  wrong_type: 'A field has the wrong JSON type, or a timestamp does not parse.',
  unknown_kind: 'The `kind` is not one of the event kinds.',
  wrong_topic: 'The `kind` does not belong on the topic the event arrived on.',
  missing_unit: 'A vital or lab without a unit.',
  invalid_value: 'An enumerated field (origin, symptom, sex, arm) has a value outside its set.',
  unknown_measure: 'The measure is not a known vital or lab.',
  unknown_unit: 'The unit is not one the measure may be reported in.',
  out_of_range: 'A value is impossible after unit normalisation (or a count or grade outside its range).',
  future_timestamp: 'Observed later than it was recorded (beyond the tolerance).',
  unknown_patient: 'No enrolment is known for the patient (referential check).',
  duplicate_event_id: 'An event with this eventId already reached silver (a producer retry).',
} as const;
export type QuarantineReason = keyof typeof QUARANTINE_REASONS;

/** Every field name any kind uses; each becomes a `t_<name>` (JSON type) and `s_<name>` (text) column. */
export const ALL_FIELDS: readonly string[] = [
  ...new Set([...BASE_FIELDS, ...Object.values(KIND_FIELDS).flat()].map(([name]) => name)),
];

const missing = (f: string) => `(t_${f} IS NULL OR t_${f} = 'NULL')`;
const wrongType = (f: string, type: FieldType): string => {
  switch (type) {
    case 'string':
      return `t_${f} <> 'VARCHAR'`;
    case 'number':
      return `t_${f} NOT IN ('DOUBLE', 'BIGINT', 'UBIGINT', 'HUGEINT', 'UHUGEINT')`;
    case 'boolean':
      return `t_${f} <> 'BOOLEAN'`;
    case 'timestamp':
      return `(t_${f} <> 'VARCHAR' OR TRY_CAST(s_${f} AS TIMESTAMP) IS NULL)`;
  }
};
const list = (values: readonly string[]) => values.map(sqlString).join(', ');
const integerIn = (column: string, lo: number, hi: number) =>
  `(${column} <> round(${column}) OR ${column} < ${lo} OR ${column} > ${hi})`;

/**
 * The checks, in order, as [SQL condition over the parsed columns, reason, field]. The columns:
 * `payload`, `topic`, `doc_type` (JSON type of the payload, null when it is not JSON),
 * `t_<field>` / `s_<field>` for every field of {@link ALL_FIELDS} plus `t__unmapped`, and the
 * typed values and unit-catalogue columns silver derives from them.
 */
export function silverChecks(futureToleranceMinutes: number): [string, QuarantineReason, string | null][] {
  const checks: [string, QuarantineReason, string | null][] = [
    [`strlen(payload) > ${MAX_PAYLOAD_BYTES}`, 'oversized', null],
    ['doc_type IS NULL', 'invalid_json', null],
    [`doc_type <> 'OBJECT'`, 'invalid_json', null],
    ['t__unmapped IS NOT NULL', 'unmapped', '_unmapped'],
  ];
  for (const [f, type] of BASE_FIELDS) {
    checks.push([missing(f), 'missing_field', f], [wrongType(f, type), 'wrong_type', f]);
  }
  checks.push([`s_kind NOT IN (${list(EVENT_KINDS)})`, 'unknown_kind', 'kind']);
  // Bronze's `kind` is the kind of the topic the event arrived on (deployment prefix stripped).
  checks.push([`kind IN (${list(Object.keys(TOPIC_OF_KIND))}) AND s_kind <> kind`, 'wrong_topic', 'kind']);
  for (const kind of EVENT_KINDS) {
    for (const [f, type] of KIND_FIELDS[kind]) {
      const reason: QuarantineReason = f === 'unit' ? 'missing_unit' : 'missing_field';
      checks.push(
        [`s_kind = ${sqlString(kind)} AND ${missing(f)}`, reason, f],
        [`s_kind = ${sqlString(kind)} AND ${wrongType(f, type)}`, 'wrong_type', f],
      );
    }
  }
  checks.push(
    [`s_origin NOT IN (${list(ORIGINS)})`, 'invalid_value', 'origin'],
    [`s_kind = 'symptom' AND s_symptom NOT IN (${list(SYMPTOM_NAMES)})`, 'invalid_value', 'symptom'],
    [`s_kind = 'enrolment' AND s_sex NOT IN ('F', 'M')`, 'invalid_value', 'sex'],
    [`s_kind = 'enrolment' AND s_arm NOT IN ('treatment', 'placebo')`, 'invalid_value', 'arm'],
  );
  for (const kind of ['vital', 'lab'] as const) {
    const measures = Object.entries(MEASURES)
      .filter(([, spec]) => spec.kind === kind)
      .map(([name]) => name);
    checks.push([
      `s_kind = '${kind}' AND s_measure NOT IN (${list(measures)})`,
      'unknown_measure',
      'measure',
    ]);
  }
  checks.push(
    [`s_kind IN ('vital', 'lab') AND cat_factor IS NULL`, 'unknown_unit', 'unit'],
    [
      `s_kind IN ('vital', 'lab') AND (value_norm < cat_min OR value_norm > cat_max)`,
      'out_of_range',
      'value',
    ],
    [`s_kind = 'dose' AND (num_doseMg < 0 OR num_doseMg > 10000)`, 'out_of_range', 'doseMg'],
    [`s_kind = 'symptom' AND ${integerIn('num_severity', 0, 10)}`, 'out_of_range', 'severity'],
    [`s_kind = 'adverse_event' AND ${integerIn('num_grade', 1, 5)}`, 'out_of_range', 'grade'],
    [`s_kind = 'enrolment' AND ${integerIn('num_age', 0, 120)}`, 'out_of_range', 'age'],
    [
      `observed_at > recorded_at + INTERVAL ${Math.max(0, Math.round(futureToleranceMinutes))} MINUTE`,
      'future_timestamp',
      'observedAt',
    ],
  );
  return checks;
}

/** A number as an exact DOUBLE literal (a bare decimal literal would be a DECIMAL, rounded on its way to DOUBLE). */
const double = (n: number) => `CAST('${n}' AS DOUBLE)`;

/** The catalogue of measures and units as a SQL VALUES list. */
export function unitCatalogSql(): string {
  const rows = Object.entries(MEASURES).flatMap(([measure, spec]) =>
    spec.units.map(
      (u) =>
        `(${sqlString(spec.kind)}, ${sqlString(measure)}, ${sqlString(u.unit)}, ${double(u.factor)}, ${double(u.offset)}, ${double(spec.min)}, ${double(spec.max)}, ${sqlString(spec.canonicalUnit)})`,
    ),
  );
  return `(VALUES ${rows.join(', ')}) AS cat(cat_kind, cat_measure, cat_unit, cat_factor, cat_offset, cat_min, cat_max, cat_canonical)`;
}
