/**
 * @vigil/plugin-mq-bridge — both directions between Source topics and queues:
 * - outbound: forwards chosen Source topics to a (regulatory) queue with guaranteed
 *   delivery: nothing lost across restarts (offsets are committed only after the broker
 *   accepted the batch), duplicates detectable by message id (`<topic>/<partition>/<offset>`);
 * - inbound: consumes (hospital) queues into Source topics exactly once per message id,
 *   poison messages dead-lettered to a Source topic, acknowledged only once durable there.
 * Transports: AMQP 1.0 (rhea; ActiveMQ Artemis, IBM MQ AMQP channels, …) and IBM MQ's MQI
 * (the optional `ibmmq` package, loaded only when used).
 */
import type { PluginInstance } from '@vigil/core';
import { definePlugin } from '@vigil/core';
import { MqBridge } from './bridge/mq-bridge.js';
import { mqBridgeConfig } from './config.js';
import { createMessageCheck } from './inbound/message-check.js';
import { MqInbound } from './inbound/mq-inbound.js';
import { openQueueReader, openQueueSink } from './transport/open-transport.js';

export type { AmqpQueueReader } from './amqp/amqp-queue-reader.js';
export type { AmqpQueueSink } from './amqp/amqp-queue-sink.js';
export type { DrainResult, MqBridgeOptions, MqBridgeStats } from './bridge/mq-bridge.js';
export { MqBridge } from './bridge/mq-bridge.js';
export { recordMessage, recordMessageId } from './bridge/record-message.js';
export type { AmqpOptions, IbmMqOptions, MqBridgeConfig, MqInboundConfig } from './config.js';
export { amqpConfig, ibmmqConfig, inboundConfig, mqBridgeConfig } from './config.js';
export type { IbmMq } from './ibmmq/ibmmq-api.js';
export { MQ_FAULT_POINTS } from './inbound/fault-point.js';
export {
  DEAD_LETTER_DETAIL_HEADER,
  DEAD_LETTER_REASON_HEADER,
  MESSAGE_ID_HEADER,
  PROPERTY_HEADER_PREFIX,
  QUEUE_HEADER,
  TARGET_TOPIC_HEADER,
} from './inbound/headers.js';
export type { CheckedMessage, MessageCheck, PoisonReason } from './inbound/message-check.js';
export { createMessageCheck, POISON_REASONS, recordSchemaProblem } from './inbound/message-check.js';
export { MessageIndex } from './inbound/message-index.js';
export type {
  InboundBatchResult,
  InboundCounts,
  InboundRoute,
  InboundStats,
  MqInboundOptions,
} from './inbound/mq-inbound.js';
export { MqInbound } from './inbound/mq-inbound.js';
export { openQueueReader, openQueueSink } from './transport/open-transport.js';
export type {
  QueueMessage,
  QueuePropertyValue,
  QueueReader,
  QueueSink,
  QueueTransportCapabilities,
  ReceivedQueueMessage,
} from './transport/queue-transport.js';

/** What the plugin instance exposes besides its hooks: each configured direction. */
export interface MqBridgePluginInstance extends PluginInstance {
  /** Outbound (topics → queue), when `topics` and `queue` are configured. */
  readonly bridge: MqBridge | undefined;
  /** Inbound (queues → topics), when `inbound` is configured. */
  readonly inbound: MqInbound | undefined;
}

export const mqBridgePlugin = definePlugin({
  name: 'mq-bridge',
  version: '0.2.0',
  core: '^0.1.0',
  description:
    'Both directions between Source topics and queues (AMQP 1.0 or IBM MQ MQI). Outbound: topics forwarded to a queue at least once, offsets committed only after the broker accepted the batch, message ids <topic>/<partition>/<offset>. Inbound: queues consumed into topics exactly once per message id, poison messages dead-lettered to a topic, acknowledged only once durable in the Source.',
  config: mqBridgeConfig,
  requires: ['source'],
  async create(config, ctx): Promise<MqBridgePluginInstance> {
    const logger = ctx.logger.child({ component: 'mq-bridge' });
    const source = ctx.port('source');
    // Checked before anything connects, so a config mistake fails the start cleanly.
    const check = config.inbound ? createMessageCheck(config.inbound, ctx.schema) : undefined;
    let sink: Awaited<ReturnType<typeof openQueueSink>> | undefined;
    let bridge: MqBridge | undefined;
    if (config.topics !== undefined && config.queue !== undefined) {
      sink = await openQueueSink(config, config.queue);
      bridge = new MqBridge({
        source,
        sink,
        topics: config.topics,
        group: config.group,
        start: config.start,
        batchSize: config.batchSize,
        pollTimeoutMs: config.pollTimeoutMs,
        retryDelayMs: config.retryDelayMs,
        maxRetryDelayMs: config.maxRetryDelayMs,
        logger,
      });
      ctx.lineage.record('mq-bridge', { topics: config.topics.join(',') }, { queue: config.queue });
    }
    let inbound: MqInbound | undefined;
    if (config.inbound && check) {
      const { routes, deadLetterTopic } = config.inbound;
      inbound = new MqInbound({
        source,
        openReader: (queue) => openQueueReader(config, queue),
        routes,
        deadLetterTopic,
        group: config.inbound.group,
        check,
        batchSize: config.inbound.batchSize,
        receiveTimeoutMs: config.inbound.receiveTimeoutMs,
        retryDelayMs: config.retryDelayMs,
        maxRetryDelayMs: config.maxRetryDelayMs,
        logger,
      });
      try {
        await inbound.connect();
      } catch (error) {
        await inbound.stop();
        await sink?.close();
        throw error;
      }
      ctx.lineage.record(
        'mq-bridge-inbound',
        { queues: routes.map((r) => r.queue).join(',') },
        { topics: routes.map((r) => r.topic).join(','), deadLetterTopic },
      );
    }
    if (config.autoStart) {
      bridge?.start();
      inbound?.start();
    }
    return {
      bridge,
      inbound,
      hooks: {},
      async close() {
        await Promise.all([bridge?.stop(), inbound?.stop()]);
        await sink?.close();
      },
    };
  },
});
