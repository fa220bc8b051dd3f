/**
 * @vigil/adapter-file-log — the embedded Source: a file-backed partitioned log with
 * consumer groups, Kafka's key partitioning and at-least-once delivery. Single-process.
 */
import { isAbsolute, resolve } from 'node:path';
import { defineAdapter } from '@vigil/core';
import { fileLogConfig } from './config.js';
import { FileLogSource, fileLogCapabilities } from './file-log-source.js';

export type { FileLogConfig } from './config.js';
export { fileLogConfig } from './config.js';
export { FileLogConsumer } from './consumer/file-log-consumer.js';
export type { FileLogSourceOptions } from './file-log-source.js';
export { FileLogSource, fileLogCapabilities } from './file-log-source.js';
export { murmur2, toPositive } from './partitioner/murmur2.js';
export { Partitioner } from './partitioner/partitioner.js';

export const fileLogSource = defineAdapter({
  port: 'source',
  name: 'file-log',
  version: '0.1.0',
  core: '^0.1.0',
  description:
    'Embedded Source: a file-backed partitioned log (CRC-checked segments, crash recovery) with consumer groups shared within one process.',
  config: fileLogConfig,
  capabilities: fileLogCapabilities,
  async create(config, ctx) {
    return FileLogSource.open({
      dir: isAbsolute(config.dir) ? config.dir : resolve(ctx.workdir, config.dir),
      defaultPartitions: config.defaultPartitions,
      fsync: config.fsync,
      segmentBytes: config.segmentBytes,
      ...(config.keyPartitions ? { keyPartitions: config.keyPartitions } : {}),
      logger: ctx.logger.child({ component: 'file-log' }),
    });
  },
});
