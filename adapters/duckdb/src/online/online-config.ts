import { z } from 'zod';

/** Redis in Feast's encoding (`@vigil/adapter-redis`): the connection and Feast project. */
export const redisOnlineConfig = z.strictObject({
  type: z.literal('redis').describe('Redis online store in Feast’s encoding (package @vigil/adapter-redis)'),
  url: z
    .string()
    .regex(/^rediss?:\/\/[^\s]+$/, 'a redis:// or rediss:// URL')
    .describe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's literal ${env:…} syntax
      'Redis URL, e.g. redis://127.0.0.1:6379 or redis://127.0.0.1:6379/2 for database 2; a password only through an env reference (e.g. redis://:${env:REDIS_PASSWORD}@host:6379)',
    ),
  project: z
    .string()
    .min(1)
    .describe(
      'Feast project name: the suffix of every Redis key, as in feature_store.yaml (Feast clients of the same project read these values)',
    ),
  keyTtlSeconds: z
    .number()
    .int()
    .positive()
    .optional()
    .describe(
      'EXPIRE each entity key this many seconds after its last write (Feast’s key_ttl_seconds); default: never',
    ),
  fastReads: z
    .boolean()
    .default(true)
    .describe(
      'Serve online reads over a second, lean connection (prebuilt HMGET arguments, a parser for just their replies, the reads of one event-loop turn in one write), falling back to the main client while it is down; redis:// URLs only (rediss:// always uses the main client)',
    ),
});

/** Where the online values live. */
export const onlineConfig = z
  .discriminatedUnion('type', [
    z.strictObject({
      type: z
        .literal('embedded')
        .describe('In-process map per view, persisted as a journal under dir/online'),
    }),
    redisOnlineConfig,
  ])
  .default({ type: 'embedded' })
  .describe('Online store: embedded (default) or redis');

export type RedisOnlineConfig = z.output<typeof redisOnlineConfig>;
export type OnlineConfig = z.output<typeof onlineConfig>;
