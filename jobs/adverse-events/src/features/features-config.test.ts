import { describe, expect, it } from 'vitest';
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
        expect.stringMatching(/^views\.0\.features\.1\.transform\.of: unknown measure/),
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
});
