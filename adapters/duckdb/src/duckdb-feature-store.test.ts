import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FeatureView } from '@vigil/core';
import { createTestContext, withOverrides } from '@vigil/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { duckdbFeatureStore } from './descriptor.js';
import type { DuckDBFeatureStore } from './duckdb-feature-store.js';
import { createDuckDBFixture, type DuckDBFixture } from './testing/fixture.js';

const T0 = Date.UTC(2024, 0, 1);
const at = (h: number) => new Date(T0 + h * 3_600_000);

const labs: FeatureView = {
  name: 'labs',
  entities: ['site_id', 'patient_id'],
  features: [
    { name: 'alt', dtype: 'float64' },
    { name: 'flag', dtype: 'bool' },
    { name: 'unit', dtype: 'string' },
    { name: 'drawn_at', dtype: 'timestamp' },
    { name: 'count', dtype: 'int32' },
  ],
  ttlSeconds: 0,
  source: { path: 'lake/labs', timestampField: 'ts' },
  version: 1,
};

const doses: FeatureView = {
  name: 'doses',
  entities: ['patient_id'],
  features: [{ name: 'mg', dtype: 'float64' }],
  ttlSeconds: 3600,
  source: { path: 'lake/doses', timestampField: 'ts' },
  version: 1,
};

let fixture: DuckDBFixture | undefined;
afterEach(async () => {
  await fixture?.cleanup();
  fixture = undefined;
});

async function open(): Promise<DuckDBFixture> {
  fixture = await createDuckDBFixture();
  return fixture;
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: { code?: string; message: string }) => `${e.code}: ${e.message}`,
  );

