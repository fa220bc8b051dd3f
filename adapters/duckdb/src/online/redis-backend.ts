import { VigilError } from '@vigil/core';
import type { OnlineBackend } from './online-backend.js';
import type { RedisOnlineConfig } from './online-config.js';

/** What `@vigil/adapter-redis` exports for us (typed here: this package does not depend on it). */
interface RedisAdapterModule {
  RedisOnlineStore: {
    connect(options: {
      url: string;
      project: string;
      keyTtlSeconds?: number;
      fastReads?: boolean;
    }): Promise<OnlineBackend>;
  };
}

/** The package is an optional peer, loaded only when `online.type` is `redis`. */
const REDIS_PACKAGE = '@vigil/adapter-redis';

/** Connect the Redis online backend, loading `@vigil/adapter-redis` lazily. */
export async function connectRedisBackend(config: RedisOnlineConfig): Promise<OnlineBackend> {
  let mod: RedisAdapterModule;
  try {
    mod = (await import(REDIS_PACKAGE)) as RedisAdapterModule;
  } catch (error) {
    throw new VigilError(
      'VIGIL_CONFIG_INVALID',
      `online.type 'redis' needs the package ${REDIS_PACKAGE}, which could not be loaded (install it next to @vigil/adapter-duckdb)`,
      { cause: error },
    );
  }
  return mod.RedisOnlineStore.connect({
    url: config.url,
    project: config.project,
    ...(config.keyTtlSeconds !== undefined ? { keyTtlSeconds: config.keyTtlSeconds } : {}),
    fastReads: config.fastReads,
  });
}
