import { z } from 'zod';

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

export const mqBridgeConfig = z
  .strictObject({
    transport: z
      .enum(['amqp', 'ibmmq'])
      .describe("Protocol to the queue: 'amqp' (AMQP 1.0 via rhea) or 'ibmmq' (MQI)."),
    topics: z.array(z.string().min(1)).min(1).describe('Source topics whose records are forwarded.'),
    queue: z.string().min(1).describe('Queue the records are sent to (the regulatory queue).'),
    group: z
      .string()
      .min(1)
      .default('vigil-mq-bridge')
      .describe('Consumer group of the bridge on the Source; its committed offsets are the bridge position.'),
    start: z
      .enum(['earliest', 'latest'])
      .default('earliest')
      .describe('Where the group starts when it has no committed offset yet.'),
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(200)
      .describe('Records polled, sent and committed together.'),
    pollTimeoutMs: z
      .number()
      .int()
      .min(0)
      .default(1_000)
      .describe('How long one poll waits for records (ms).'),
    retryDelayMs: z
      .number()
      .int()
      .min(10)
      .default(1_000)
      .describe('First wait after a failed batch before it is resent (doubles up to maxRetryDelayMs).'),
    maxRetryDelayMs: z.number().int().min(10).default(30_000).describe('Longest wait between resends (ms).'),
    autoStart: z
      .boolean()
      .default(true)
      .describe('Start forwarding when the plugin starts; false leaves it to start()/drainOnce().'),
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
  });

export type MqBridgeConfig = z.output<typeof mqBridgeConfig>;
export type AmqpOptions = z.output<typeof amqpConfig>;
export type IbmMqOptions = z.output<typeof ibmmqConfig>;
