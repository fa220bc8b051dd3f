/**
 * Interop with real Feast (PyPI, `bash scripts/services up redis feast`) over the real Redis:
 * (1) Vigil materialises and pushes through the DuckDB+Redis store → Feast's
 * `get_online_features` returns the same values; (2) Feast materialises the same Parquet →
 * Vigil's `getOnlineFeatures` returns the same values; and the hashes both wrote are
 * byte-for-byte identical. One Feast process runs every Feast step (it imports slowly).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetFromRows } from '@vigil/adapter-duckdb';
import type { FeatureRef, FeatureView, OnlineResult, ScalarValue } from '@vigil/core';
import { createTestContext } from '@vigil/core/testing';
import { Command } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisFeatureStore } from './descriptor.js';
import { entityKeyLength } from './feast-encoding/index.js';
import type { RedisFeatureStore } from './redis-feature-store.js';
import { requireFeast, runFeast, writeFeastRepo } from './testing/feast-venv.js';
import { createDuckDBRedisFixture, type RedisFixture } from './testing/fixtures.js';
import { REDIS_URL, requireRedis, uniqueProject } from './testing/redis-server.js';
import { sourceColumns } from './testing/source-columns.js';

const at = (iso: string): Date => new Date(`${iso}Z`);

const drivers: FeatureView = {
  name: 'driver_hourly',
  entities: ['driver_id'],
  entityDtypes: { driver_id: 'int64' },
  features: [
    { name: 'conv_rate', dtype: 'float32' },
    { name: 'trips', dtype: 'int64' },
    { name: 'avg_fare', dtype: 'float64' },
    { name: 'city', dtype: 'string' },
    { name: 'active', dtype: 'bool' },
    { name: 'last_trip', dtype: 'timestamp' },
  ],
  ttlSeconds: 0,
  source: { path: 'interop/drivers', timestampField: 'event_ts', createdTimestampField: 'created_ts' },
  version: 1,
};

const vitals: FeatureView = {
  name: 'vitals',
  entities: ['patient_id'],
  features: [
    { name: 'hr', dtype: 'float64' },
    { name: 'sbp', dtype: 'int32' },
  ],
  ttlSeconds: 0,
  source: { path: 'interop/vitals', timestampField: 'ts' },
  version: 1,
};

const d = (
  id: number,
  ts: string,
  rate: number,
  trips: number,
  fare: number,
  city: string | null,
  active: boolean,
  created = ts,
) => ({
  driver_id: id,
  event_ts: at(ts),
  created_ts: at(created),
  conv_rate: rate,
  trips,
  avg_fare: fare,
  city,
  active,
  last_trip: at(ts),
});

const driverRows = [
  d(1001, '2024-01-01T10:00:00', 0.25, 3, 12.5, 'Lyon', true),
  d(1001, '2024-01-01T12:00:10', 0.5, 1002, 14.125, 'Lyon', false),
  d(1002, '2024-01-01T11:00:00', 0.75, 0, 0, '', true),
  // Equal event times: the later created row wins on both sides.
  d(1003, '2024-01-01T09:30:00', 0.125, 7, -3.5, 'Nantes', true, '2024-01-01T09:31:00'),
  d(1003, '2024-01-01T09:30:00', 0.0625, 8, 99, 'Brest', false, '2024-01-01T09:35:00'),
  d(1002, '2024-01-02T11:00:00', 9, 9, 9, 'after end', true),
];

const vitalsRows = [
  { patient_id: 'p1', ts: at('2024-01-01T08:00:00'), hr: 71.5, sbp: 120 },
  { patient_id: 'p1', ts: at('2024-01-01T09:00:00'), hr: 88.25, sbp: -5 },
  { patient_id: 'p2', ts: at('2024-01-01T07:00:00'), hr: 60, sbp: 2_000_000_000 },
];

const START = '2023-12-31T00:00:00Z';
const END = '2024-01-01T23:00:00Z';
const driverFeatures = drivers.features.map((f) => `driver_hourly:${f.name}` as FeatureRef);
const vitalsFeatures: FeatureRef[] = ['vitals:hr', 'vitals:sbp'];
const driverEntities = [
  { driver_id: 1001 },
  { driver_id: 1002 },
  { driver_id: 1003 },
  { driver_id: 1004 },
  { driver_id: 4242 },
];
const patientEntities = [{ patient_id: 'p1' }, { patient_id: 'p2' }, { patient_id: 'nobody' }];

/** Feast's `to_dict()` (columns of values, datetimes as {$ts}) as Vigil-shaped rows. */
function feastRows(dict: unknown, columns: string[]): Record<string, ScalarValue>[] {
  const table = dict as Record<string, unknown[]>;
  const n = table[columns[0]!]!.length;
  return Array.from({ length: n }, (_, i) =>
    Object.fromEntries(
      columns.map((c) => {
        const v = table[c]![i];
        const ts = (v as { $ts?: number } | null)?.$ts;
        return [c, ts !== undefined ? new Date(ts * 1000).toISOString() : ((v ?? null) as ScalarValue)];
      }),
    ),
  );
}

