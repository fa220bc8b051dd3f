import { isVigilError, type VigilError } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { buildCatalog, DEFAULT_CATALOG, measuresConfigSchema, signsConfigSchema } from './catalog-config.js';
import { MEASURES, SYMPTOM_NAMES } from './measure-catalog.js';

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(isVigilError(error, 'VIGIL_CONFIG_INVALID')).toBe(true);
    return ((error as VigilError).details!.issues as { path: string; message: string }[]).map(
      (i) => `${i.path}: ${i.message}`,
    );
  }
  throw new Error('expected a config error');
}

describe('catalogue', () => {
  it('is the built-in measures and symptoms by default', () => {
    expect(Object.keys(DEFAULT_CATALOG.measures)).toEqual(Object.keys(MEASURES));
    expect(DEFAULT_CATALOG.measures.temperature).toMatchObject({
      kind: 'vital',
      canonicalUnit: '°C',
      min: 30,
      max: 44,
      static: false,
      builtIn: true,
    });
    expect(DEFAULT_CATALOG.measures.temperature!.units).toEqual(MEASURES.temperature.units);
    expect(Object.keys(DEFAULT_CATALOG.signs)).toEqual([...SYMPTOM_NAMES]);
    expect(DEFAULT_CATALOG.signs.rash).toEqual({ scale: 'graded', max: 10, builtIn: true });
    expect(buildCatalog()).toEqual(DEFAULT_CATALOG);
    expect(Object.isFrozen(DEFAULT_CATALOG.measures)).toBe(true);
  });

  it('adds config measures and signs and lets one replace a built-in', () => {
    const catalog = buildCatalog({
      measures: [
        {
          name: 'platelets',
          kind: 'lab',
          unit: '10^9/L',
          units: { '10^3/µL': { factor: 1 }, '/mm3': { factor: 0.001 } },
          range: [1, 2000],
          description: 'Platelet count',
        },
        {
          name: 'height',
          kind: 'vital',
          unit: 'cm',
          units: { in: { factor: 2.54 } },
          range: [100, 230],
          static: true,
        },
        { name: 'heart_rate', kind: 'vital', unit: 'bpm', range: [30, 220] },
      ],
      signs: [
        { name: 'jaundice', scale: 'binary' },
        { name: 'pain', scale: 'graded', max: 4 },
        { name: 'itch', scale: 'graded' },
      ],
    });
    expect(catalog.measures.platelets).toEqual({
      kind: 'lab',
      canonicalUnit: '10^9/L',
      units: [
        { unit: '10^9/L', factor: 1, offset: 0 },
        { unit: '10^3/µL', factor: 1, offset: 0 },
        { unit: '/mm3', factor: 0.001, offset: 0 },
      ],
      min: 1,
      max: 2000,
      static: false,
      description: 'Platelet count',
      builtIn: false,
    });
    expect(catalog.measures.height).toMatchObject({ static: true, kind: 'vital' });
    // Replaced: its own range and units only (beats/min no longer accepted).
    expect(catalog.measures.heart_rate).toMatchObject({ min: 30, max: 220, builtIn: false });
    expect(catalog.measures.heart_rate!.units.map((u) => u.unit)).toEqual(['bpm']);
    expect(catalog.measures.alt).toEqual(DEFAULT_CATALOG.measures.alt);
    expect(catalog.signs.jaundice).toEqual({ scale: 'binary', max: 1, builtIn: false });
    expect(catalog.signs.pain!.max).toBe(4);
    expect(catalog.signs.itch!.max).toBe(10);
    expect(catalog.signs.fatigue).toEqual(DEFAULT_CATALOG.signs.fatigue);
    // The built-in catalogue is untouched.
    expect(DEFAULT_CATALOG.measures.heart_rate!.min).toBe(20);
  });

  it('reports every invalid combination with its path', () => {
    const issues = issuesOf(() =>
      buildCatalog({
        measures: [
          {
            name: 'platelets',
            kind: 'lab',
            unit: '10^9/L',
            units: { '10^9/L': { factor: 1 } },
            range: [10, 1],
          },
          { name: 'platelets', kind: 'lab', unit: 'x', range: [0, 1] },
          { name: 'ferritin', kind: 'lab', unit: 'ng/mL', units: { 'µg/L': { factor: 0 } }, range: [0, 1] },
          { name: 'bad name', kind: 'lab', unit: 'x', range: [0, 1] },
        ],
        signs: [
          { name: 'jaundice', scale: 'binary', max: 3 },
          { name: 'jaundice', scale: 'graded' },
        ],
      }),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        'job.data.measures.0.range: min 10 is greater than max 1',
        "job.data.measures.0.units.10^9/L: '10^9/L' is the canonical unit; list only the other accepted units",
        expect.stringMatching(
          /^job\.data\.measures\.2\.units\.µg\/L\.factor: factor must be a finite non-zero/,
        ),
        expect.stringMatching(/^job\.data\.measures\.3\.name: a measure name is an identifier/),
        'job.data.signs.0.max: a binary sign has max 1; remove `max`',
      ]),
    );
    // Cross-entry checks run once each entry is valid on its own.
    expect(
      issuesOf(() =>
        buildCatalog(
          {
            measures: [
              { name: 'platelets', kind: 'lab', unit: 'x', range: [0, 1] },
              { name: 'platelets', kind: 'lab', unit: 'x', range: [0, 1] },
              { name: 'alt', kind: 'vital', unit: 'U/L', range: [0, 1] },
            ],
            signs: [
              { name: 'jaundice', scale: 'binary' },
              { name: 'jaundice', scale: 'graded' },
            ],
          },
          { path: 'data' },
        ),
      ),
    ).toEqual([
      "data.measures.1.name: duplicate measure 'platelets'",
      "data.signs.1.name: duplicate sign 'jaundice'",
    ]);
    expect(
      issuesOf(() =>
        buildCatalog({ measures: [{ name: 'alt', kind: 'vital', unit: 'U/L', range: [0, 1] }] }),
      ),
    ).toEqual([
      "job.data.measures.0.kind: 'alt' is a built-in lab; a measure that replaces it keeps its kind",
    ]);
  });

  it('describes every field of its schemas', () => {
    const undescribed: string[] = [];
    const seen: string[] = [];
    const walk = (schema: unknown, path: string) => {
      const s = schema as {
        description?: string;
        def?: Record<string, unknown>;
        shape?: Record<string, unknown>;
      };
      const def = s.def ?? {};
      if (def.type === 'object') {
        for (const [key, field] of Object.entries(s.shape ?? {})) {
          seen.push(`${path}.${key}`);
          if (!(field as { description?: string }).description) undescribed.push(`${path}.${key}`);
          walk(field, `${path}.${key}`);
        }
      }
      for (const inner of ['innerType', 'element', 'valueType'] as const)
        if (def[inner]) walk(def[inner], path);
      if (Array.isArray(def.options)) for (const o of def.options) walk(o, path);
      if (Array.isArray(def.items)) for (const o of def.items) walk(o, path);
    };
    walk(measuresConfigSchema, 'measures');
    walk(signsConfigSchema, 'signs');
    expect(seen).toEqual(expect.arrayContaining(['measures.units', 'measures.units.factor', 'signs.max']));
    expect(undescribed).toEqual([]);
  });
});
