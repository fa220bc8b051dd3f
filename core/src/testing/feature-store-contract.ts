/**
 * FeatureStore contract: Feast's point-in-time semantics (INTEROP §2), view versioning,
 * materialisation and the online store's "newer timestamp wins" rule.
 *
 * Every case builds its data by hand, so each expected value below can be checked with a
 * pencil. Times are hours after 2024-01-01T00:00:00Z (`at(h)`).
 */
import assert from 'node:assert/strict';
import type { EntityRow, FeatureRef, FeatureView } from '../domain/feature.js';
import type { FeatureStore, HistoricalResult } from '../ports/feature-store.js';
import type { Contract, ContractCase, ContractFixture } from './contract.js';

export interface FeatureStoreFixture extends ContractFixture<FeatureStore> {
  /**
   * Make `rows` readable as (part of) the view's source data and return the ref (a lake
   * commit id) at which they are readable. Rows are added to what earlier calls seeded for
   * the same view; data seeded earlier stays readable at the refs returned earlier.
   * Rows hold the view's join keys, `source.timestampField`, the optional
   * `source.createdTimestampField` (as `Date`s) and the features.
   */
  seed(view: FeatureView, rows: Record<string, unknown>[]): Promise<string>;
}

const T0 = Date.UTC(2024, 0, 1);
/** `h` hours after 2024-01-01T00:00:00Z. */
const at = (h: number): Date => new Date(T0 + h * 3_600_000);

/** Vitals: TTL 24 h, with a created timestamp. */
const vitals: FeatureView = {
  name: 'vitals',
  entities: ['patient_id'],
  features: [
    { name: 'hr', dtype: 'float64' },
    { name: 'sbp', dtype: 'int64' },
  ],
  ttlSeconds: 24 * 3600,
  source: { path: 'contract/vitals', timestampField: 'event_ts', createdTimestampField: 'created_ts' },
  version: 1,
};

/** Labs: no TTL (unbounded look-back), no created timestamp. */
const labs: FeatureView = {
  name: 'labs',
  entities: ['patient_id'],
  features: [{ name: 'alt', dtype: 'float64' }],
  ttlSeconds: 0,
  source: { path: 'contract/labs', timestampField: 'ts' },
  version: 1,
};

const v = (patient: string, h: number, hr: number, sbp: number, createdH = h) => ({
  patient_id: patient,
  event_ts: at(h),
  created_ts: at(createdH),
  hr,
  sbp,
});

const vitalsRows = [
  v('p1', 0, 60, 120),
  // Two rows at t=10: the one created later (t=11) wins the tie.
  v('p1', 10, 70, 125, 10),
  v('p1', 10, 71, 126, 11),
  v('p1', 20, 80, 130),
  // Leakage row: later than every entity timestamp below that asks about p1 before t=50.
  v('p1', 50, 999, 999),
  v('p2', 0, 55, 110),
];

const labsRows = [
  { patient_id: 'p1', ts: at(1), alt: 30 },
  { patient_id: 'p1', ts: at(40), alt: 45 },
  // Far in the past: still valid because labs has no TTL.
  { patient_id: 'p2', ts: at(-1000), alt: 20 },
];

async function seedBoth(f: FeatureStoreFixture): Promise<string> {
  await f.impl.apply([vitals, labs]);
  await f.seed(vitals, vitalsRows);
  return f.seed(labs, labsRows);
}

const entity = (patient: string, h: number): EntityRow => ({ patient_id: patient, event_timestamp: at(h) });

async function historical(
  f: FeatureStoreFixture,
  ref: string,
  entityRows: EntityRow[],
  features: FeatureRef[] = ['vitals:hr', 'vitals:sbp'],
  fullFeatureNames = true,
): Promise<HistoricalResult> {
  const result = await f.impl.getHistoricalFeatures({ entityRows, features, ref, fullFeatureNames });
  assert.equal(result.rows.length, entityRows.length, 'one output row per entity row');
  return result;
}

function column(result: HistoricalResult, name: string): unknown[] {
  return result.rows.map((row) => row[name]);
}

function hasCode(code: string, ...mentions: string[]) {
  return (error: unknown): boolean => {
    assert.equal((error as { code?: unknown }).code, code, `error code (${String(error)})`);
    const message = (error as Error).message;
    for (const m of mentions) assert.ok(message.includes(m), `error message names '${m}': ${message}`);
    return true;
  };
}

type Case = ContractCase<FeatureStoreFixture>;

