/**
 * Contract fixtures on the real Redis: the DuckDB store with `online: { type: 'redis' }`, and
 * the online-only Redis store served next to a DuckDB+Redis materialiser. Each fixture uses
 * its own Feast project (key suffix) and deletes its keys on cleanup.
 */
import { duckdbFeatureStore, parquetFromRows } from '@vigil/adapter-duckdb';
import { localLake } from '@vigil/adapter-local-lake';
import type { FeatureStore, LakeStore } from '@vigil/core';
import { createTestContext, type FeatureStoreFixture } from '@vigil/core/testing';
import { redisFeatureStore } from '../descriptor.js';
import { RedisOnlineStore } from '../online/redis-online-store.js';
import type { RedisFeatureStore } from '../redis-feature-store.js';
import { REDIS_URL, requireRedis, uniqueProject } from './redis-server.js';
import { sourceColumns } from './source-columns.js';

export interface RedisFixture extends FeatureStoreFixture {
  lake: LakeStore;
  project: string;
  /** A second connection to the same project, for looking at keys and fields. */
  admin: RedisOnlineStore;
}

/** The DuckDB feature store on a fresh local lake, its online side in Redis under a fresh project. */
export async function createDuckDBRedisFixture(
  options: { keyTtlSeconds?: number } = {},
): Promise<RedisFixture> {
  await requireRedis();
  const project = uniqueProject('vigil_ct');
  const lakeCtx = await createTestContext();
  const lake = await localLake.create(localLake.config.parse({}), lakeCtx);
  const ctx = await createTestContext({ workdir: lakeCtx.workdir, ports: { 'lake-store': lake } });
  const impl = await duckdbFeatureStore.create(
    duckdbFeatureStore.config.parse({
      threads: 1,
      memoryLimit: '256MB',
      online: { type: 'redis', url: REDIS_URL, project, ...options },
    }),
    ctx,
  );
  const admin = await RedisOnlineStore.connect({ url: REDIS_URL, project });
  let part = 0;
  const fixture: RedisFixture = {
    impl,
    lake,
    project,
    admin,
    async seed(view, rows) {
      const bytes = await parquetFromRows(sourceColumns(view, rows), rows);
      const path = `${view.source.path.replace(/\/+$/, '')}/part-${String(part++).padStart(5, '0')}.parquet`;
      await lake.put(lake.defaultBranch, path, bytes);
      return (await lake.commit(lake.defaultBranch, `seed ${view.name}`)).id;
    },
    async cleanup() {
      await fixture.impl.close();
      await admin.deleteProject();
      await admin.close();
      await lake.close();
      await lakeCtx.cleanup();
    },
  };
  return fixture;
}

/**
 * The online-only Redis store (`impl`) serving what a DuckDB+Redis store materialises into
 * the same project: `seed` and `materialize` go to the materialiser, `apply` to both,
 * everything else to the Redis store under test.
 */
export async function createServingFixture(): Promise<RedisFixture & { serving: RedisFeatureStore }> {
  const materialiser = await createDuckDBRedisFixture();
  const ctx = await createTestContext();
  const serving = (await redisFeatureStore.create(
    redisFeatureStore.config.parse({ url: REDIS_URL, project: materialiser.project }),
    ctx,
  )) as RedisFeatureStore;
  const impl: FeatureStore = {
    capabilities: serving.capabilities,
    async apply(views) {
      await serving.apply(views);
      await materialiser.impl.apply(views);
    },
    listViews: () => serving.listViews(),
    getHistoricalFeatures: (r) => serving.getHistoricalFeatures(r),
    materialize: (r) => materialiser.impl.materialize(r),
    push: (v, rows) => serving.push(v, rows),
    getOnlineFeatures: (r) => serving.getOnlineFeatures(r),
    getOnlineMatrix: (r) => serving.getOnlineMatrix(r),
    close: () => serving.close(),
  };
  return {
    ...materialiser,
    impl,
    serving,
    async cleanup() {
      await serving.close();
      await ctx.cleanup();
      await materialiser.cleanup();
    },
  };
}
