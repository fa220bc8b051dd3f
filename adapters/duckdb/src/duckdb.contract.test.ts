import type { EntityRow, FeatureStore, FeatureView, HistoricalRequest } from '@vigil/core';
import { checkContract, describeContract, featureStoreContract } from '@vigil/core/testing';
import { describe, expect, it } from 'vitest';
import { createDuckDBFixture, type DuckDBFixture } from './testing/fixture.js';

describeContract(featureStoreContract, 'duckdb', createDuckDBFixture);

/** Wrap the real store with one injected bug; everything else is the real adapter. */
function withBug(fixture: DuckDBFixture, bug: 'strict-before' | 'ignore-ttl'): DuckDBFixture {
  const real = fixture.impl;
  const broken: FeatureStore = {
    capabilities: real.capabilities,
    // Ignoring TTL: register every view without one.
    apply: (views: FeatureView[]) =>
      real.apply(bug === 'ignore-ttl' ? views.map((v) => ({ ...v, ttlSeconds: 0 })) : views),
    listViews: () => real.listViews(),
    // `<` instead of `<=`: ask 1 ms earlier (timestamps here are whole milliseconds), then put the
    // caller's timestamps back.
    async getHistoricalFeatures(request: HistoricalRequest) {
      if (bug !== 'strict-before') return real.getHistoricalFeatures(request);
      const shifted: EntityRow[] = request.entityRows.map((r) => ({
        ...r,
        event_timestamp: new Date(r.event_timestamp.getTime() - 1),
      }));
      const result = await real.getHistoricalFeatures({ ...request, entityRows: shifted });
      result.rows.forEach((row, i) => {
        row.event_timestamp = request.entityRows[i]!.event_timestamp;
      });
      return result;
    },
    materialize: (r) => real.materialize(r),
    push: (v, r) => real.push(v, r),
    getOnlineFeatures: (r) => real.getOnlineFeatures(r),
    close: () => real.close(),
  };
  return { ...fixture, impl: broken as DuckDBFixture['impl'] };
}

describe('feature-store contract catches a broken duckdb store', () => {
  it.each([
    ['strict-before', 'historical: a feature row at exactly the entity timestamp is included'],
    ['ignore-ttl', 'historical: the TTL lower bound is inclusive and older rows expire to null'],
  ] as const)('%s fails "%s"', async (bug, caseName) => {
    const report = await checkContract(
      {
        ...featureStoreContract,
        cases: featureStoreContract.cases.filter((c) => c.name.startsWith('historical')),
      },
      async () => withBug(await createDuckDBFixture(), bug),
      { timeoutMs: 20_000 },
    );
    expect(report.failed.map((f) => f.name)).toContain(caseName);
    expect(report.passed).toContain('historical: an unknown view or feature is rejected, naming it');
  });
});
