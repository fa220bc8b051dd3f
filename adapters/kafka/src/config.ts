import { z } from 'zod';

const secret = (what: string) =>
  z.string().min(1).describe(`${what}. Write it as \${env:NAME} so the secret stays out of the config file.`);

export const kafkaConfig = z.strictObject({
  brokers: z
    .array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port'))
    .min(1)
    .default(['127.0.0.1:9092'])
    .describe('Bootstrap brokers as host:port; the client discovers the rest of the cluster from them.'),
  clientId: z
    .string()
    .min(1)
    .max(200)
    .default('vigil')
    .describe('Client id sent with every request (broker logs and quotas).'),
  defaultPartitions: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(4)
    .describe('Partitions of a topic created by ensureTopic() without an explicit count.'),
  replicationFactor: z
    .number()
    .int()
    .min(1)
    .max(32)
    .default(1)
    .describe(
      'Replicas of each partition of a topic created by ensureTopic(); at most the number of brokers.',
    ),
  keyPartitions: z
    .record(z.string().min(1), z.number().int().min(0).max(9_999))
    .optional()
    .describe(
      'Explicit key → partition map (e.g. one trial site per partition: {"site-01": 0, "site-02": 1}). A keyed record whose key is listed goes to that partition, with no hashing; other keys are hashed with murmur2 as Kafka does. A listed partition must exist in the topic, or produce() fails naming the key. An explicit record.partition still wins.',
    ),
  idempotent: z
    .boolean()
    .default(true)
    .describe('Use the idempotent producer (acks=all, broker-side de-duplication of retried batches).'),
  ssl: z
    .union([
      z.boolean(),
      z.strictObject({
        ca: z.string().optional().describe('PEM of the CA that signed the brokers’ certificates.'),
        cert: z.string().optional().describe('PEM client certificate (mutual TLS).'),
        key: secret('PEM private key of the client certificate').optional(),
        rejectUnauthorized: z
          .boolean()
          .default(true)
          .describe('Refuse brokers whose certificate does not verify.'),
      }),
    ])
    .optional()
    .describe('TLS to the brokers: true for the system CAs, or an object with PEM strings.'),
  sasl: z
    .strictObject({
      mechanism: z
        .enum(['plain', 'scram-sha-256', 'scram-sha-512'])
        .describe('SASL mechanism the brokers accept.'),
      username: z.string().min(1).describe('SASL user name.'),
      password: secret('SASL password'),
    })
    .optional()
    .describe('SASL authentication; use it together with ssl.'),
  connectionTimeoutMs: z
    .number()
    .int()
    .min(100)
    .max(120_000)
    .default(3_000)
    .describe('Time to open a TCP (and TLS) connection to a broker.'),
  requestTimeoutMs: z
    .number()
    .int()
    .min(1_000)
    .max(600_000)
    .default(30_000)
    .describe('Time a broker has to answer one request.'),
  retries: z
    .number()
    .int()
    .min(1)
    .max(100)
    .default(10)
    .describe(
      'Retries of a failed request (exponential backoff from 300 ms, at most 30 s apart) before an operation fails; covers a broker restart.',
    ),
  sessionTimeoutMs: z
    .number()
    .int()
    .min(1_000)
    .max(3_600_000)
    .default(30_000)
    .describe(
      'A consumer that sends no heartbeat for this long is removed from its group and its partitions move on (the broker bounds it by group.min/max.session.timeout.ms).',
    ),
  heartbeatIntervalMs: z
    .number()
    .int()
    .min(100)
    .max(600_000)
    .default(1_000)
    .describe('How often a consumer heartbeats; also how soon it notices a rebalance.'),
  rebalanceTimeoutMs: z
    .number()
    .int()
    .min(1_000)
    .max(3_600_000)
    .default(60_000)
    .describe('How long the group waits for its members to rejoin during a rebalance.'),
  maxWaitTimeMs: z
    .number()
    .int()
    .min(10)
    .max(60_000)
    .default(500)
    .describe(
      'Longest a fetch waits at the broker for new records (a poll still wakes as soon as records arrive).',
    ),
  maxBytesPerPartition: z
    .number()
    .int()
    .min(1024)
    .max(1024 ** 3)
    .default(1024 * 1024)
    .describe('Most bytes one fetch returns per partition.'),
  maxBytes: z
    .number()
    .int()
    .min(1024)
    .max(1024 ** 3)
    .default(10 * 1024 * 1024)
    .describe('Most bytes one fetch returns in all.'),
  maxBufferedRecords: z
    .number()
    .int()
    .min(1)
    .max(10_000_000)
    .default(20_000)
    .describe(
      'Fetched records a consumer holds for poll(); above this it pauses fetching and resumes once poll() has taken half.',
    ),
  maxBatchBytes: z
    .number()
    .int()
    .min(1024)
    .max(100 * 1024 * 1024)
    .default(512 * 1024)
    .describe(
      'produce() sends at most this many value bytes per partition in one request (keep it under the topic’s max.message.bytes).',
    ),
});

export type KafkaConfig = z.output<typeof kafkaConfig>;
