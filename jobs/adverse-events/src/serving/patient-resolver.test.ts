import {
  type FeatureAttributions,
  type FeatureStore,
  type HistoricalRequest,
  isVigilError,
  type LoadedModel,
  type OnlineRequest,
  type Trainer,
  toSequences,
} from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { PatientResolver } from './patient-resolver.js';

const DAY = 86_400_000;
const T = Date.parse('2026-03-10T00:00:00Z');
const names = ['patient_daily__alt_baseline_ratio', 'patient_profile__age'];

/** A patient's daily value of each feature on day k before T (k = 0 is T itself): known closed forms. */
const value = (patient: number, feature: number, k: number) => patient * 100 + feature * 10 - k;

/**
 * A feature store over that table: online rows at T, historical rows point-in-time at any day
 * (nothing for patient 3 before T − 2 days, as if enrolled then). Counts historical reads.
 */
class TableStore {
  historicalReads = 0;
  readonly capabilities: FeatureStore['capabilities'] = { offline: true, online: true, streamingPush: false };
  async getOnlineFeatures(request: OnlineRequest) {
    const rows = request.entityRows.map((r) => {
      const p = Number(String(r.patient_id).slice(2));
      if (p === 9) return { patient_id: r.patient_id, [names[0]!]: null, [names[1]!]: null };
      return { patient_id: r.patient_id, [names[0]!]: value(p, 0, 0), [names[1]!]: value(p, 1, 0) };
    });
    const eventTimestamps = request.entityRows.map((r) =>
      String(r.patient_id) === 'P-9'
        ? { [names[0]!]: null, [names[1]!]: null }
        : { [names[0]!]: new Date(T), [names[1]!]: new Date(T - 30 * DAY) },
    );
    return { featureNames: ['patient_id', ...names], rows, eventTimestamps };
  }
  async getHistoricalFeatures(request: HistoricalRequest) {
    this.historicalReads++;
    const rows = request.entityRows.map((r) => {
      const p = Number(String(r.patient_id).slice(2));
      const k = Math.round((T - (r.event_timestamp as Date).getTime()) / DAY);
      const known = !(p === 3 && k > 2);
      return {
        patient_id: r.patient_id,
        event_timestamp: r.event_timestamp,
        [names[0]!]: known ? value(p, 0, k) : null,
        [names[1]!]: known ? value(p, 1, k) : null,
      };
    });
    return { rows, lakeCommit: 'c', featureViews: [] };
  }
}

/**
 * The same table read dense (`getOnlineMatrix`), written here from the table itself: one time per
 * feature view and patient. Counts its reads.
 */
class MatrixTableStore extends TableStore {
  matrixReads = 0;
  override readonly capabilities = { offline: true, online: true, streamingPush: false, onlineMatrix: true };
  async getOnlineMatrix(request: OnlineRequest) {
    this.matrixReads++;
    const x: number[] = [];
    const eventTimes: number[] = [];
    for (const r of request.entityRows) {
      const p = Number(String(r.patient_id).slice(2));
      if (p === 9) x.push(Number.NaN, Number.NaN);
      else x.push(value(p, 0, 0), value(p, 1, 0));
      eventTimes.push(...(p === 9 ? [Number.NaN, Number.NaN] : [T, T - 30 * DAY]));
    }
    return {
      features: request.features.map((ref) => ref.replace(':', '__')),
      x: Float32Array.from(x),
      views: ['patient_daily', 'patient_profile'],
      eventTimes: Float64Array.from(eventTimes),
    };
  }
}

const model = (steps: number): LoadedModel => ({
  name: 'ae',
  version: '1',
  artifact: {
    format: 'onnx',
    bytes: new Uint8Array(),
    sha256: 'x',
    featureNames: names,
    inputs: [{ name: 'input', dtype: 'float32', shape: [-1, steps * names.length] }],
    outputs: [],
  } as never,
});

const resolver = (store: TableStore, trainer?: Trainer) =>
  new PatientResolver({
    store: store as unknown as FeatureStore,
    bands: { medium: 0.1, high: 0.25 },
    ...(trainer ? { trainer } : {}),
  });