describe('duckdb feature store', () => {
  it('joins on several keys, integer keys and every dtype; timestamps come back as Dates', async () => {
    const f = await open();
    await f.impl.apply([labs, doses]);
    await f.seed(labs, [
      {
        site_id: 1,
        patient_id: 7,
        ts: at(1),
        alt: 30.5,
        flag: true,
        unit: 'U/L',
        drawn_at: at(0.5),
        count: 3,
      },
      { site_id: 2, patient_id: 7, ts: at(1), alt: 99, flag: false, unit: 'x', drawn_at: at(0), count: 1 },
    ]);
    const ref = await f.seed(doses, [{ patient_id: 7, ts: at(2), mg: 50 }]);
    const r = await f.impl.getHistoricalFeatures({
      entityRows: [
        { site_id: 1, patient_id: 7, event_timestamp: at(2.5) },
        { site_id: 3, patient_id: 7, event_timestamp: at(3.5) },
      ],
      features: ['labs:alt', 'labs:flag', 'labs:unit', 'labs:drawn_at', 'labs:count', 'doses:mg'],
      ref,
    });
    expect(r.rows).toEqual([
      {
        site_id: 1,
        patient_id: 7,
        event_timestamp: at(2.5),
        labs__alt: 30.5,
        labs__flag: true,
        labs__unit: 'U/L',
        labs__drawn_at: at(0.5),
        labs__count: 3,
        doses__mg: 50,
      },
      {
        site_id: 3,
        patient_id: 7,
        event_timestamp: at(3.5),
        labs__alt: null,
        labs__flag: null,
        labs__unit: null,
        labs__drawn_at: null,
        labs__count: null,
        doses__mg: null, // 1.5 h after the dose: past the 1 h TTL
      },
    ]);
    expect(r.lakeCommit).toBe(ref);
  });

  it('returns no rows for no entity rows and nulls for a view without source files', async () => {
    const f = await open();
    await f.impl.apply([labs, doses]);
    const ref = await f.seed(doses, [{ patient_id: 'p', ts: at(0), mg: 1 }]);
    const empty = await f.impl.getHistoricalFeatures({ entityRows: [], features: ['doses:mg'], ref });
    expect(empty).toEqual({ rows: [], lakeCommit: ref, featureViews: [{ name: 'doses', version: 1 }] });
    const r = await f.impl.getHistoricalFeatures({
      entityRows: [{ site_id: 's', patient_id: 'p', event_timestamp: at(0) }],
      features: ['labs:alt', 'doses:mg'],
      fullFeatureNames: false,
    });
    expect(r.rows).toEqual([{ site_id: 's', patient_id: 'p', event_timestamp: at(0), alt: null, mg: 1 }]);
  });

  it('rejects bad requests with errors naming the field', async () => {
    const f = await open();
    await f.impl.apply([labs, doses, { ...doses, name: 'doses2' }]);
    const ref = await f.seed(doses, [{ patient_id: 'p', ts: at(0), mg: 1 }]);
    expect(
      await codeOf(
        f.impl.getHistoricalFeatures({
          entityRows: [{ event_timestamp: at(1) }],
          features: ['doses:mg'],
          ref,
        }),
      ),
    ).toMatch(/^VIGIL_FEATURE_INVALID_REQUEST: .*entityRows\[0\].*'patient_id'/);
    expect(
      await codeOf(
        f.impl.getHistoricalFeatures({
          entityRows: [{ patient_id: 'p', event_timestamp: new Date('nope') }],
          features: ['doses:mg'],
          ref,
        }),
      ),
    ).toMatch(/^VIGIL_FEATURE_INVALID_REQUEST: entityRows\[0\]\.event_timestamp/);
    expect(
      await codeOf(
        f.impl.getHistoricalFeatures({
          entityRows: [{ patient_id: 'p', event_timestamp: at(1) }],
          features: ['doses:mg', 'doses2:mg'],
          fullFeatureNames: false,
        }),
      ),
    ).toMatch(/^VIGIL_FEATURE_INVALID_REQUEST: .*'mg'.*fullFeatureNames/);
    expect(await codeOf(f.impl.push('doses', [{ patient_id: 'p', ts: at(1), mg: 'high' }]))).toMatch(
      /^VIGIL_FEATURE_INVALID_REQUEST: .*rows\[0\]\.mg .*float64/,
    );
    expect(await codeOf(f.impl.push('doses', [{ patient_id: 'p', mg: 1 }]))).toMatch(/rows\[0\]\.ts/);
    // A source lacking a feature column: the error names the view and the column.
    await f.impl.apply([
      {
        ...doses,
        features: [
          { name: 'mg', dtype: 'float64' },
          { name: 'route', dtype: 'string' },
        ],
        version: 2,
      },
    ]);
    expect(
      await codeOf(
        f.impl.getHistoricalFeatures({
          entityRows: [{ patient_id: 'p', event_timestamp: at(1) }],
          features: ['doses:route'],
        }),
      ),
    ).toMatch(/^VIGIL_FEATURE_INVALID_REQUEST: view 'doses'.*'route'/);
  });

  it('keeps views, watermarks and online values across a reopen; an updated view starts empty online', async () => {
    const f = await open();
    await f.impl.apply([doses, labs]);
    const ref = await f.seed(doses, [
      { patient_id: 'p1', ts: at(1), mg: 10 },
      { patient_id: 'p2', ts: at(2), mg: 20 },
      { patient_id: 'p1', ts: at(5), mg: 50 },
    ]);
    await f.impl.materialize({ views: ['doses'], start: at(0), end: at(3), ref });
    await f.impl.push('doses', [{ patient_id: 'p3', ts: at(4), mg: 30 }]);
    await f.impl.push('labs', [
      { site_id: 1, patient_id: 9, ts: at(1), alt: 1, flag: true, unit: 'u', drawn_at: at(0), count: 2 },
    ]);

    const reopened = await f.reopen();
    expect((await reopened.listViews()).map((v) => v.name).sort()).toEqual(['doses', 'labs']);
    const read = (store: DuckDBFeatureStore) =>
      store.getOnlineFeatures({
        features: ['doses:mg'],
        entityRows: [{ patient_id: 'p1' }, { patient_id: 'p2' }, { patient_id: 'p3' }],
        fullFeatureNames: false,
      });
    expect((await read(reopened)).rows.map((r) => r.mg)).toEqual([10, 20, 30]);
    // Numeric keys match whether asked as numbers or strings; timestamps read as ISO strings.
    const labsOnline = await reopened.getOnlineFeatures({
      features: ['labs:drawn_at', 'labs:count'],
      entityRows: [
        { site_id: 1, patient_id: 9 },
        { site_id: '1', patient_id: '9' },
      ],
    });
    expect(labsOnline.featureNames).toEqual(['site_id', 'patient_id', 'labs__drawn_at', 'labs__count']);
    expect(labsOnline.rows.map((r) => r.labs__drawn_at)).toEqual([at(0).toISOString(), at(0).toISOString()]);

    // The watermark (3 h) survived: the next materialisation picks up p1's 5 h row only.
    expect(await reopened.materialize({ views: ['doses'], end: at(6), ref })).toEqual({ rowsWritten: 1 });
    expect((await read(reopened)).rows.map((r) => r.mg)).toEqual([50, 20, 30]);

    await reopened.apply([{ ...doses, ttlSeconds: 7200, version: 2 }]);
    expect((await read(reopened)).rows.map((r) => r.mg)).toEqual([null, null, null]);
    const again = await f.reopen();
    expect((await read(again)).rows.map((r) => r.mg)).toEqual([null, null, null]);
    expect((await again.listViews()).find((v) => v.name === 'doses')?.version).toBe(2);
  });

  it('first materialisation of a TTL view starts at end - ttl', async () => {
    const f = await open();
    await f.impl.apply([doses]);
    const ref = await f.seed(doses, [
      { patient_id: 'old', ts: at(0), mg: 1 },
      { patient_id: 'new', ts: at(9.5), mg: 2 },
    ]);
    expect(await f.impl.materialize({ end: at(10), ref })).toEqual({ rowsWritten: 1 });
  });

  it('close is idempotent and later calls fail with VIGIL_KERNEL_CLOSED', async () => {
    const f = await open();
    await f.impl.close();
    await f.impl.close();
    expect(await codeOf(f.impl.listViews())).toMatch(/^VIGIL_KERNEL_CLOSED/);
    expect(await codeOf(f.impl.apply([doses]))).toMatch(/^VIGIL_KERNEL_CLOSED/);
  });

  it('reads through lake.get into a cache when the lake cannot be read directly', async () => {
    const f = await open();
    await f.impl.apply([doses]);
    const ref = await f.seed(doses, [{ patient_id: 'p', ts: at(1), mg: 7 }]);
    // The real lake, with its directRead flag turned off.
    const real = f.lake;
    const lake = withOverrides(real, (r) => ({ capabilities: { ...r.capabilities, directRead: false } }));
    const ctx = await createTestContext({ workdir: f.workdir, ports: { 'lake-store': lake } });
    const store = await duckdbFeatureStore.create(
      duckdbFeatureStore.config.parse({ dir: 'features-b' }),
      ctx,
    );
    try {
      await store.apply([doses]);
      const r = await store.getHistoricalFeatures({
        entityRows: [{ patient_id: 'p', event_timestamp: at(2) }],
        features: ['doses:mg'],
        ref,
      });
      expect(r.rows[0]?.doses__mg).toBe(7);
      expect(await readdir(join(f.workdir, 'features-b', 'cache'))).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});

describe('duckdb feature store config', () => {
  it('has defaults and rejects unknown fields and bad sizes', () => {
    expect(duckdbFeatureStore.config.parse({})).toEqual({
      dir: 'features',
      threads: 2,
      memoryLimit: '2GB',
      online: { type: 'embedded' },
    });
    expect(duckdbFeatureStore.config.safeParse({ memoryLimit: 'lots' }).success).toBe(false);
    const redis = { type: 'redis', url: 'redis://127.0.0.1:6379/2', project: 'vigil' };
    expect(duckdbFeatureStore.config.parse({ online: redis }).online).toEqual({ ...redis, fastReads: true });
    expect(duckdbFeatureStore.config.parse({ online: { ...redis, fastReads: false } }).online).toEqual({
      ...redis,
      fastReads: false,
    });
    expect(duckdbFeatureStore.config.safeParse({ online: { ...redis, url: 'http://x' } }).success).toBe(
      false,
    );
    expect(duckdbFeatureStore.config.safeParse({ online: { ...redis, keyTtlSeconds: 0 } }).success).toBe(
      false,
    );
    expect(duckdbFeatureStore.config.safeParse({ online: { type: 'redis', url: redis.url } }).success).toBe(
      false,
    );
    expect(duckdbFeatureStore.config.safeParse({ extra: 1 }).success).toBe(false);
    expect(duckdbFeatureStore.requires).toEqual(['lake-store']);
  });
});
