import { type FeatureRow, isFeatureRow } from '@vigil/core';
import { z } from 'zod';
import { isValidFeatureRow } from './feature-rows.js';

const nonEmpty = (field: string) =>
  z.string(`${field} must be a string`).min(1, `${field} must not be empty`);
const validDate = (field: string) => z.date(`${field} must be a valid Date`);

export const predictionRecordSchema = z.object({
  predictionId: nonEmpty('predictionId'),
  model: nonEmpty('model'),
  version: nonEmpty('version'),
  entityKey: nonEmpty('entityKey'),
  score: z
    .number('score must be a finite number')
    .min(0, 'score must be in [0, 1]')
    .max(1, 'score must be in [0, 1]'),
  at: validDate('at'),
  features: z
    .union(
      [
        z.record(z.string(), z.number('features values must be finite numbers or null').nullable()),
        z.custom<FeatureRow>(isValidFeatureRow),
      ],
      {
        error: (issue) =>
          isFeatureRow(issue.input)
            ? 'features: a feature row needs non-empty distinct names, an integer offset with the row inside values, and values finite or NaN'
            : 'features values must be finite numbers or null',
      },
    )
    .optional(),
  site: nonEmpty('site').optional(),
  latencyMs: z.number('latencyMs must be a finite number').min(0, 'latencyMs must be ≥ 0').optional(),
  fallback: z.boolean('fallback must be a boolean').optional(),
  shadowOf: nonEmpty('shadowOf').optional(),
});

export const outcomeRecordSchema = z.object({
  predictionId: nonEmpty('predictionId'),
  label: z.union([z.literal(0), z.literal(1)], 'label must be 0 or 1'),
  at: validDate('at'),
});

const isNonEmpty = (v: unknown) => typeof v === 'string' && v.length > 0;
const isValidDate = (v: unknown) => v instanceof Date && !Number.isNaN(v.getTime());
const isOptional = (v: unknown, check: (v: unknown) => boolean) => v === undefined || check(v);

function isFeatureMap(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key of Object.keys(v)) {
    const value = (v as Record<string, unknown>)[key];
    if (value !== null && !(typeof value === 'number' && Number.isFinite(value))) return false;
  }
  return true;
}

/**
 * A quick check that a record is a valid prediction record: never true for a record
 * `predictionRecordSchema` rejects (it may say false of one it accepts, which then goes to
 * the schema). Records a server built itself pass it without the schema's per-field work;
 * the schema still words the message of every record that fails it.
 */
export function isValidPredictionRecord(record: unknown): boolean {
  if (record === null || typeof record !== 'object') return false;
  const r = record as Record<string, unknown>;
  const { score, latencyMs } = r;
  return (
    isNonEmpty(r.predictionId) &&
    isNonEmpty(r.model) &&
    isNonEmpty(r.version) &&
    isNonEmpty(r.entityKey) &&
    typeof score === 'number' &&
    score >= 0 &&
    score <= 1 &&
    isValidDate(r.at) &&
    isOptional(r.features, (v) => isFeatureMap(v) || isValidFeatureRow(v)) &&
    isOptional(r.site, isNonEmpty) &&
    (latencyMs === undefined || (typeof latencyMs === 'number' && latencyMs >= 0 && latencyMs < Infinity)) &&
    isOptional(r.fallback, (v) => typeof v === 'boolean') &&
    isOptional(r.shadowOf, isNonEmpty)
  );
}

/** The same quick check for outcome records (see {@link isValidPredictionRecord}). */
export function isValidOutcomeRecord(record: unknown): boolean {
  if (record === null || typeof record !== 'object') return false;
  const r = record as Record<string, unknown>;
  return isNonEmpty(r.predictionId) && (r.label === 0 || r.label === 1) && isValidDate(r.at);
}

export interface RecordIssue {
  /** Position of the record in the batch. */
  index: number;
  /** Top-level field at fault (`record` when the record itself is not an object). */
  field: string;
  message: string;
}

/** Fields whose offending value may be echoed in messages: they never identify a patient. */
const ECHOED = new Set(['score', 'label', 'at', 'latencyMs', 'fallback']);

function describeValue(value: unknown): string {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40));
  return value === null ? 'null' : typeof value;
}

/**
 * Check every record of a batch; returns the issues (at most one per record, the first
 * field at fault), each naming the field and the reason. Identifiers are never echoed.
 * A record that passes `quick` (a check never more lenient than the schema) skips the schema.
 */
export function findIssues(
  schema: z.ZodType,
  records: readonly unknown[],
  quick?: (record: unknown) => boolean,
): RecordIssue[] {
  const issues: RecordIssue[] = [];
  records.forEach((record, index) => {
    if (quick?.(record)) return;
    const result = schema.safeParse(record);
    if (result.success) return;
    const first = result.error.issues[0];
    const field = first?.path.length ? String(first.path[0]) : 'record';
    const value = field !== 'record' ? (record as Record<string, unknown>)[field] : undefined;
    const reason = field === 'record' ? 'must be an object' : (first?.message ?? `${field} is invalid`);
    issues.push({
      index,
      field,
      message: ECHOED.has(field) ? `${reason}, got ${describeValue(value)}` : reason,
    });
  });
  return issues;
}
