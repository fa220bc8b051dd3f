import { duckdbFeatureStore, parquetFromRows } from '@vigil/adapter-duckdb';
import { localLake } from '@vigil/adapter-local-lake';
import type { FeatureStore, LakeStore, SourceRecord } from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import {
  compileFeatureDefinitions,
  type FeatureDefinitions,
  featuresConfigSchema,
} from '@vigil/job-adverse-events';

/** A windowed view over vitals, declared the way a user writes it in the config's `features` section. */
export const WINDOW_CONFIG = {
  entities: [{ name: 'patient', joinKey: 'patient_id' }],
  views: [
    {
      name: 'vitals_window',
      entities: ['patient'],
      ttl: '7d',
      version: 1,
      input: { path: 'silver/vitals/', topic: 'vitals' },
      features: [
        { name: 'hr_mean_24h', transform: { kind: 'window', of: 'heart_rate', fn: 'mean', window: '24h' } },
        {
          name: 'hr_var_24h',
          transform: { kind: 'window', of: 'heart_rate', fn: 'variance', window: '24h' },
        },
        { name: 'hr_count_24h', transform: { kind: 'window', of: 'heart_rate', fn: 'count', window: '24h' } },
        { name: 'hr_min_7d', transform: { kind: 'window', of: 'heart_rate', fn: 'min', window: '7d' } },
        { name: 'hr_max_7d', transform: { kind: 'window', of: 'heart_rate', fn: 'max', window: '7d' } },
        { name: 'spo2_last_24h', transform: { kind: 'window', of: 'spo2', fn: 'last', window: '24h' } },
        { name: 'temp_max_48h', transform: { kind: 'window', of: 'temperature', fn: 'max', window: '48h' } },
      ],
    },
    {
      name: 'vitals_derived',
      entities: ['patient'],
      ttl: '7d',
      version: 1,
      input: { path: 'silver/vitals/', topic: 'vitals' },
      features: [
        { name: 'hr_dev', transform: { kind: 'baseline', of: 'heart_rate', period: '2d' } },
        {
          name: 'hr_dev_12h',
          transform: { kind: 'baseline', of: 'heart_rate', period: '2d', fn: 'mean', window: '12h' },
        },
        { name: 'temp_roc', transform: { kind: 'rate', of: 'temperature', window: '48h', per: '1h' } },
        { name: 'spo2_low', transform: { kind: 'threshold', of: 'spo2', below: 94 } },
        {
          name: 'hr_high',
          transform: { kind: 'threshold', of: 'heart_rate', above: 90, fn: 'max', window: '24h' },
        },
        { name: 'roc_x_low', transform: { kind: 'interaction', of: ['temp_roc', 'spo2_low'] } },
        { name: 'temp_missing', transform: { kind: 'missing', of: 'temperature', window: '24h' } },
        { name: 'since_spo2', transform: { kind: 'since', of: 'spo2', unit: 'h' } },
      ],
    },
  ],
  services: [{ name: 'vitals', features: ['vitals_window:hr_mean_24h', 'vitals_window:hr_var_24h'] }],
};

export function windowDefinitions(): FeatureDefinitions {
  return compileFeatureDefinitions(featuresConfigSchema.parse(WINDOW_CONFIG));
}

/** A vital reading as the simulator emits it (raw) and as silver stores it (normalised). */
export interface Reading {
  patientId: string;
  observedAt: Date;
  measure: 'heart_rate' | 'spo2' | 'temperature';
  /** Value in the reported unit. */
  value: number;
  unit: string;
  /** Value in the canonical unit (what silver holds). */
  canonical: number;
}

export interface StoreWiring {
  lake: LakeStore;
  store: FeatureStore;
  ctx: TestContext;
  close(): Promise<void>;
}

/** A real local lake plus a DuckDB feature store in a temporary workdir. */
export async function openStore(): Promise<StoreWiring> {
  const lakeCtx = await createTestContext();
  const lake = await localLake.create(localLake.config.parse({}), lakeCtx);
  const ctx = await createTestContext({ workdir: lakeCtx.workdir, ports: { 'lake-store': lake } });
  const store = await duckdbFeatureStore.create(
    duckdbFeatureStore.config.parse({ threads: 1, memoryLimit: '256MB' }),
    ctx,
  );
  return {
    lake,
    store,
    ctx,
    async close() {
      await store.close();
      await lake.close();
      await lakeCtx.cleanup();
    },
  };
}

/** Stage and commit readings as the silver vitals table. */
export async function writeSilverVitals(lake: LakeStore, readings: readonly Reading[]): Promise<void> {
  const bytes = await parquetFromRows(
    [
      { name: 'patient_id', dtype: 'string' },
      { name: 'observed_at', dtype: 'timestamp' },
      { name: 'measure', dtype: 'string' },
      { name: 'value', dtype: 'float64' },
    ],
    readings.map((r) => ({
      patient_id: r.patientId,
      observed_at: r.observedAt,
      measure: r.measure,
      value: r.canonical,
    })),
  );
  await lake.put(lake.defaultBranch, 'silver/vitals/part-0.parquet', bytes);
  await lake.commit(lake.defaultBranch, 'silver vitals');
}

/** The raw event payload the simulator produces for a reading. */
export function rawEvent(r: Reading, i: number): string {
  return JSON.stringify({
    eventId: `e-${i}`,
    kind: 'vital',
    patientId: r.patientId,
    siteId: 'site-01',
    origin: 'device',
    observedAt: r.observedAt.toISOString(),
    recordedAt: r.observedAt.toISOString(),
    measure: r.measure,
    value: r.value,
    unit: r.unit,
  });
}

/** Readings as Source records on `vitals` (one partition, arrival order). */
export function asRecords(readings: readonly Reading[]): SourceRecord[] {
  return readings.map((r, i) => ({
    topic: 'vitals',
    partition: 0,
    offset: String(i),
    key: 'site-01',
    value: new TextEncoder().encode(rawEvent(r, i)),
    headers: {},
    timestamp: Date.now(),
  }));
}
