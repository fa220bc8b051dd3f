/**
 * @acme/vigil-source-memory — an example third-party Vigil adapter: an in-memory Source
 * with topics, partitions and consumer groups, for tests and demos.
 *
 * The package depends only on `@vigil/core`. A config registers it with
 * `modules: ['@acme/vigil-source-memory']` and selects it with `ports.source.adapter: memory`;
 * the CLI imports the module and registers every descriptor it exports.
 */
import { defineAdapter } from '@vigil/core';
import { memorySourceCapabilities } from './capabilities.js';
import { memorySourceConfig } from './config.js';

export { memorySourceCapabilities } from './capabilities.js';
export type { MemorySourceConfig } from './config.js';
export { memorySourceConfig } from './config.js';
export type { MemoryConsumer } from './consumer/memory-consumer.js';
export type { MemorySource, MemorySourceOptions } from './memory-source.js';
export { fnv1a, KeyPartitioner } from './partitioner/key-partitioner.js';

export const memorySource = defineAdapter({
  port: 'source',
  name: 'memory',
  version: '0.1.0',
  core: '^0.1.0',
  description:
    'Example third-party Source: topics, partitions and consumer groups held in memory (nothing survives close or a restart). For tests and demos.',
  config: memorySourceConfig,
  capabilities: memorySourceCapabilities,
  async create(config, ctx) {
    // Loaded on demand, as a real adapter loads its vendor SDK: listing or validating a
    // config that names this adapter never loads the implementation.
    const { MemorySource } = await import('./memory-source.js');
    return new MemorySource({ ...config, logger: ctx.logger.child({ component: 'memory' }) });
  },
});
