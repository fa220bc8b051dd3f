export { type RedisFeatureStoreConfig, redisFeatureStore, redisFeatureStoreConfig } from './descriptor.js';
export * from './feast-encoding/index.js';
export { RedisOnlineStore, type RedisOnlineStoreOptions, redactUrl } from './online/redis-online-store.js';
export { RedisFeatureStore, type RedisFeatureStoreOptions } from './redis-feature-store.js';
