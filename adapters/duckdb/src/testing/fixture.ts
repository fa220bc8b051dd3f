/**
 * Test wiring: a real local lake and a DuckDB feature store in a temporary workdir, plus
 * `seed`, which writes rows as Parquet (through DuckDB), puts them under the view's source
 * path on the default branch and commits. Used by this package's tests only.
 */

import { localLake } from '@vigil/adapter-local-lake';
import type { FeatureDtype, FeatureView, LakeStore } from '@vigil/core';
import { createTestContext, type FeatureStoreFixture } from '@vigil/core/testing';
import { duckdbFeatureStore } from '../descriptor.js';
import type { DuckDBFeatureStore } from '../duckdb-feature-store.js';
import { type ParquetColumn, parquetFromRows } from '../parquet.js';

export interface DuckDBFixture extends FeatureStoreFixture {
  impl: DuckDBFeatureStore;
  lake: LakeStore;
  workdir: string;
  /** Close the store and open a new one on the same folder and lake. */
  reopen(): Promise<DuckDBFeatureStore>;
}

function keyDtype(rows: readonly Record<string, unknown>[], key: string): FeatureDtype {
  const value = rows.map((r) => r[key]).find((v) => v !== null && v !== undefined);
  if (typeof value === 'number') return Number.isInteger(value) ? 'int64' : 'float64';
  if (typeof value === 'boolean') return 'bool';
  return 'string';
}

/** Parquet columns of a view's source, from its definition (join-key types from the rows). */
export function sourceColumns(view: FeatureView, rows: readonly Record<string, unknown>[]): ParquetColumn[] {
  const columns: ParquetColumn[] = view.entities.map((name) => ({ name, dtype: keyDtype(rows, name) }));
  columns.push({ name: view.source.timestampField, dtype: 'timestamp' });
  if (view.source.createdTimestampField)
    columns.push({ name: view.source.createdTimestampField, dtype: 'timestamp' });
  for (const f of view.features) columns.push({ name: f.name, dtype: f.dtype });
  return columns;
}

export async function createDuckDBFixture(
  config: Record<string, unknown> = { threads: 1, memoryLimit: '256MB' },
): Promise<DuckDBFixture> {
  const lakeCtx = await createTestContext();
  const lake = await localLake.create(localLake.config.parse({}), lakeCtx);
  const ctx = await createTestContext({ workdir: lakeCtx.workdir, ports: { 'lake-store': lake } });
  const parsed = duckdbFeatureStore.config.parse(config);
  let impl = (await duckdbFeatureStore.create(parsed, ctx)) as DuckDBFeatureStore;
  let part = 0;
  const fixture: DuckDBFixture = {
    impl,
    lake,
    workdir: lakeCtx.workdir,
    async seed(view, rows) {
      const bytes = await parquetFromRows(sourceColumns(view, rows), rows);
      const path = `${view.source.path.replace(/\/+$/, '')}/part-${String(part++).padStart(5, '0')}.parquet`;
      await lake.put(lake.defaultBranch, path, bytes);
      const commit = await lake.commit(lake.defaultBranch, `seed ${view.name}`);
      return commit.id;
    },
    async reopen() {
      await impl.close();
      impl = (await duckdbFeatureStore.create(parsed, ctx)) as DuckDBFeatureStore;
      fixture.impl = impl;
      return impl;
    },
    async cleanup() {
      await fixture.impl.close();
      await lake.close();
      await lakeCtx.cleanup();
    },
  };
  return fixture;
}
