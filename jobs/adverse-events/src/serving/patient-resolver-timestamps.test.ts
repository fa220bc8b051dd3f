import type { FeatureStore, LoadedModel, OnlineRequest, OnlineResult, ScalarValue } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { PatientResolver } from './patient-resolver.js';

const NAMES = ['labs__alt', 'labs__ast', 'vitals__hr', 'vitals__temp', 'profile__age'];

const model: LoadedModel = {
  name: 'ae',
  version: '1',
  artifact: {
    format: 'onnx',
    bytes: new Uint8Array([1]),
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, NAMES.length] }],
    outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }],
    featureNames: NAMES,
    sha256: '',
  },
};

const at = (iso: string) => new Date(iso);

/**
 * The FeatureStore port answering `getOnlineFeatures` from a table of stored rows (values and
 * each column's event time, as the duckdb and redis stores report them); it keeps the requests.
 */
class TableStore {
  readonly capabilities = { offline: false, online: true, streamingPush: false };
  readonly requests: OnlineRequest[] = [];
  constructor(
    readonly table: Map<string, { values: Record<string, ScalarValue>; times: Record<string, Date | null> }>,
  ) {}
  async getOnlineFeatures(request: OnlineRequest): Promise<OnlineResult> {
    this.requests.push(request);
    const columns = request.features.map((ref) => ref.replace(':', '__'));
    const rows = request.entityRows.map((row) => {
      const hit = this.table.get(String(row.patient_id));
      return Object.fromEntries([
        ['patient_id', row.patient_id ?? null],
        ...columns.map((c) => [c, hit?.values[c] ?? null]),
      ]) as Record<string, ScalarValue>;
    });
    const eventTimestamps = request.entityRows.map((row) => {
      const hit = this.table.get(String(row.patient_id));
      return Object.fromEntries(columns.map((c) => [c, hit?.times[c] ?? null]));
    });
    return { featureNames: ['patient_id', ...columns], rows, eventTimestamps };
  }
}

const labsAt = at('2026-01-02T08:00:00.000Z');
const vitalsAt = at('2026-01-02T09:30:00.000Z');
const table = new Map([
  [
    'P1',
    {
      values: { labs__alt: 40, labs__ast: 30, vitals__hr: 80, vitals__temp: 37.1, profile__age: 61 },
      times: {
        labs__alt: labsAt,
        labs__ast: labsAt,
        vitals__hr: vitalsAt,
        vitals__temp: vitalsAt,
        profile__age: null,
      },
    },
  ],
  [
    // A store that reports one time per feature, and they differ within `vitals`.
    'P2',
    {
      values: { labs__alt: 41, labs__ast: null, vitals__hr: 90, vitals__temp: null, profile__age: 70 },
      times: {
        labs__alt: labsAt,
        labs__ast: labsAt,
        vitals__hr: vitalsAt,
        vitals__temp: labsAt,
        profile__age: labsAt,
      },
    },
  ],
]);

function resolver() {
  const store = new TableStore(table);
  return {
    store,
    resolver: new PatientResolver({
      store: store as unknown as FeatureStore,
      bands: { medium: 0.2, high: 0.5 },
    }),
  };
}

describe('patient resolver: feature times per view, and one frozen feature list', () => {
  it("answers the model's row and one time per feature view when its features share one", async () => {
    const { resolver: r } = resolver();
    const got = await r.features(model, ['P1', 'P2']);
    expect(Array.from(got.x)).toEqual(
      [40, 30, 80, 37.1, 61, 41, Number.NaN, 90, Number.NaN, 70].map(Math.fround),
    );
    expect(got.timestamps[0]).toEqual({
      labs: '2026-01-02T08:00:00.000Z',
      vitals: '2026-01-02T09:30:00.000Z',
      profile: null,
    });
    // Times that differ within a view are reported per feature.
    expect(got.timestamps[1]).toEqual({
      labs: '2026-01-02T08:00:00.000Z',
      vitals__hr: '2026-01-02T09:30:00.000Z',
      vitals__temp: '2026-01-02T08:00:00.000Z',
      profile: '2026-01-02T08:00:00.000Z',
    });
  });

  it('asks the store for the same frozen feature list on every request', async () => {
    const { resolver: r, store } = resolver();
    await r.features(model, ['P1']);
    await r.features(model, ['P2']);
    const [a, b] = store.requests;
    expect(a!.features).toBe(b!.features);
    expect(Object.isFrozen(a!.features)).toBe(true);
    expect(a!.features).toEqual(['labs:alt', 'labs:ast', 'vitals:hr', 'vitals:temp', 'profile:age']);
    expect(a!.fullFeatureNames).toBe(true);
  });
});
