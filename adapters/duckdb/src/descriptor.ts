import { isAbsolute, resolve } from 'node:path';
import { defineAdapter } from '@vigil/core';
import { z } from 'zod';
import { onlineConfig } from './online/online-config.js';

export const duckdbFeatureStoreConfig = z.strictObject({
  dir: z
    .string()
    .min(1)
    .default('features')
    .describe(
      'Folder (relative to the run workdir, or absolute) for the view registry (registry.json), the online store journal and DuckDB spill files',
    ),
  threads: z.number().int().min(1).max(256).default(2).describe('DuckDB worker threads'),
  memoryLimit: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'a size such as 512MB or 2GB')
    .default('2GB')
    .describe('DuckDB memory limit (e.g. 2GB); larger joins spill to disk under dir'),
  online: onlineConfig,
});

export type DuckDBFeatureStoreConfig = z.output<typeof duckdbFeatureStoreConfig>;

/**
 * Embedded FeatureStore: DuckDB point-in-time joins (ASOF) over the views' Parquet sources
 * in the LakeStore, with Feast's semantics (INTEROP §2), and an online store: in-memory,
 * persisted as an append-only journal (default), or Redis in Feast's encoding
 * (`online: { type: 'redis', url, project }`, loading `@vigil/adapter-redis` lazily).
 */
export const duckdbFeatureStore = defineAdapter({
  port: 'feature-store',
  name: 'duckdb',
  version: '0.1.0',
  core: '^0.1.0',
  description:
    'DuckDB offline store over the lake’s Parquet (Feast point-in-time semantics) plus an embedded online store',
  config: duckdbFeatureStoreConfig,
  capabilities: { offline: true, online: true, streamingPush: true, onlineMatrix: true },
  requires: ['lake-store'],
  async create(config, ctx) {
    const duckdb = await import('@duckdb/node-api');
    const { DuckDBFeatureStore } = await import('./duckdb-feature-store.js');
    const dir = isAbsolute(config.dir) ? config.dir : resolve(ctx.workdir, config.dir);
    const online = config.online;
    const connect =
      online.type === 'redis'
        ? async () => (await import('./online/redis-backend.js')).connectRedisBackend(online)
        : undefined;
    return DuckDBFeatureStore.open(
      duckdb,
      ctx.port('lake-store'),
      {
        dir,
        threads: config.threads,
        memoryLimit: config.memoryLimit,
        ...(connect ? { online: connect } : {}),
      },
      ctx,
    );
  },
});
