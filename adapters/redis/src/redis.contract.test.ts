import type { FeatureStore, FeatureView, ScalarValue } from '@vigil/core';
import { checkContract, describeContract, featureStoreContract } from '@vigil/core/testing';
import { describe, expect, it } from 'vitest';
import { timestampField } from './feast-encoding/index.js';
import { createDuckDBRedisFixture, createServingFixture, type RedisFixture } from './testing/fixtures.js';

describeContract(featureStoreContract, 'duckdb + redis online', () => createDuckDBRedisFixture());
describeContract(featureStoreContract, 'redis (online-only, materialised by duckdb + redis)', () =>
  createServingFixture(),
);

/**
 * The real DuckDB+Redis store with one injected bug: before each push it deletes the stored
 * `_ts:<view>` of the pushed entities, so older rows overwrite newer ones.
 */
function forgetsTimestamps(fixture: RedisFixture): RedisFixture {
  const real = fixture.impl;
  const broken: FeatureStore = {
    capabilities: real.capabilities,
    apply: (views) => real.apply(views),
    listViews: () => real.listViews(),
    getHistoricalFeatures: (r) => real.getHistoricalFeatures(r),
    materialize: (r) => real.materialize(r),
    async push(name, rows: Record<string, ScalarValue | Date>[]) {
      const view: FeatureView | undefined = (await real.listViews()).find((v) => v.name === name);
      if (view) {
        for (const row of rows) {
          const key = fixture.admin.key(
            view,
            view.entities.map((k) => row[k]),
          );
          await fixture.admin.client.hdel(key, timestampField(name));
        }
      }
      return real.push(name, rows);
    },
    getOnlineFeatures: (r) => real.getOnlineFeatures(r),
    getOnlineMatrix: (r) => real.getOnlineMatrix!(r),
    close: () => real.close(),
  };
  return { ...fixture, impl: broken };
}

describe('feature-store contract catches a broken redis online store', () => {
  it('a store that ignores stored timestamps fails the push case', async () => {
    const report = await checkContract(
      {
        ...featureStoreContract,
        cases: featureStoreContract.cases.filter((c) => c.name.startsWith('online')),
      },
      async () => forgetsTimestamps(await createDuckDBRedisFixture()),
      { timeoutMs: 20_000 },
    );
    expect(report.failed.map((f) => f.name)).toEqual([
      'online: push keeps newer rows and skips older or equal ones',
    ]);
    expect(report.passed).toContain('online: a missing entity reads as nulls, in request order');
  });
});
