import { isAbsolute, resolve } from 'node:path';
import { redisOnlineConfig } from '@vigil/adapter-duckdb';
import { defineAdapter } from '@vigil/core';
import { z } from 'zod';

export const redisFeatureStoreConfig = redisOnlineConfig.omit({ type: true }).extend({
  dir: z
    .string()
    .min(1)
    .default('features')
    .describe(
      'Folder (relative to the run workdir, or absolute) of the view registry (registry.json); the same folder as a duckdb store shares its views',
    ),
});

export type RedisFeatureStoreConfig = z.output<typeof redisFeatureStoreConfig>;

/**
 * Online-only FeatureStore on Redis in Feast's exact encoding (INTEROP §1): Feast clients
 * of the same project read what it writes and it reads what Feast materialises. For
 * historical retrieval and materialisation use the duckdb store with
 * `online: { type: 'redis', url, project }`.
 */
export const redisFeatureStore = defineAdapter({
  port: 'feature-store',
  name: 'redis',
  version: '0.1.0',
  core: '^0.1.0',
  description:
    'Online-only feature store on Redis in Feast’s encoding (entity key v3, murmur3 fields, Value protobufs)',
  config: redisFeatureStoreConfig,
  capabilities: { offline: false, online: true, streamingPush: true, onlineMatrix: true },
  async create(config, ctx) {
    const { RedisFeatureStore } = await import('./redis-feature-store.js');
    const dir = isAbsolute(config.dir) ? config.dir : resolve(ctx.workdir, config.dir);
    return RedisFeatureStore.open(
      {
        dir,
        url: config.url,
        project: config.project,
        ...(config.keyTtlSeconds !== undefined ? { keyTtlSeconds: config.keyTtlSeconds } : {}),
        fastReads: config.fastReads,
      },
      ctx,
    );
  },
});
