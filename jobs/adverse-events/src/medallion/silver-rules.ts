import type { FieldType } from '@vigil/core';
import { EVENT_KINDS } from '../domain/clinical-event.js';
import { BASE_FIELDS, KIND_FIELDS } from '../domain/event-schema.js';
import { TOPIC_OF_KIND } from '../domain/topics.js';
import { type Catalog, DEFAULT_CATALOG } from './catalog-config.js';
import { sqlString } from './duckdb-session.js';
import {
  defaultExpectationSuite,
  double,
  type Expectation,
  expectationTargetSql,
  isSetRule,
  rowRuleFailureSql,
} from './expectations.js';

export { SYMPTOM_NAMES } from './measure-catalog.js';

/** Payloads larger than this (UTF-8 bytes) are quarantined as `oversized` before any other check. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

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

/** One check of silver's first pass: the row fails when `condition` holds; `target` (null: every row) is what it applies to. */
export interface SilverCheck {
  condition: string;
  reason: string;
  field: string | null;
  target: string | null;
}

/**
 * The checks of silver's first pass, in order: the fixed schema checks (payload size, JSON,
 * required fields and their types, kind and topic), then the row rules of the expectation
 * suite (by default the built-in one: enumerated values, known measures and units, plausible
 * ranges after unit normalisation), then future timestamps. Over the parsed columns:
 * `payload`, `topic`, `doc_type` (JSON type of the payload, null when it is not JSON),
 * `t_<field>` / `s_<field>` for every field of {@link ALL_FIELDS} plus `t__unmapped`, and the
 * typed values and unit-catalogue columns silver derives from them.
 */
export function silverChecks(
  futureToleranceMinutes: number,
  catalog: Catalog = DEFAULT_CATALOG,
  suite: readonly Expectation[] = defaultExpectationSuite(catalog),
): SilverCheck[] {
  const checks: SilverCheck[] = [];
  const add = (
    condition: string,
    reason: QuarantineReason,
    field: string | null,
    target: string | null = null,
  ) => checks.push({ condition, reason, field, target });
  add(`strlen(payload) > ${MAX_PAYLOAD_BYTES}`, 'oversized', null);
  add('doc_type IS NULL', 'invalid_json', null);
  add(`doc_type <> 'OBJECT'`, 'invalid_json', null);
  add('t__unmapped IS NOT NULL', 'unmapped', '_unmapped');
  for (const [f, type] of BASE_FIELDS) {
    add(missing(f), 'missing_field', f);
    add(wrongType(f, type), 'wrong_type', f);
  }
  add(`s_kind NOT IN (${list(EVENT_KINDS)})`, 'unknown_kind', 'kind');
  // Bronze's `kind` is the kind of the topic the event arrived on (deployment prefix stripped).
  add(`kind IN (${list(Object.keys(TOPIC_OF_KIND))}) AND s_kind <> kind`, 'wrong_topic', 'kind');
  for (const kind of EVENT_KINDS) {
    const target = `s_kind = ${sqlString(kind)}`;
    for (const [f, type] of KIND_FIELDS[kind]) {
      const reason: QuarantineReason = f === 'unit' ? 'missing_unit' : 'missing_field';
      add(`${target} AND ${missing(f)}`, reason, f, target);
      add(`${target} AND ${wrongType(f, type)}`, 'wrong_type', f, target);
    }
  }
  for (const e of suite) {
    if (isSetRule(e.rule)) continue;
    const target = expectationTargetSql(e, catalog);
    const failure = rowRuleFailureSql(e);
    checks.push({
      condition: target === null ? failure : `${target} AND ${failure}`,
      reason: e.name,
      field: e.column,
      target,
    });
  }
  add(
    `observed_at > recorded_at + INTERVAL ${Math.max(0, Math.round(futureToleranceMinutes))} MINUTE`,
    'future_timestamp',
    'observedAt',
  );
  return checks;
}

/** The catalogue of measures and units as a SQL VALUES list. */
export function unitCatalogSql(catalog: Catalog = DEFAULT_CATALOG): string {
  const rows = Object.entries(catalog.measures).flatMap(([measure, spec]) =>
    spec.units.map(
      (u) =>
        `(${sqlString(spec.kind)}, ${sqlString(measure)}, ${sqlString(u.unit)}, ${double(u.factor)}, ${double(u.offset)}, ${double(spec.min)}, ${double(spec.max)}, ${sqlString(spec.canonicalUnit)})`,
    ),
  );
  return `(VALUES ${rows.join(', ')}) AS cat(cat_kind, cat_measure, cat_unit, cat_factor, cat_offset, cat_min, cat_max, cat_canonical)`;
}
