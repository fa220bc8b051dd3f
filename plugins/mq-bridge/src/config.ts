import { z } from 'zod';
import { jsonSchemaToZod } from './inbound/json-schema.js';

const port = z.number().int().min(1).max(65_535);

export const amqpConfig = z.strictObject({
  host: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe('Host of the AMQP 1.0 broker (Artemis, IBM MQ AMQP channel, …).'),
  port: port.default(5672).describe('AMQP port (5672 plain, 5671 TLS by convention).'),
  username: z
    .string()
    .min(1)
    .optional()
    .describe(
      'SASL PLAIN user; omit for SASL ANONYMOUS. Take it from the environment (env reference in the config).',
    ),
  password: z
    .string()
    .optional()
    .describe('SASL PLAIN password; give it as an env reference in the config, never inline.'),
  containerId: z
    .string()
    .min(1)
    .optional()
    .describe(
      'AMQP container id of this client (shows in the broker console); default vigil-mq-bridge-<uuid>.',
    ),
  tls: z.boolean().default(false).describe('Connect over TLS (system trust store).'),
  connectTimeoutMs: z
    .number()
    .int()
    .min(100)
    .default(10_000)
    .describe('How long to wait for the connection (TCP, SASL, open) before failing (ms).'),
  sendTimeoutMs: z
    .number()
    .int()
    .min(100)
    .default(30_000)
    .describe('How long a batch may wait for the broker to settle every message before the send fails (ms).'),
});

export const ibmmqConfig = z.strictObject({
  queueManager: z.string().min(1).max(48).describe('Queue manager name, e.g. QM1.'),
  channel: z
    .string()
    .min(1)
    .max(20)
    .optional()
    .describe('Server-connection channel (client mode), e.g. DEV.APP.SVRCONN; omit for local bindings.'),
  connName: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Connection name in MQ's syntax, host(port), e.g. mq.example.org(1414); required with channel.",
    ),
  username: z
    .string()
    .min(1)
    .optional()
    .describe('User id checked by the queue manager (MQCSP); take it from the environment (env reference).'),
  password: z
    .string()
    .optional()
    .describe('Password for username; give it as an env reference in the config, never inline.'),
  waitIntervalMs: z
    .number()
    .int()
    .min(0)
    .default(200)
    .describe('Poll interval of the reader while the queue is empty (ms); gets never block the event loop.'),
});

/** One queue the bridge consumes and the Source topic its messages go to. */
export const inboundRoute = z.strictObject({
  queue: z
    .string()
    .min(1)
    .describe('Queue to consume, e.g. HOSPITAL.EHR.OUT (the hospital system puts to it).'),
  topic: z.string().min(1).describe('Source topic each good message of the queue becomes a record of.'),
});

/** Where the record key of a consumed message comes from. */
export const inboundKey = z.union([
  z
    .enum(['message-id', 'none'])
    .describe("'message-id': the message id; 'none': no key (the Source picks the partition)."),
  z
    .strictObject({ property: z.string().min(1).describe('Message property whose value is the key.') })
    .describe('The value of a message property (absent → no key).'),
  z
    .strictObject({
      field: z.string().min(1).describe('Top-level field of the JSON body whose value is the key.'),
    })
    .describe('A top-level field of the JSON body (format json; absent → no key).'),
]);

export const inboundConfig = z
  .strictObject({
    routes: z.array(inboundRoute).min(1).describe('Queues to consume, each into a Source topic.'),
    deadLetterTopic: z
      .string()
      .min(1)
      .default('mq-dead-letters')
      .describe(
        'Source topic poison messages are dead-lettered to (body unchanged, reason in the mq-dead-letter-reason header).',
      ),
    group: z
      .string()
      .min(1)
      .default('vigil-mq-inbound')
      .describe(
        'Consumer group the bridge reads its own topics with to rebuild its message-id index on start (never commits).',
      ),
    format: z
      .enum(['json', 'bytes'])
      .default('json')
      .describe(
        "'json': a body that is not one UTF-8 JSON value is poison (unparseable); 'bytes': any body goes through.",
      ),
    maxMessageBytes: z
      .number()
      .int()
      .min(1)
      .default(1_048_576)
      .describe('A body larger than this is poison (too-large) and dead-lettered.'),
    schema: z
      .union([
        z
          .literal('job')
          .describe("The configured job's record schema (required fields, types, kinds, enums)."),
        z.record(z.string(), z.unknown()).describe('A JSON Schema every body must satisfy.'),
      ])
      .optional()
      .describe('Schema check of each JSON body; a body failing it is poison (schema). Needs format json.'),
    key: inboundKey.default('message-id').describe('Record key of each consumed message.'),
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(200)
      .describe('Messages received, produced to the Source and acknowledged together.'),
    receiveTimeoutMs: z
      .number()
      .int()
      .min(0)
      .default(1_000)
      .describe('How long one receive waits for messages (ms).'),
  })
  .superRefine((config, ctx) => {
    if (config.format === 'bytes' && config.schema !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['schema'], message: "a schema check needs format 'json'" });
    }
    if (config.format === 'bytes' && typeof config.key === 'object' && 'field' in config.key) {
      ctx.addIssue({
        code: 'custom',
        path: ['key', 'field'],
        message: "a key from a body field needs format 'json'",
      });
    }
    if (config.schema !== undefined && config.schema !== 'job') {
      try {
        jsonSchemaToZod(config.schema);
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          path: ['schema'],
          message: `not a usable JSON Schema: ${(error as Error).message}`,
        });
      }
    }
    const queues = new Set<string>();
    config.routes.forEach((route, i) => {
      if (queues.has(route.queue)) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', i, 'queue'],
          message: `queue ${route.queue} is consumed twice`,
        });
      }
      queues.add(route.queue);
      if (route.topic === config.deadLetterTopic) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', i, 'topic'],
          message: 'must differ from deadLetterTopic',
        });
      }
    });
  });

