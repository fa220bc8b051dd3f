import { z } from 'zod';

/** `ports.source.config` of the memory adapter. */
export const memorySourceConfig = z.strictObject({
  defaultPartitions: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(4)
    .describe('Partitions of a topic created by ensureTopic() without an explicit count.'),
  maxRecordsPerPartition: z
    .number()
    .int()
    .min(1)
    .default(1_000_000)
    .describe(
      'Most records one partition may hold, to bound memory: a produce() that would go past it fails as a whole (nothing is appended).',
    ),
});

export type MemorySourceConfig = z.output<typeof memorySourceConfig>;