/** Vigil's rows with the column names Feast uses with full_feature_names (`view__feature`). */
function vigilRows(result: OnlineResult): Record<string, ScalarValue>[] {
  return result.rows.map((row) => Object.fromEntries(result.featureNames.map((c) => [c, row[c] ?? null])));
}

let dir: string;
let vigil: RedisFixture;
let feastProject: string;
let feastResults: unknown[];

beforeAll(async () => {
  await requireRedis('redis feast');
  requireFeast();
  dir = await mkdtemp(join(tmpdir(), 'vigil-feast-'));
  vigil = await createDuckDBRedisFixture();
  feastProject = uniqueProject('feast_it');

  // The same Parquet files feed Vigil (through its lake) and Feast (FileSources).
  const sources: Record<string, string> = {};
  for (const [view, rows] of [
    [drivers, driverRows],
    [vitals, vitalsRows],
  ] as const) {
    sources[view.name] = join(dir, `${view.name}.parquet`);
    await writeFile(sources[view.name]!, await parquetFromRows(sourceColumns(view, rows), rows));
  }

  // Vigil writes project A: materialise, then push a new driver and a stale row (skipped).
  await vigil.impl.apply([drivers, vitals]);
  await vigil.seed(drivers, driverRows);
  const ref = await vigil.seed(vitals, vitalsRows);
  await vigil.impl.materialize({ start: new Date(START), end: new Date(END), ref });
  await vigil.impl.push('driver_hourly', [
    { ...d(1004, '2024-01-01T13:00:00', 0.5, 1, 2, 'Paris', true), event_ts: at('2024-01-01T13:00:00') },
    d(1001, '2024-01-01T11:00:00', 0, 0, 0, 'stale', true),
  ]);

  const repoA = join(dir, 'repo-vigil');
  const repoB = join(dir, 'repo-feast');
  await mkdir(repoA);
  await mkdir(repoB);
  await writeFeastRepo(repoA, vigil.project);
  await writeFeastRepo(repoB, feastProject);
  const online = (repo: string) => [
    {
      op: 'online' as const,
      repo,
      features: driverFeatures,
      entity_rows: driverEntities,
      full_feature_names: true,
    },
    {
      op: 'online' as const,
      repo,
      features: vitalsFeatures,
      entity_rows: patientEntities,
      full_feature_names: true,
    },
  ];
  ({ results: feastResults } = await runFeast({
    views: [drivers, vitals],
    sources,
    steps: [
      { op: 'apply', repo: repoA },
      ...online(repoA),
      { op: 'apply', repo: repoB },
      { op: 'materialize', repo: repoB, start: START, end: END },
      ...online(repoB),
    ],
  }));
}, 240_000);