describe('PatientResolver', () => {
  it('a row model reads the online row, with each feature view’s time', async () => {
    const store = new TableStore();
    const got = await resolver(store).features(model(1), ['P-1', 'P-2']);
    expect(Array.from(got.x)).toEqual([value(1, 0, 0), value(1, 1, 0), value(2, 0, 0), value(2, 1, 0)]);
    expect(got.timestamps[0]).toEqual({
      patient_daily: new Date(T).toISOString(),
      patient_profile: new Date(T - 30 * DAY).toISOString(),
    });
    expect(store.historicalReads).toBe(0);
  });

  it('a sequence model reads the online row after the L − 1 previous days, as toSequences lays them out; cached per day', async () => {
    const store = new TableStore();
    const r = resolver(store);
    const got = await r.features(model(4), ['P-1', 'P-3']);
    // Expected: the same rows put through toSequences, oldest day first (NaN where P-3 had none).
    const rows: number[] = [];
    const groups: string[] = [];
    const at: number[] = [];
    for (const p of [1, 3])
      for (let k = 3; k >= 0; k--) {
        const known = !(p === 3 && k > 2);
        rows.push(known ? value(p, 0, k) : Number.NaN, known ? value(p, 1, k) : Number.NaN);
        groups.push(`P-${p}`);
        at.push(T - k * DAY);
      }
    const all = toSequences({ featureNames: names, x: Float32Array.from(rows), groups, at }, 4);
    const width = 4 * names.length;
    const expected = [...all.subarray(3 * width, 4 * width), ...all.subarray(7 * width, 8 * width)];
    expect(Array.from(got.x)).toEqual(expected);
    expect(store.historicalReads).toBe(1);
    await r.features(model(4), ['P-1']);
    expect(store.historicalReads).toBe(1);
  });

  it('a store with onlineMatrix is read dense, with the same rows, times and refusals as from its rows', async () => {
    for (const steps of [1, 4]) {
      const rows = await resolver(new TableStore()).features(model(steps), ['P-1', 'P-3', 'P-2']);
      const dense = new MatrixTableStore();
      const got = await resolver(dense).features(model(steps), ['P-1', 'P-3', 'P-2']);
      expect(dense.matrixReads).toBe(1);
      expect(Array.from(got.x)).toEqual(Array.from(rows.x));
      expect(got.timestamps).toEqual(rows.timestamps);
    }
    const error = await resolver(new MatrixTableStore())
      .features(model(1), ['P-1', 'P-9'])
      .catch((e: unknown) => e);
    expect(isVigilError(error) && error.code).toBe('VIGIL_SERVER_UNKNOWN_ENTITY');
  });

  it('refuses a patient the online store does not know, without naming them', async () => {
    const error = await resolver(new TableStore())
      .features(model(1), ['P-1', 'P-9'])
      .catch((e: unknown) => e);
    expect(isVigilError(error) && error.code).toBe('VIGIL_SERVER_UNKNOWN_ENTITY');
    expect((error as Error).message).toBe('patient_id[1]: the online store has no features for this patient');
  });

  it('explains with the trainer, in clinical words; bands by the configured thresholds', async () => {
    const attributions: FeatureAttributions = {
      method: 'tree-shap',
      scoreKind: 'logit',
      featureNames: names,
      rows: 1,
      base: -2,
      values: Float64Array.from([0.9, -0.1]),
      raw: Float64Array.from([-1.2]),
      probability: Float32Array.from([0.23]),
      x: Float32Array.from([3.02, 61]),
    };
    const trainer = {
      capabilities: { gpu: false, algorithms: ['gbt'], cancellable: true, explain: true },
      explain: async () => attributions,
    } as unknown as Trainer;
    const r = resolver(new TableStore(), trainer);
    const explanation = await r.explain(model(1), Float32Array.from([3.02, 61]), 5);
    expect(explanation).toEqual({
      method: 'tree-shap',
      base: -2,
      logit: -1.2,
      drivers: [
        {
          feature: names[0],
          value: expect.closeTo(3.02, 5),
          contribution: 0.9,
          direction: 'raises',
          text: "ALT tripled since the patient's baseline (raises risk)",
        },
        {
          feature: names[1],
          value: 61,
          contribution: -0.1,
          direction: 'lowers',
          text: 'age 61 (lowers risk)',
        },
      ],
    });
    expect([0.05, 0.1, 0.2, 0.25, 0.9].map((p) => r.band(p))).toEqual([
      'low',
      'medium',
      'medium',
      'high',
      'high',
    ]);
    expect(
      () => new PatientResolver({ store: {} as FeatureStore, bands: { medium: 0.3, high: 0.2 } }),
    ).toThrow(/serve\.bands: need 0 < medium < high < 1/);
  });
});
