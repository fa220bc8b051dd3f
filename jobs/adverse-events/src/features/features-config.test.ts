import { isVigilError, type VigilError } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { buildCatalog } from '../medallion/catalog-config.js';
import { durationSeconds, formatDuration } from './duration.js';
import { compileFeatureDefinitions } from './feature-definitions.js';
import { featuresConfigSchema } from './features-config.js';

const good = {
  entities: [{ name: 'patient', joinKey: 'patient_id' }],
  views: [
    {
      name: 'vitals_window',
      entities: ['patient'],
      ttl: '48h',
      version: 3,
      input: {},
      features: [
        {
          name: 'hr_var_24h',
          transform: { kind: 'window', of: 'heart_rate', fn: 'variance', window: '24h' },
        },
        { name: 'hr_n_7d', transform: { kind: 'window', of: 'heart_rate', fn: 'count', window: 604800 } },
      ],
    },
    {
      name: 'profile',
      entities: ['patient'],
      version: 1,
      source: { path: 'gold/patients/', timestampField: 'enrolled_at' },
      features: [{ name: 'age', dtype: 'int64' }],
    },
  ],
};

describe('features config', () => {
  it('parses durations', () => {
    expect([
      durationSeconds('2d'),
      durationSeconds('48h'),
      durationSeconds('90m'),
      durationSeconds('30s'),
      durationSeconds(120),
      durationSeconds('600'),
    ]).toEqual([172_800, 172_800, 5400, 30, 120, 600]);
    expect(durationSeconds('two days')).toBeUndefined();
    expect([formatDuration(172_800), formatDuration(86_400), formatDuration(90), formatDuration(0)]).toEqual([
      '2d',
      '24h',
      '90s',
      '0s',
    ]);
  });

  it('compiles views: join keys, ttl, window source path, dtypes and transform in the description', () => {
    const defs = compileFeatureDefinitions(featuresConfigSchema.parse(good));
    expect(defs.fromConfig).toBe(true);
    const [w, p] = defs.views;
    expect(w).toMatchObject({
      name: 'vitals_window',
      entities: ['patient_id'],
      ttlSeconds: 172_800,
      version: 3,
      source: { path: 'features/vitals_window/v3/', timestampField: 'event_timestamp' },
    });
    expect(w!.features).toEqual([
      { name: 'hr_var_24h', dtype: 'float64', description: 'window variance(heart_rate) over 24h' },
      { name: 'hr_n_7d', dtype: 'int64', description: 'window count(heart_rate) over 7d' },
    ]);
    expect(defs.windowed[0]).toMatchObject({
      joinKey: 'patient_id',
      input: { path: 'silver/vitals/', topic: 'vitals' },
    });
    expect(p).toMatchObject({ name: 'profile', ttlSeconds: 0, source: { path: 'gold/patients/' } });
  });

  it('falls back to the job’s built-in views when config declares none', () => {
    const defs = compileFeatureDefinitions(featuresConfigSchema.parse({}));
    expect(defs.fromConfig).toBe(false);
    expect(defs.views.map((v) => v.name)).toEqual(['patient_daily', 'patient_profile']);
  });

  it('reports every problem with its path', () => {
    const bad = structuredClone(good) as unknown as { views: Record<string, unknown>[]; services?: unknown };
    bad.views[0]!.ttl = 'soon';
    bad.views[0]!.entities = ['visit'];
    (bad.views[0]!.features as Record<string, unknown>[])[0]!.dtype = 'int64';
    (bad.views[0]!.features as Record<string, unknown>[])[1]!.transform = {
      kind: 'window',
      of: 'pulse',
      fn: 'median',
      window: '0h',
    };
    delete bad.views[1]!.source;
    bad.services = [{ name: 's', features: ['profile:nope'] }];
    const result = featuresConfigSchema.safeParse(bad);
    expect(result.success).toBe(false);
    const issues = result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^views\.0\.ttl: ttl: expected a duration/),
        expect.stringMatching(/^views\.0\.features\.1\.transform\.fn:/),
        expect.stringMatching(/^views\.0\.features\.1\.transform\.window:/),
        expect.stringMatching(/^views\.1\.source: a view without window features needs `source`/),
      ]),
    );
    // Cross-field checks run once the fields themselves are valid.
    const mismatch = structuredClone(good) as unknown as {
      views: Record<string, unknown>[];
      services?: unknown;
    };
    (mismatch.views[0]!.features as Record<string, unknown>[])[0]!.dtype = 'int64';
    mismatch.views[1]!.entities = ['visit'];
    mismatch.services = [{ name: 's', features: ['profile:nope'] }];
    const second = featuresConfigSchema.safeParse(mismatch);
    expect(second.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(
      expect.arrayContaining(['views.0.features.0.dtype: variance produces float64, not int64']),
    );
    mismatch.views[0]! = good.views[0]!;
    const third = featuresConfigSchema.safeParse(mismatch);
    expect(third.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      "views.1.entities.0: unknown entity 'visit' (declared: patient)",
      "services.0.features.0: unknown feature 'profile:nope'",
    ]);
  });

  const TRANSFORMS = {
    entities: [{ name: 'patient', joinKey: 'patient_id' }],
    views: [
      {
        name: 'labs_window',
        entities: ['patient'],
        version: 1,
        input: { path: 'silver/labs/', topic: 'labs' },
        features: [
          { name: 'alt_dev', transform: { kind: 'baseline', of: 'alt', period: '7d' } },
          {
            name: 'alt_dev_mean',
            transform: { kind: 'baseline', of: 'alt', period: '7d', fn: 'mean', window: '3d' },
          },
          { name: 'alt_roc', transform: { kind: 'rate', of: 'alt', window: '7d' } },
          { name: 'alt_high', transform: { kind: 'threshold', of: 'alt', above: 120 } },
          {
            name: 'plt_low',
            transform: { kind: 'threshold', of: 'platelets', below: 50, fn: 'min', window: '2d' },
          },
          { name: 'alt_x_high', transform: { kind: 'interaction', of: ['alt_roc', 'alt_high'] } },
          { name: 'plt_missing', transform: { kind: 'missing', of: 'platelets', window: '10d' } },
          { name: 'since_plt', transform: { kind: 'since', of: 'platelets', unit: 'h' } },
          { name: 'egfr0', transform: { kind: 'static', of: 'egfr_baseline' } },
        ],
      },
    ],
  };
  const CATALOG = buildCatalog({
    measures: [
      { name: 'platelets', kind: 'lab', unit: '10^9/L', range: [1, 2000] },
      { name: 'egfr_baseline', kind: 'lab', unit: 'mL/min', range: [1, 200], static: true },
    ],
  });

  it('compiles every transform kind over catalogue measures, lab views included', () => {
    const defs = compileFeatureDefinitions(featuresConfigSchema.parse(TRANSFORMS), CATALOG);
    const [w] = defs.windowed;
    expect(w!.input).toEqual({ path: 'silver/labs/', topic: 'labs' });
    expect(w!.view.features).toEqual([
      {
        name: 'alt_dev',
        dtype: 'float64',
        description: 'baseline latest alt minus mean(alt) over the first 7d',
      },
      {
        name: 'alt_dev_mean',
        dtype: 'float64',
        description: 'baseline mean(alt) over 3d minus mean(alt) over the first 7d',
      },
      { name: 'alt_roc', dtype: 'float64', description: 'rate of change of alt over 7d per 24h' },
      { name: 'alt_high', dtype: 'int64', description: 'threshold latest alt > 120' },
      { name: 'plt_low', dtype: 'int64', description: 'threshold min(platelets) over 2d < 50' },
      { name: 'alt_x_high', dtype: 'float64', description: 'interaction alt_roc × alt_high' },
      { name: 'plt_missing', dtype: 'int64', description: 'missing platelets over 10d' },
      { name: 'since_plt', dtype: 'float64', description: 'time since platelets in h' },
      { name: 'egfr0', dtype: 'float64', description: 'static egfr_baseline' },
    ]);
    expect(w!.features.map((f) => [f.kind, f.of, f.fn, f.windowSeconds])).toEqual([
      ['baseline', 'alt', 'last', 0],
      ['baseline', 'alt', 'mean', 259_200],
      ['rate', 'alt', 'last', 604_800],
      ['threshold', 'alt', 'last', 0],
      ['threshold', 'platelets', 'min', 172_800],
      ['interaction', '', 'last', 0],
      ['missing', 'platelets', 'count', 864_000],
      ['since', 'platelets', 'last', 0],
      ['static', 'egfr_baseline', 'last', 0],
    ]);
    expect(w!.features[0]!.baselineSeconds).toBe(604_800);
    expect(w!.features[2]!.perSeconds).toBe(86_400);
    expect(w!.features[4]!.threshold).toEqual({ op: '<', value: 50 });
    expect(w!.features[5]!.operands).toEqual(['alt_roc', 'alt_high']);
    expect(w!.features[7]!.unitSeconds).toBe(3600);
  });

  it('checks measures against the catalogue when compiling, naming the path', () => {
    const config = featuresConfigSchema.parse(TRANSFORMS);
    let error: unknown;
    try {
      compileFeatureDefinitions(config); // the built-in catalogue has no platelets and no static measure
    } catch (e) {
      error = e;
    }
    expect(isVigilError(error, 'VIGIL_CONFIG_INVALID')).toBe(true);
    const issues = ((error as VigilError).details!.issues as { path: string; message: string }[]).map(
      (i) => `${i.path}: ${i.message}`,
    );
    expect(issues).toEqual([
      expect.stringMatching(
        /^features\.views\.0\.features\.4\.transform\.of: unknown measure 'platelets' \(known: heart_rate/,
      ),
      expect.stringMatching(/^features\.views\.0\.features\.6\.transform\.of: unknown measure 'platelets'/),
      expect.stringMatching(/^features\.views\.0\.features\.7\.transform\.of: unknown measure 'platelets'/),
      expect.stringMatching(
        /^features\.views\.0\.features\.8\.transform\.of: unknown measure 'egfr_baseline'/,
      ),
    ]);
    const vitals = structuredClone(TRANSFORMS);
    vitals.views[0]!.input = { path: 'silver/vitals/', topic: 'vitals' };
    vitals.views[0]!.features = [
      { name: 'alt_high', transform: { kind: 'threshold', of: 'alt', above: 120 } },
      { name: 'hr0', transform: { kind: 'static', of: 'heart_rate' } },
    ] as never;
    expect(() =>
      compileFeatureDefinitions(featuresConfigSchema.parse(vitals), CATALOG, { path: 'x' }),
    ).toThrow(
      /x\.views\.0\.features\.0\.transform\.of: 'alt' is a lab: it is in silver\/labs\/, not in silver\/vitals\/[\s\S]*x\.views\.0\.features\.1\.transform\.of: 'heart_rate' is not a static measure/,
    );
  });

  it('rejects malformed transforms with their paths', () => {
    const bad = structuredClone(TRANSFORMS);
    bad.views[0]!.features = [
      { name: 'a', transform: { kind: 'threshold', of: 'alt' } },
      { name: 'b', transform: { kind: 'baseline', of: 'alt', period: '7d', fn: 'mean' } },
      { name: 'c', transform: { kind: 'interaction', of: ['a', 'later'] } },
      { name: 'd', dtype: 'float64', transform: { kind: 'missing', of: 'alt', window: '1d' } },
      { name: 'later', transform: { kind: 'since', of: 'alt', unit: 'y' } },
    ] as never;
    const result = featuresConfigSchema.safeParse(bad);
    expect(result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'views.0.features.0.transform.above: give exactly one of above and below',
      'views.0.features.1.transform.window: fn mean needs a window (without one the current value is the latest reading)',
      expect.stringMatching(/^views\.0\.features\.4\.transform\.unit:/),
    ]);
    (bad.views[0]!.features[4] as { transform: { unit: string } }).transform.unit = 'h';
    (bad.views[0]!.features[0] as { transform: { above?: number } }).transform.above = 1;
    (bad.views[0]!.features[1] as { transform: { window?: string } }).transform.window = '1d';
    const second = featuresConfigSchema.safeParse(bad);
    expect(second.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      "views.0.features.2.transform.of.1: 'later' is not a feature declared earlier in this view",
      'views.0.features.3.dtype: missing produces int64, not float64',
    ]);
  });
});