export const mqBridgeConfig = z
  .strictObject({
    transport: z
      .enum(['amqp', 'ibmmq'])
      .describe("Protocol to the queues: 'amqp' (AMQP 1.0 via rhea) or 'ibmmq' (MQI)."),
    topics: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        'Outbound: Source topics whose records are forwarded to `queue` (with queue; omit both for inbound only).',
      ),
    queue: z
      .string()
      .min(1)
      .optional()
      .describe('Outbound: queue the records are sent to (the regulatory queue).'),
    group: z
      .string()
      .min(1)
      .default('vigil-mq-bridge')
      .describe(
        'Outbound: consumer group of the bridge on the Source; its committed offsets are the bridge position.',
      ),
    start: z
      .enum(['earliest', 'latest'])
      .default('earliest')
      .describe('Outbound: where the group starts when it has no committed offset yet.'),
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(200)
      .describe('Outbound: records polled, sent and committed together.'),
    pollTimeoutMs: z
      .number()
      .int()
      .min(0)
      .default(1_000)
      .describe('Outbound: how long one poll waits for records (ms).'),
    retryDelayMs: z
      .number()
      .int()
      .min(10)
      .default(1_000)
      .describe(
        'First wait after a failed batch (either direction) before it is retried (doubles up to maxRetryDelayMs).',
      ),
    maxRetryDelayMs: z.number().int().min(10).default(30_000).describe('Longest wait between retries (ms).'),
    autoStart: z
      .boolean()
      .default(true)
      .describe('Start both directions when the plugin starts; false leaves it to start()/drainOnce().'),
    inbound: inboundConfig
      .optional()
      .describe(
        'Inbound: consume queues into Source topics, exactly once per message id, poison dead-lettered.',
      ),
    amqp: amqpConfig
      .optional()
      .describe("Broker connection for transport 'amqp' (defaults: 127.0.0.1:5672)."),
    ibmmq: ibmmqConfig
      .optional()
      .describe("Queue manager connection for transport 'ibmmq' (required for it)."),
  })
  .superRefine((config, ctx) => {
    if (config.transport === 'ibmmq' && !config.ibmmq) {
      ctx.addIssue({ code: 'custom', path: ['ibmmq'], message: "transport 'ibmmq' needs an ibmmq block" });
    }
    if (config.ibmmq && (config.ibmmq.channel === undefined) !== (config.ibmmq.connName === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['ibmmq', config.ibmmq.channel === undefined ? 'channel' : 'connName'],
        message: 'channel and connName go together (client mode); omit both for local bindings',
      });
    }
    if (config.maxRetryDelayMs < config.retryDelayMs) {
      ctx.addIssue({ code: 'custom', path: ['maxRetryDelayMs'], message: 'must be at least retryDelayMs' });
    }
    if ((config.topics === undefined) !== (config.queue === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [config.topics === undefined ? 'topics' : 'queue'],
        message: 'topics and queue go together (the outbound direction); omit both for inbound only',
      });
    }
    if (config.topics === undefined && config.queue === undefined && config.inbound === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'configure at least one direction: outbound (topics + queue) or inbound',
      });
    }
    if (config.queue !== undefined && config.inbound?.routes.some((r) => r.queue === config.queue)) {
      ctx.addIssue({
        code: 'custom',
        path: ['queue'],
        message: 'the outbound queue is also consumed inbound (a loop)',
      });
    }
  });

export type MqBridgeConfig = z.output<typeof mqBridgeConfig>;
export type MqInboundConfig = z.output<typeof inboundConfig>;
export type AmqpOptions = z.output<typeof amqpConfig>;
export type IbmMqOptions = z.output<typeof ibmmqConfig>;