const cases: Case[] = [
  {
    name: 'apply is idempotent and a changed view needs a higher version',
    async run(f) {
      await f.impl.apply([vitals, labs]);
      await f.impl.apply([vitals, labs]);
      await f.impl.apply([structuredClone(vitals)]);
      const listed = await f.impl.listViews();
      assert.deepEqual(listed.map((x) => x.name).sort(), ['labs', 'vitals']);
      assert.equal(listed.find((x) => x.name === 'vitals')?.version, 1);

      const changed: FeatureView = {
        ...vitals,
        features: [...vitals.features, { name: 'temp', dtype: 'float64' }],
      };
      await assert.rejects(f.impl.apply([changed]), hasCode('VIGIL_FEATURE_INVALID_REQUEST', 'vitals'));
      await assert.rejects(
        f.impl.apply([{ ...changed, version: 0 }]),
        hasCode('VIGIL_FEATURE_INVALID_REQUEST', 'vitals'),
      );
      assert.equal((await f.impl.listViews()).find((x) => x.name === 'vitals')?.features.length, 2);

      await f.impl.apply([{ ...changed, version: 2 }]);
      const updated = (await f.impl.listViews()).find((x) => x.name === 'vitals');
      assert.equal(updated?.version, 2);
      assert.deepEqual(
        updated?.features.map((x) => x.name),
        ['hr', 'sbp', 'temp'],
      );
    },
  },
  {
    name: 'apply rejects an invalid view, naming the view and the field',
    async run(f) {
      await assert.rejects(
        f.impl.apply([{ ...vitals, name: 'bad_entities', entities: [] }]),
        hasCode('VIGIL_FEATURE_INVALID_REQUEST', 'bad_entities', 'entities'),
      );
      await assert.rejects(
        f.impl.apply([{ ...vitals, name: 'bad_features', features: [] }]),
        hasCode('VIGIL_FEATURE_INVALID_REQUEST', 'bad_features', 'features'),
      );
      await assert.rejects(
        f.impl.apply([{ ...vitals, name: 'bad_ttl', ttlSeconds: -1 }]),
        hasCode('VIGIL_FEATURE_INVALID_REQUEST', 'bad_ttl', 'ttl'),
      );
      await assert.rejects(
        f.impl.apply([
          { ...vitals, name: 'bad_dtype', features: [{ name: 'x', dtype: 'complex' as 'float64' }] },
        ]),
        hasCode('VIGIL_FEATURE_INVALID_REQUEST', 'bad_dtype', 'dtype'),
      );
      assert.deepEqual(await f.impl.listViews(), []);
    },
  },
  {
    name: 'historical: a feature row at exactly the entity timestamp is included',
    requires: ['offline'],
    async run(f) {
      const ref = await seedBoth(f);
      // p1 has rows at t=0 and t=10; asking at t=10 must see the t=10 row.
      const r = await historical(f, ref, [entity('p1', 10), entity('p2', 0)]);
      assert.deepEqual(column(r, 'vitals__hr'), [71, 55]);
      assert.deepEqual(column(r, 'vitals__sbp'), [126, 110]);
    },
  },
  {
    name: 'historical: feature rows after the entity timestamp never leak',
    requires: ['offline'],
    async run(f) {
      const ref = await seedBoth(f);
      // The t=50 row (999) is in the future for every one of these.
      const r = await historical(f, ref, [entity('p1', 25), entity('p1', 49.99), entity('p1', 9)]);
      assert.deepEqual(column(r, 'vitals__hr'), [80, null, 60]);
      const later = await historical(f, ref, [entity('p1', 50)]);
      assert.deepEqual(column(later, 'vitals__hr'), [999]);
    },
  },
  {
    name: 'historical: the TTL lower bound is inclusive and older rows expire to null',
    requires: ['offline'],
    async run(f) {
      const ref = await seedBoth(f);
      // Latest p1 row before t=44..45 is t=20; TTL 24 h: t=44 is exactly on the bound.
      const r = await historical(
        f,
        ref,
        [entity('p1', 44), entity('p1', 45), entity('p2', 24), entity('p2', 24.5)],
        ['vitals:hr', 'labs:alt'],
      );
      assert.deepEqual(column(r, 'vitals__hr'), [80, null, 55, null]);
      // labs has no TTL: its rows never expire, however old.
      assert.deepEqual(column(r, 'labs__alt'), [45, 45, 20, 20]);
    },
  },
  {
    name: 'historical: equal feature timestamps are broken by the latest created timestamp',
    requires: ['offline'],
    async run(f) {
      await f.impl.apply([vitals]);
      // Seed the later-created row first, so file or row order cannot decide the tie.
      await f.seed(vitals, [v('p7', 5, 101, 1, 7), v('p7', 5, 100, 1, 6), v('p8', 5, 200, 2, 5)]);
      const ref = await f.seed(vitals, [v('p7', 5, 102, 1, 6.5), v('p8', 5, 201, 2, 4)]);
      const r = await historical(f, ref, [entity('p7', 5), entity('p8', 6)]);
      assert.deepEqual(column(r, 'vitals__hr'), [101, 200]);
    },
  },
  {
    name: 'historical: an entity without feature rows keeps its row, with nulls',
    requires: ['offline'],
    async run(f) {
      const ref = await seedBoth(f);
      const r = await historical(f, ref, [entity('p3', 10), entity('p1', -5), entity('p1', 10)]);
      assert.deepEqual(column(r, 'vitals__hr'), [null, null, 71]);
      assert.deepEqual(column(r, 'vitals__sbp'), [null, null, 126]);
      assert.deepEqual(column(r, 'patient_id'), ['p3', 'p1', 'p1']);
    },
  },
  {
    name: 'historical: output keeps input order, duplicate entity rows and entity columns',
    requires: ['offline'],
    async run(f) {
      const ref = await seedBoth(f);
      const rows: EntityRow[] = [
        { ...entity('p1', 25), label: 1 },
        { ...entity('p2', 5), label: 0 },
        { ...entity('p1', 10), label: 0 },
        { ...entity('p1', 25), label: 1 },
        { ...entity('p1', 0), label: 0 },
        { ...entity('p2', 5), label: 0 },
      ];
      const r = await historical(f, ref, rows);
      assert.deepEqual(column(r, 'patient_id'), ['p1', 'p2', 'p1', 'p1', 'p1', 'p2']);
      assert.deepEqual(column(r, 'label'), [1, 0, 0, 1, 0, 0]);
      assert.deepEqual(
        r.rows.map((row) => (row.event_timestamp as Date).getTime()),
        rows.map((row) => row.event_timestamp.getTime()),
      );
      assert.deepEqual(column(r, 'vitals__hr'), [80, 55, 71, 80, 60, 55]);
      assert.deepEqual(column(r, 'vitals__sbp'), [130, 110, 126, 130, 120, 110]);
    },
  },
  {
    name: 'historical: two views joined at once, with full and short feature names',
    requires: ['offline'],
    async run(f) {
      const ref = await seedBoth(f);
      const rows = [entity('p1', 25), entity('p3', 1), entity('p2', 30), entity('p1', 40)];
      const features: FeatureRef[] = ['vitals:hr', 'labs:alt', 'vitals:sbp'];
      const full = await historical(f, ref, rows, features, true);
      assert.deepEqual(column(full, 'vitals__hr'), [80, null, null, 80]);
      assert.deepEqual(column(full, 'vitals__sbp'), [130, null, null, 130]);
      assert.deepEqual(column(full, 'labs__alt'), [30, null, 20, 45]);
      assert.deepEqual(full.featureViews.map((x) => `${x.name}@${x.version}`).sort(), ['labs@1', 'vitals@1']);
      assert.equal(full.lakeCommit, ref);
      for (const row of full.rows) assert.ok(!('hr' in row), 'no short names when fullFeatureNames');

      const short = await historical(f, ref, rows, features, false);
      assert.deepEqual(column(short, 'hr'), [80, null, null, 80]);
      assert.deepEqual(column(short, 'alt'), [30, null, 20, 45]);
      assert.deepEqual(column(short, 'sbp'), [130, null, null, 130]);
      for (const row of short.rows) assert.ok(!('vitals__hr' in row), 'no full names when not asked');
    },
  },
  {
    name: 'historical: an unknown view or feature is rejected, naming it',
    requires: ['offline'],
    async run(f) {
      const ref = await seedBoth(f);
      await assert.rejects(
        historical(f, ref, [entity('p1', 1)], ['vitals:hr', 'nosuchview:hr']),
        hasCode('VIGIL_FEATURE_UNKNOWN_VIEW', 'nosuchview'),
      );
      await assert.rejects(
        historical(f, ref, [entity('p1', 1)], ['vitals:nosuchfeature']),
        hasCode('VIGIL_FEATURE_UNKNOWN_VIEW', 'nosuchfeature'),
      );
    },
  },
  {
    name: 'historical: reads the sources at the given lake commit, ignoring later commits',
    requires: ['offline'],
    async run(f) {
      const first = await seedBoth(f);
      const second = await f.seed(vitals, [v('p1', 30, 90, 140), v('p4', 30, 40, 100)]);
      assert.notEqual(first, second, 'a new seed gives a new ref');
      const rows = [entity('p1', 35), entity('p4', 35)];
      const old = await historical(f, first, rows);
      assert.deepEqual(column(old, 'vitals__hr'), [80, null]);
      assert.equal(old.lakeCommit, first);
      const now = await historical(f, second, rows);
      assert.deepEqual(column(now, 'vitals__hr'), [90, 40]);
      const byDefault = await f.impl.getHistoricalFeatures({ entityRows: rows, features: ['vitals:hr'] });
      assert.deepEqual(column(byDefault, 'vitals__hr'), [90, 40], 'no ref reads the default branch');
    },
  },
  {
    name: 'online: materialize copies the latest row per entity at or before end',
    requires: ['online'],
    async run(f) {
      const ref = await seedBoth(f);
      const written = await f.impl.materialize({ views: ['vitals'], start: at(-100), end: at(30), ref });
      assert.equal(written.rowsWritten, 2);
      const r = await f.impl.getOnlineFeatures({
        features: ['vitals:hr', 'vitals:sbp'],
        entityRows: [{ patient_id: 'p2' }, { patient_id: 'p1' }],
        fullFeatureNames: true,
      });
      assert.deepEqual(r.featureNames, ['patient_id', 'vitals__hr', 'vitals__sbp']);
      assert.deepEqual(r.rows, [
        { patient_id: 'p2', vitals__hr: 55, vitals__sbp: 110 },
        { patient_id: 'p1', vitals__hr: 80, vitals__sbp: 130 },
      ]);
      // Labs were not materialised.
      const labsOnline = await f.impl.getOnlineFeatures({
        features: ['labs:alt'],
        entityRows: [{ patient_id: 'p1' }],
        fullFeatureNames: false,
      });
      assert.deepEqual(labsOnline.rows, [{ patient_id: 'p1', alt: null }]);
    },
  },
  {
    name: 'online: materialize starts by default where the previous one ended',
    requires: ['online'],
    async run(f) {
      const ref = await seedBoth(f);
      await f.impl.materialize({ views: ['vitals'], start: at(-100), end: at(30), ref });
      const second = await f.impl.materialize({ views: ['vitals'], end: at(60), ref });
      assert.equal(second.rowsWritten, 1, 'only p1 has a row in [30 h, 60 h]');
      const r = await f.impl.getOnlineFeatures({
        features: ['vitals:hr'],
        entityRows: [{ patient_id: 'p1' }, { patient_id: 'p2' }],
        fullFeatureNames: false,
      });
      assert.deepEqual(r.rows, [
        { patient_id: 'p1', hr: 999 },
        { patient_id: 'p2', hr: 55 },
      ]);
      const all = await f.impl.materialize({ start: at(-2000), end: at(100), ref });
      assert.equal(all.rowsWritten, 2, 'labs for p1 and p2; vitals are already up to date');
    },
  },
  {
    name: 'online: getOnlineMatrix reads what getOnlineFeatures reads, dense, with one event time per view',
    requires: ['online', 'streamingPush', 'onlineMatrix'],
    async run(f) {
      assert.ok(f.impl.getOnlineMatrix, 'capabilities.onlineMatrix is true but getOnlineMatrix is missing');
      await f.impl.apply([vitals, labs]);
      await f.impl.push('vitals', [
        { patient_id: 'p1', event_ts: at(20), hr: 80.5, sbp: 130 },
        { patient_id: 'p2', event_ts: at(3), hr: null, sbp: 110 },
      ]);
      await f.impl.push('labs', [{ patient_id: 'p1', ts: at(7), alt: 45.25 }]);
      const entityRows = [
        { patient_id: 'p2' },
        { patient_id: 'p1' },
        { patient_id: 'p3' },
        { patient_id: 'p1' },
      ];
      for (const fullFeatureNames of [true, false]) {
        const request = {
          features: ['vitals:sbp', 'labs:alt', 'vitals:hr'] as FeatureRef[],
          entityRows,
          fullFeatureNames,
        };
        const m = await f.impl.getOnlineMatrix(request);
        const rows = await f.impl.getOnlineFeatures(request);
        const names = fullFeatureNames ? ['vitals__sbp', 'labs__alt', 'vitals__hr'] : ['sbp', 'alt', 'hr'];
        assert.deepEqual(m.features, names);
        assert.deepEqual(rows.featureNames, ['patient_id', ...names], 'the row read names the same columns');
        const N = Number.NaN;
        assert.deepEqual(Array.from(m.x), [110, N, N, 130, 45.25, 80.5, N, N, N, 130, 45.25, 80.5]);
        assert.deepEqual(
          Array.from(m.x),
          rows.rows.flatMap((row) => names.map((n) => (row[n] === null ? N : Number(row[n])))),
          'the row read holds the same values',
        );
        assert.deepEqual(m.views, ['vitals', 'labs']);
        const ms = (h: number) => at(h).getTime();
        assert.deepEqual(Array.from(m.eventTimes), [ms(3), N, ms(20), ms(7), N, N, ms(20), ms(7)]);
      }
      await assert.rejects(
        f.impl.getOnlineMatrix({ features: ['vitals:hr'], entityRows: [{ patient: 'p1' }] }),
        hasCode('VIGIL_FEATURE_INVALID_REQUEST', 'patient_id'),
      );
    },
  },
  {
    name: 'online: push keeps newer rows and skips older or equal ones',
    requires: ['online', 'streamingPush'],
    async run(f) {
      const ref = await seedBoth(f);
      await f.impl.materialize({ views: ['vitals'], start: at(-100), end: at(30), ref });
      const read = async (patient: string) =>
        (
          await f.impl.getOnlineFeatures({
            features: ['vitals:hr', 'vitals:sbp'],
            entityRows: [{ patient_id: patient }],
            fullFeatureNames: true,
          })
        ).rows[0];
      const newer = await f.impl.push('vitals', [{ patient_id: 'p1', event_ts: at(25), hr: 81, sbp: 131 }]);
      assert.equal(newer.rowsWritten, 1);
      assert.deepEqual(await read('p1'), { patient_id: 'p1', vitals__hr: 81, vitals__sbp: 131 });

      const stale = await f.impl.push('vitals', [
        { patient_id: 'p1', event_ts: at(22), hr: 1, sbp: 1 },
        { patient_id: 'p1', event_ts: at(25), hr: 2, sbp: 2 },
      ]);
      assert.equal(stale.rowsWritten, 0, 'older and equal timestamps are skipped');
      assert.deepEqual(await read('p1'), { patient_id: 'p1', vitals__hr: 81, vitals__sbp: 131 });

      // Within one batch the later timestamp wins, whatever the order.
      const batch = await f.impl.push('vitals', [
        { patient_id: 'p5', event_ts: at(3), hr: 93, sbp: 103 },
        { patient_id: 'p5', event_ts: at(2), hr: 92, sbp: 102 },
      ]);
      assert.equal(batch.rowsWritten, 1);
      assert.deepEqual(await read('p5'), { patient_id: 'p5', vitals__hr: 93, vitals__sbp: 103 });

      // A materialisation of older offline data does not overwrite a newer pushed value.
      await f.impl.materialize({ views: ['vitals'], start: at(-100), end: at(24), ref });
      assert.deepEqual(await read('p1'), { patient_id: 'p1', vitals__hr: 81, vitals__sbp: 131 });
    },
  },
  {
    name: 'online: a missing entity reads as nulls, in request order',
    requires: ['online'],
    async run(f) {
      const ref = await seedBoth(f);
      await f.impl.materialize({ start: at(-2000), end: at(30), ref });
      const r = await f.impl.getOnlineFeatures({
        features: ['labs:alt', 'vitals:hr'],
        entityRows: [{ patient_id: 'p9' }, { patient_id: 'p1' }, { patient_id: 'p9' }],
        fullFeatureNames: true,
      });
      assert.deepEqual(r.featureNames, ['patient_id', 'labs__alt', 'vitals__hr']);
      assert.deepEqual(r.rows, [
        { patient_id: 'p9', labs__alt: null, vitals__hr: null },
        { patient_id: 'p1', labs__alt: 30, vitals__hr: 80 },
        { patient_id: 'p9', labs__alt: null, vitals__hr: null },
      ]);
    },
  },
  {
    name: 'online: an unknown view or feature is rejected, naming it',
    requires: ['online'],
    async run(f) {
      await f.impl.apply([vitals]);
      await assert.rejects(
        f.impl.getOnlineFeatures({ features: ['ghost:hr'], entityRows: [{ patient_id: 'p1' }] }),
        hasCode('VIGIL_FEATURE_UNKNOWN_VIEW', 'ghost'),
      );
      await assert.rejects(
        f.impl.getOnlineFeatures({ features: ['vitals:ghost'], entityRows: [{ patient_id: 'p1' }] }),
        hasCode('VIGIL_FEATURE_UNKNOWN_VIEW', 'ghost'),
      );
      await assert.rejects(
        f.impl.push('ghost', [{ patient_id: 'p1', event_ts: at(1), hr: 1 }]),
        hasCode('VIGIL_FEATURE_UNKNOWN_VIEW', 'ghost'),
      );
    },
  },
];

export const featureStoreContract: Contract<FeatureStoreFixture> = {
  port: 'feature-store',
  cases,
};
