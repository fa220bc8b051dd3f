/**
 * @vigil/adapter-kafka — the Source port over Apache Kafka (kafkajs, loaded lazily):
 * a topic per event kind, Kafka's key partitioning, consumer groups whose offsets move
 * only on commit(), replay by seek.
 */
import { defineAdapter } from '@vigil/core';
import { loadKafkaJs } from './client/kafkajs.js';
import { kafkaConfig } from './config.js';
import { KafkaSource, kafkaCapabilities } from './kafka-source.js';

export type { KafkaConfig } from './config.js';
export { kafkaConfig } from './config.js';
export { KafkaSourceConsumer } from './consumer/kafka-source-consumer.js';
export { KafkaSource, kafkaCapabilities } from './kafka-source.js';

export const kafkaSource = defineAdapter({
  port: 'source',
  name: 'kafka',
  version: '0.1.0',
  core: '^0.1.0',
  description:
    'Source over Apache Kafka (kafkajs): a topic per event kind, key partitioning by murmur2, consumer groups with explicit commits and seek.',
  config: kafkaConfig,
  capabilities: kafkaCapabilities({ idempotent: true }),
  startTimeoutMs: 60_000,
  async create(config, ctx) {
    const kafkajs = await loadKafkaJs();
    return KafkaSource.open(kafkajs, config, ctx.logger.child({ component: 'kafka' }));
  },
});
