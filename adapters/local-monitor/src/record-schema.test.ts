import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  findIssues,
  isValidOutcomeRecord,
  isValidPredictionRecord,
  outcomeRecordSchema,
  predictionRecordSchema,
} from './record-schema.js';

const valid = {
  predictionId: 'p-1',
  model: 'ae',
  version: 'v1',
  entityKey: 'k',
  score: 0.25,
  at: new Date('2026-01-02T00:00:00Z'),
  features: { alt: 1.5, hr: null },
  site: 'site-01',
  latencyMs: 0.4,
  fallback: false,
};

const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { alt: 1 });
class Box {
  alt = 1;
}

/** Per field, values the schema may reject; each is tried in place of the valid one. */
const variants: Record<string, unknown[]> = {
  predictionId: ['', 7, null, undefined, ['p']],
  model: ['', 0, undefined],
  version: ['', 1, undefined],
  entityKey: ['', undefined, {}],
  score: [Number.NaN, Number.POSITIVE_INFINITY, -0.01, 1.01, '0.5', null, undefined, 0, 1],
  at: [new Date(Number.NaN), '2026-01-02', 1_700_000_000_000, null, undefined],
  features: [
    { alt: Number.NaN },
    { alt: Number.POSITIVE_INFINITY },
    { alt: '1' },
    { alt: undefined },
    [1, 2],
    null,
    'alt',
    nullProto,
    new Box(),
    new Map([['alt', 1]]),
    {},
    undefined,
    // Feature rows: one row of a shared block, NaN missing.
    { names: ['alt', 'hr'], values: new Float32Array([9, 1.5, Number.NaN]), offset: 1 },
    { names: ['alt', 'hr'], values: new Float64Array([1.5, Number.POSITIVE_INFINITY]), offset: 0 },
    { names: ['alt', 'hr'], values: new Float32Array([1.5, 2]), offset: 1 },
    { names: ['alt', 'hr'], values: new Float32Array([1.5, 2]), offset: 0.5 },
    { names: ['alt', 'alt'], values: new Float32Array([1.5, 2]), offset: 0 },
    { names: ['alt', ''], values: new Float32Array([1.5, 2]), offset: 0 },
    { names: [], values: new Float32Array([]), offset: 0 },
    { names: ['alt', 'hr'], values: [1.5, 2], offset: 0 },
  ],
  site: ['', 3, null, undefined],
  latencyMs: [-1, Number.NaN, Number.POSITIVE_INFINITY, '1', null, undefined, 0],
  fallback: ['false', 0, null, undefined, true],
};

describe('record checks', () => {
  it('the quick prediction check never accepts a record the schema rejects, and accepts the valid one', () => {
    expect(isValidPredictionRecord(valid)).toBe(true);
    expect(predictionRecordSchema.safeParse(valid).success).toBe(true);
    let rejected = 0;
    for (const [field, values] of Object.entries(variants)) {
      for (const value of values) {
        const record = { ...valid, [field]: value };
        const schemaOk = predictionRecordSchema.safeParse(record).success;
        if (!schemaOk) rejected++;
        // Stricter or equal: quick ⇒ schema.
        if (isValidPredictionRecord(record)) expect(schemaOk, `${field} = ${inspect(value)}`).toBe(true);
      }
    }
    expect(rejected).toBeGreaterThan(30);
    for (const odd of [null, undefined, 1, 'record', [valid]]) {
      expect(isValidPredictionRecord(odd)).toBe(false);
    }
  });

  it('the quick outcome check never accepts a record the schema rejects', () => {
    const outcome = { predictionId: 'p-1', label: 1, at: new Date('2026-01-02T00:00:00Z') };
    expect(isValidOutcomeRecord(outcome)).toBe(true);
    const bad: Record<string, unknown[]> = {
      predictionId: ['', 1, undefined],
      label: [2, '1', true, null, 0.5, undefined, 0],
      at: [new Date(Number.NaN), 'x', undefined],
    };
    for (const [field, values] of Object.entries(bad)) {
      for (const value of values) {
        const record = { ...outcome, [field]: value };
        if (isValidOutcomeRecord(record)) {
          expect(outcomeRecordSchema.safeParse(record).success, `${field} = ${String(value)}`).toBe(true);
        }
      }
    }
  });

  it('records the quick check rejects still get the schema’s message, naming the field', () => {
    const issues = findIssues(
      predictionRecordSchema,
      [
        valid,
        { ...valid, score: 1.5 },
        { ...valid, features: { alt: Number.NaN } },
        { ...valid, features: { names: ['alt'], values: new Float32Array([1, 2]), offset: 0 } },
        {
          ...valid,
          features: { names: ['alt'], values: new Float32Array([Number.NEGATIVE_INFINITY]), offset: 0 },
        },
      ],
      isValidPredictionRecord,
    );
    expect(issues).toEqual([
      { index: 1, field: 'score', message: 'score must be in [0, 1], got 1.5' },
      { index: 2, field: 'features', message: 'features values must be finite numbers or null' },
      {
        index: 4,
        field: 'features',
        message:
          'features: a feature row needs non-empty distinct names, an integer offset with the row inside values, and values finite or NaN',
      },
    ]);
  });
});
