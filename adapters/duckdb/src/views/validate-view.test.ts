import type { FeatureView } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { assertValidViews, canonicalJson, viewProblems } from './validate-view.js';

const view: FeatureView = {
  name: 'vitals',
  entities: ['patient_id'],
  features: [{ name: 'hr', dtype: 'float64' }],
  ttlSeconds: 0,
  source: { path: 'gold/vitals', timestampField: 'ts' },
  version: 1,
};

describe('view validation', () => {
  it('accepts a valid view', () => {
    expect(viewProblems(view)).toEqual([]);
  });

  it('accepts entityDtypes of its join keys and names bad ones', () => {
    expect(viewProblems({ ...view, entityDtypes: { patient_id: 'int64' } })).toEqual([]);
    const problems = viewProblems({
      ...view,
      entityDtypes: { other: 'string', patient_id: 'float64' },
    } as unknown as FeatureView);
    expect(problems.join('\n')).toContain("entityDtypes names 'other'");
    expect(problems.join('\n')).toContain('entityDtypes.patient_id must be one of string, int64, int32');
  });

  it('names every problem with its field', () => {
    const bad = {
      ...view,
      name: 'has space',
      entities: ['patient_id', 'patient_id'],
      features: [
        { name: 'patient_id', dtype: 'float64' },
        { name: 'a:b', dtype: 'decimal' },
      ],
      ttlSeconds: Number.NaN,
      version: 1.5,
      source: { path: '', timestampField: '' },
    } as unknown as FeatureView;
    const problems = viewProblems(bad);
    for (const field of [
      'name',
      'entities has duplicate',
      "features[0].name 'patient_id' is also a join key",
      'features[1].name',
      'features[1].dtype',
      'ttlSeconds',
      'version',
      'source.path',
      'source.timestampField',
    ]) {
      expect(
        problems.some((p) => p.startsWith(field)),
        field,
      ).toBe(true);
    }
  });

  it('reports all views at once and a name used twice in one apply', () => {
    expect(() => assertValidViews([view, view, { ...view, name: 'x', entities: [] }])).toThrow(
      /views\[1\]\): name appears twice.*view 'x' \(views\[2\]\): entities/,
    );
  });

  it('canonical JSON ignores key order and undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: undefined, c: [2, { y: 1, x: 0 }] } })).toBe(
      canonicalJson({ a: { c: [2, { x: 0, y: 1 }] }, b: 1 }),
    );
  });
});
