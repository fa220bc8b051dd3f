import type { FeatureView } from '@vigil/core';
import { createFeatureServer, feastResponse } from '@vigil/job-adverse-events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type StoreWiring, windowDefinitions } from './window-fixture.js';

const NOW = new Date('2026-01-10T00:00:00Z');

describe('feature server: POST /get-online-features (Feast shape)', () => {
  let wiring: StoreWiring;
  let url: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    wiring = await openStore();
    const definitions = windowDefinitions();
    await wiring.store.apply(definitions.views);
    await wiring.store.push('vitals_window', [
      {
        patient_id: 'P-000001',
        event_timestamp: new Date('2026-01-09T12:00:00Z'),
        hr_mean_24h: 71.5,
        hr_var_24h: 2.25,
        hr_count_24h: 4,
        hr_min_7d: 60,
        hr_max_7d: 90,
        spo2_last_24h: null,
        temp_max_48h: 37.1,
      },
      {
        patient_id: 'P-000002',
        event_timestamp: new Date('2026-01-01T08:30:00.250Z'),
        hr_mean_24h: 80,
        hr_var_24h: null,
        hr_count_24h: 1,
        hr_min_7d: 80,
        hr_max_7d: 80,
        spo2_last_24h: 97,
        temp_max_48h: null,
      },
    ]);
    const app = await createFeatureServer({
      store: wiring.store,
      services: definitions.services,
      now: () => NOW,
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    close = async () => {
      await app.close();
      await wiring.close();
    };
  });
  afterAll(async () => close?.());

  const post = async (body: unknown, contentType = 'application/json') => {
    const res = await fetch(`${url}/get-online-features`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('answers with Feast’s column-oriented response', async () => {
    const { status, body } = await post({
      features: ['vitals_window:hr_mean_24h', 'vitals_window:hr_var_24h'],
      entities: { patient_id: ['P-000001', 'P-000002', 'P-999999'] },
    });
    expect(status).toBe(200);
    expect(body).toEqual({
      metadata: { feature_names: ['patient_id', 'hr_mean_24h', 'hr_var_24h'] },
      results: [
        {
          values: ['P-000001', 'P-000002', 'P-999999'],
          statuses: ['PRESENT', 'PRESENT', 'PRESENT'],
          event_timestamps: Array(3).fill('1970-01-01T00:00:00Z'),
        },
        expect.objectContaining({ values: [71.5, 80, null] }),
        expect.objectContaining({ values: [2.25, null, null] }),
      ],
    });
    const results = body.results as { statuses: string[]; event_timestamps: string[] }[];
    // Event timestamps come from the store: P-000002's row is older than the 7 d ttl.
    expect(results[1]!.statuses).toEqual(['PRESENT', 'OUTSIDE_MAX_AGE', 'NOT_FOUND']);
    expect(results[1]!.event_timestamps).toEqual([
      '2026-01-09T12:00:00Z',
      '2026-01-01T08:30:00.250Z',
      '1970-01-01T00:00:00Z',
    ]);
    expect(results[2]!.statuses[2]).toBe('NOT_FOUND');
  });

  it('names columns view__feature with full_feature_names and resolves feature services', async () => {
    const full = await post({
      features: ['vitals_window:hr_count_24h'],
      entities: { patient_id: ['P-000002'] },
      full_feature_names: true,
    });
    expect((full.body.metadata as { feature_names: string[] }).feature_names).toEqual([
      'patient_id',
      'vitals_window__hr_count_24h',
    ]);
    expect((full.body.results as { values: unknown[] }[])[1]!.values).toEqual([1]);
    const service = await post({ feature_service: 'vitals', entities: { patient_id: ['P-000001'] } });
    expect(service.status).toBe(200);
    expect((service.body.metadata as { feature_names: string[] }).feature_names).toEqual([
      'patient_id',
      'hr_mean_24h',
      'hr_var_24h',
    ]);
  });

  it('rejects a barrage of bad requests with a 4xx naming the field, and keeps serving', async () => {
    const cases: [unknown, number, string][] = [
      ['{not json', 400, 'body'],
      ['', 400, 'body'],
      [[], 400, 'body'],
      [null, 400, 'body'],
      [42, 400, 'body'],
      [{}, 400, 'features'],
      [{ features: [], entities: { patient_id: ['P-1'] } }, 400, 'features'],
      [{ features: 'vitals_window:hr_mean_24h', entities: { patient_id: ['P-1'] } }, 400, 'features'],
      [{ features: [42], entities: { patient_id: ['P-1'] } }, 400, 'features[0]'],
      [{ features: ['no-colon'], entities: { patient_id: ['P-1'] } }, 400, 'features[0]'],
      [{ features: ['nope:x'], entities: { patient_id: ['P-1'] } }, 404, 'features'],
      [{ features: ['vitals_window:nope'], entities: { patient_id: ['P-1'] } }, 404, 'features'],
      [{ features: ['vitals_window:hr_mean_24h'] }, 400, 'entities'],
      [{ features: ['vitals_window:hr_mean_24h'], entities: [] }, 400, 'entities'],
      [{ features: ['vitals_window:hr_mean_24h'], entities: {} }, 400, 'entities'],
      [{ features: ['vitals_window:hr_mean_24h'], entities: { patient_id: [] } }, 400, 'entities.patient_id'],
      [
        { features: ['vitals_window:hr_mean_24h'], entities: { patient_id: 'P-1' } },
        400,
        'entities.patient_id',
      ],
      [
        { features: ['vitals_window:hr_mean_24h'], entities: { patient_id: [{ a: 1 }] } },
        400,
        'entities.patient_id[0]',
      ],
      [
        { features: ['vitals_window:hr_mean_24h'], entities: { patient_id: [1.5] } },
        400,
        'entities.patient_id[0]',
      ],
      [
        { features: ['vitals_window:hr_mean_24h'], entities: { patient_id: ['a'], site: ['x', 'y'] } },
        400,
        'entities.site',
      ],
      [{ features: ['vitals_window:hr_mean_24h'], entities: { site_id: ['s'] } }, 400, 'entities.patient_id'],
      [
        { features: ['vitals_window:hr_mean_24h'], entities: { patient_id: Array(10_001).fill('P') } },
        413,
        'entities.patient_id',
      ],
      [
        {
          features: ['vitals_window:hr_mean_24h'],
          entities: { patient_id: ['P'] },
          full_feature_names: 'yes',
        },
        400,
        'full_feature_names',
      ],
      [{ feature_service: 'nope', entities: { patient_id: ['P'] } }, 404, 'feature_service'],
      [{ feature_service: 7, entities: { patient_id: ['P'] } }, 400, 'feature_service'],
      [
        {
          feature_service: 'vitals',
          features: ['vitals_window:hr_mean_24h'],
          entities: { patient_id: ['P'] },
        },
        400,
        'feature_service',
      ],
      [
        {
          features: ['vitals_window:hr_mean_24h', 'vitals_window:hr_mean_24h'],
          entities: { patient_id: ['P'] },
        },
        400,
        'features[1]',
      ],
      [
        { features: ['vitals_window:hr_mean_24h', 'other:hr_mean_24h'], entities: { patient_id: ['P'] } },
        404,
        'features',
      ],
    ];
    for (const [body, status, field] of cases) {
      const res = await post(body);
      expect({ body, status: res.status, field: res.body.field }).toEqual({
        body,
        status,
        field: expect.stringContaining(field),
      });
      expect(typeof res.body.error).toBe('string');
    }
    expect((await post('a=b', 'application/x-www-form-urlencoded')).status).toBe(415);
    const huge = await post(
      JSON.stringify({
        features: ['vitals_window:hr_mean_24h'],
        entities: { patient_id: ['x'.repeat(2_000_000)] },
      }),
    );
    expect(huge.status).toBe(413);
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(
      (await post({ features: ['vitals_window:hr_mean_24h'], entities: { patient_id: ['P-000001'] } }))
        .status,
    ).toBe(200);
  });
});

describe('feastResponse', () => {
  const view = { name: 'v', ttlSeconds: 3600 } as FeatureView;
  it('derives statuses from event timestamps and the ttl', () => {
    const response = feastResponse(
      {
        featureNames: ['k', 'f'],
        rows: [
          { k: 'a', f: 1 },
          { k: 'b', f: 2 },
          { k: 'c', f: null },
          { k: 'd', f: null },
        ],
        eventTimestamps: [
          { f: new Date('2026-01-01T09:30:00Z') },
          { f: new Date('2026-01-01T08:00:00Z') },
          { f: null },
          { f: new Date('2026-01-01T09:59:00.5Z') },
        ],
      },
      1,
      [view],
      new Date('2026-01-01T10:00:00Z'),
    );
    expect(response.results[1]).toEqual({
      values: [1, 2, null, null],
      statuses: ['PRESENT', 'OUTSIDE_MAX_AGE', 'NOT_FOUND', 'PRESENT'],
      event_timestamps: [
        '2026-01-01T09:30:00Z',
        '2026-01-01T08:00:00Z',
        '1970-01-01T00:00:00Z',
        '2026-01-01T09:59:00.500Z',
      ],
    });
  });
});
