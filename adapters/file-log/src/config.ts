import { z } from 'zod';

export const fileLogConfig = z.strictObject({
  dir: z
    .string()
    .min(1)
    .default('log')
    .describe('Directory of the log; relative paths are resolved against the run workdir.'),
  defaultPartitions: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(4)
    .describe('Partitions of a topic created by ensureTopic() without an explicit count.'),
  keyPartitions: z
    .record(z.string().min(1), z.number().int().min(0).max(9_999))
    .optional()
    .describe(
      'Explicit key → partition map (e.g. one trial site per partition: {"site-01": 0, "site-02": 1}). A keyed record whose key is listed goes to that partition, with no hashing; other keys are hashed with murmur2 as Kafka does. A listed partition must exist in the topic, or produce() fails naming the key. An explicit record.partition still wins.',
    ),
  fsync: z
    .enum(['always', 'batch', 'never'])
    .default('batch')
    .describe(
      "When appends reach the disk: 'always' fsyncs every record before the next, 'batch' once per partition per produce() call, 'never' leaves it to the OS (survives a process crash, not a power loss).",
    ),
  segmentBytes: z
    .number()
    .int()
    .min(4096)
    .max(2 ** 31)
    .default(64 * 1024 * 1024)
    .describe('Size at which a partition rolls to a new segment file (bytes).'),
});

export type FileLogConfig = z.output<typeof fileLogConfig>;
