/**
 * Test fixtures: a record schema shaped like the adverse-event job's clinical events
 * (an adapter must not import a job package, so its tests carry their own copy), and a
 * helper that checks a file entry against a schema and returns its row mapper.
 */
import type { RecordSchema } from '@vigil/core';
import { type ImportFileInput, importFile } from '../config.js';
import { compileMapping } from '../mapping/compile-mapping.js';
import { RowMapper } from '../mapping/row-mapper.js';

const KINDS = {
  vital: ['measure', 'value', 'unit'],
  lab: ['measure', 'value', 'unit'],
  dose: ['doseMg', 'taken'],
  symptom: ['symptom', 'severity'],
  adverse_event: ['grade', 'term'],
  enrolment: ['age', 'sex', 'arm'],
  visit: [],
} as const;

/** The clinical event as a RecordSchema (same fields, order, required, kinds and enums as the job's). */
export const clinicalSchema: RecordSchema = {
  fields: {
    eventId: 'string',
    kind: 'string',
    patientId: 'string',
    siteId: 'string',
    observedAt: 'timestamp',
    recordedAt: 'timestamp',
    origin: 'string',
    measure: 'string',
    value: 'number',
    unit: 'string',
    doseMg: 'number',
    taken: 'boolean',
    symptom: 'string',
    severity: 'number',
    grade: 'number',
    term: 'string',
    age: 'number',
    sex: 'string',
    arm: 'string',
  },
  required: ['kind', 'patientId', 'siteId', 'observedAt', 'origin'],
  defaulted: ['eventId', 'recordedAt'],
  discriminator: { field: 'kind', kinds: KINDS },
  enums: { kind: Object.keys(KINDS), origin: ['ehr', 'site', 'device', 'app'] },
};

/** A schema of another domain (no discriminator, no enums), to show nothing clinical is assumed. */
export const meterSchema: RecordSchema = {
  fields: { readingId: 'string', meter: 'string', at: 'timestamp', kwh: 'number', estimated: 'boolean' },
  required: ['meter', 'at', 'kwh'],
  defaulted: ['readingId'],
};

/** Parse a file entry, check it against `schema` and return its mapper, or throw the issues. */
export function mapperFor(
  entry: Omit<ImportFileInput, 'path' | 'topic'> & { topic?: string },
  schema: RecordSchema = clinicalSchema,
  missing: readonly string[] = [],
): RowMapper {
  const file = importFile.parse({ path: 'x.csv', topic: 'events', ...entry });
  const { plan, issues } = compileMapping(file, schema, missing);
  if (issues.length > 0) {
    throw new Error(`mapping issues: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  }
  return new RowMapper(plan, file.topic);
}

/** The issues of a file entry checked against `schema`, as `path: message` lines. */
export function issuesOf(
  entry: Omit<ImportFileInput, 'path' | 'topic'>,
  schema: RecordSchema = clinicalSchema,
): { path: string; message: string }[] {
  const file = importFile.parse({ path: 'x.csv', topic: 'events', ...entry });
  return compileMapping(file, schema, []).issues;
}