afterAll(async () => {
  await vigil?.cleanup();
  if (feastProject) {
    const { RedisOnlineStore } = await import('./online/redis-online-store.js');
    const admin = await RedisOnlineStore.connect({ url: REDIS_URL, project: feastProject });
    await admin.deleteProject();
    await admin.close();
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

const driverColumns = ['driver_id', ...drivers.features.map((f) => `driver_hourly__${f.name}`)];
const vitalsColumns = ['patient_id', 'vitals__hr', 'vitals__sbp'];

describe('interop with real Feast (Redis online store, entity key v3)', () => {
  it('Vigil writes (materialize + push) → Feast get_online_features returns the same values', async () => {
    const vigilDrivers = await vigil.impl.getOnlineFeatures({
      features: driverFeatures,
      entityRows: driverEntities,
    });
    const vigilVitals = await vigil.impl.getOnlineFeatures({
      features: vitalsFeatures,
      entityRows: patientEntities,
    });
    expect(feastRows(feastResults[1], driverColumns)).toEqual(vigilRows(vigilDrivers));
    expect(feastRows(feastResults[2], vitalsColumns)).toEqual(vigilRows(vigilVitals));
    // And the values are the expected ones (latest ≤ end, created-time tie-break, push, stale push skipped).
    expect(vigilRows(vigilDrivers).map((r) => r.driver_hourly__trips)).toEqual([1002, 0, 8, 1, null]);
    expect(vigilRows(vigilDrivers)[0]).toEqual({
      driver_id: 1001,
      driver_hourly__conv_rate: 0.5,
      driver_hourly__trips: 1002,
      driver_hourly__avg_fare: 14.125,
      driver_hourly__city: 'Lyon',
      driver_hourly__active: false,
      driver_hourly__last_trip: '2024-01-01T12:00:10.000Z',
    });
    expect(vigilRows(vigilVitals)).toEqual([
      { patient_id: 'p1', vitals__hr: 88.25, vitals__sbp: -5 },
      { patient_id: 'p2', vitals__hr: 60, vitals__sbp: 2_000_000_000 },
      { patient_id: 'nobody', vitals__hr: null, vitals__sbp: null },
    ]);
  });

  it('Feast materialises → Vigil getOnlineFeatures reads the same values', async () => {
    const ctx = await createTestContext();
    const store = (await redisFeatureStore.create(
      redisFeatureStore.config.parse({ url: REDIS_URL, project: feastProject }),
      ctx,
    )) as RedisFeatureStore;
    try {
      await store.apply([drivers, vitals]);
      const vigilDrivers = await store.getOnlineFeatures({
        features: driverFeatures,
        entityRows: driverEntities,
      });
      const vigilVitals = await store.getOnlineFeatures({
        features: vitalsFeatures,
        entityRows: patientEntities,
      });
      expect(vigilRows(vigilDrivers)).toEqual(feastRows(feastResults[5], driverColumns));
      expect(vigilRows(vigilVitals)).toEqual(feastRows(feastResults[6], vitalsColumns));
      expect(vigilRows(vigilDrivers).map((r) => r.driver_hourly__city)).toEqual([
        'Lyon',
        '',
        'Brest',
        null,
        null,
      ]);
      expect(vigilRows(vigilVitals)[0]).toEqual({ patient_id: 'p1', vitals__hr: 88.25, vitals__sbp: -5 });
    } finally {
      await store.close();
      await ctx.cleanup();
    }
  });

  it('the hashes Vigil and Feast wrote for the same rows are byte-for-byte identical', async () => {
    const client = vigil.admin.client;
    const dump = async (project: string) => {
      const out = new Map<string, Map<string, string>>();
      let cursor = '0';
      do {
        const [next, keys] = await client.scanBuffer(cursor, 'MATCH', `*${project}`, 'COUNT', 1000);
        cursor = next.toString();
        for (const key of keys) {
          if (entityKeyLength(key) !== key.length - Buffer.byteLength(project)) continue;
          const flat = await client.sendCommand(new Command('HGETALL', [key], { replyEncoding: null }));
          const fields = new Map<string, string>();
          const items = flat as Buffer[];
          for (let i = 0; i < items.length; i += 2)
            fields.set(items[i]!.toString('hex'), items[i + 1]!.toString('hex'));
          out.set(key.subarray(0, entityKeyLength(key)).toString('hex'), fields);
        }
      } while (cursor !== '0');
      return out;
    };
    const ours = await dump(vigil.project);
    const theirs = await dump(feastProject);
    // Vigil also holds driver 1004, which only a push wrote.
    const pushed = vigil.admin.key(drivers, [1004]);
    const pushedEntity = pushed.subarray(0, entityKeyLength(pushed)).toString('hex');
    expect([...theirs.keys()].sort()).toEqual([...ours.keys()].filter((k) => k !== pushedEntity).sort());
    expect(theirs.size).toBe(5);
    // Every hash holds the view's features plus its `_ts:` field (drivers 6 + 1, vitals 2 + 1).
    expect([...theirs.values()].map((f) => f.size).sort()).toEqual([3, 3, 7, 7, 7]);
    for (const [entity, fields] of theirs) expect(ours.get(entity)).toEqual(fields);
  });
});
