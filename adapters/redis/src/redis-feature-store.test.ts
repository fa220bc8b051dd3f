import type { FeatureView } from '@vigil/core';
import { createTestContext } from '@vigil/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { redisFeatureStore } from './descriptor.js';
import type { RedisFeatureStore } from './redis-feature-store.js';
import { REDIS_URL, requireRedis, uniqueProject } from './testing/redis-server.js';

const vitals: FeatureView = {
  name: 'vitals',
  entities: ['patient_id'],
  features: [{ name: 'hr', dtype: 'float64' }],
  ttlSeconds: 0,
  source: { path: 'gold/vitals', timestampField: 'ts' },
  version: 1,
};

beforeAll(() => requireRedis());

describe('redis feature store (online-only)', () => {
  it('config: url and project required, dir defaults, unknown fields rejected', () => {
    expect(redisFeatureStore.config.parse({ url: REDIS_URL, project: 'p' })).toEqual({
      url: REDIS_URL,
      project: 'p',
      dir: 'features',
      fastReads: true,
    });
    expect(
      redisFeatureStore.config.safeParse({ url: REDIS_URL, project: 'p', fastReads: 'no' }).success,
    ).toBe(false);
    expect(redisFeatureStore.config.safeParse({ url: REDIS_URL }).success).toBe(false);
    expect(redisFeatureStore.config.safeParse({ url: REDIS_URL, project: 'p', extra: 1 }).success).toBe(
      false,
    );
    expect(redisFeatureStore.capabilities).toEqual({
      offline: false,
      online: true,
      streamingPush: true,
      onlineMatrix: true,
    });
  });

  it('pushes and reads online; rejects historical retrieval and materialisation; views survive a reopen', async () => {
    const ctx = await createTestContext();
    const config = redisFeatureStore.config.parse({ url: REDIS_URL, project: uniqueProject('vigil_rs') });
    let store = (await redisFeatureStore.create(config, ctx)) as RedisFeatureStore;
    try {
      await store.apply([vitals]);
      const ts = new Date('2024-01-01T00:00:00Z');
      expect(await store.push('vitals', [{ patient_id: 'p1', ts, hr: 71 }])).toEqual({ rowsWritten: 1 });
      await expect(store.materialize({ end: ts })).rejects.toMatchObject({
        code: 'VIGIL_FEATURE_UNSUPPORTED',
      });
      await expect(
        store.getHistoricalFeatures({ entityRows: [], features: ['vitals:hr'] }),
      ).rejects.toMatchObject({ code: 'VIGIL_FEATURE_UNSUPPORTED' });
      await store.close();
      store = (await redisFeatureStore.create(config, ctx)) as RedisFeatureStore;
      expect((await store.listViews()).map((v) => v.name)).toEqual(['vitals']);
      const online = await store.getOnlineFeatures({
        features: ['vitals:hr'],
        entityRows: [{ patient_id: 'p1' }, { patient_id: 'p2' }],
      });
      expect(online.rows).toEqual([
        { patient_id: 'p1', vitals__hr: 71 },
        { patient_id: 'p2', vitals__hr: null },
      ]);
    } finally {
      await store.redis.deleteProject();
      await store.close();
      await ctx.cleanup();
    }
  });

  it('fastReads from the config: the lean read connection by default, the main client with false; the same answers', async () => {
    const ctx = await createTestContext();
    const project = uniqueProject('vigil_rs_fast');
    const stores: RedisFeatureStore[] = [];
    try {
      for (const fastReads of [undefined, false]) {
        const config = redisFeatureStore.config.parse({
          url: REDIS_URL,
          project,
          dir: `features-${String(fastReads)}`,
          ...(fastReads === undefined ? {} : { fastReads }),
        });
        const store = (await redisFeatureStore.create(config, ctx)) as RedisFeatureStore;
        stores.push(store);
        await store.apply([vitals]);
        expect(store.redis.fastReadsUp).toBe(fastReads === undefined);
      }
      await stores[0]!.push('vitals', [{ patient_id: 'p1', ts: new Date('2024-01-01T00:00:00Z'), hr: 64 }]);
      for (const store of stores) {
        const m = await store.getOnlineMatrix({
          features: ['vitals:hr'],
          entityRows: [{ patient_id: 'p1' }],
        });
        expect(Array.from(m.x)).toEqual([64]);
      }
    } finally {
      await stores[0]?.redis.deleteProject();
      for (const store of stores) await store.close();
      await ctx.cleanup();
    }
  });
});
