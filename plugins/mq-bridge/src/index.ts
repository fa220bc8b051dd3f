/**
 * @vigil/plugin-mq-bridge — forwards chosen Source topics to a (regulatory) queue with
 * guaranteed delivery: nothing lost across restarts (offsets are committed only after the
 * broker accepted the batch), duplicates detectable by message id
 * (`<topic>/<partition>/<offset>`). Transports: AMQP 1.0 (rhea; ActiveMQ Artemis, IBM MQ
 * AMQP channels, …) and IBM MQ's MQI (the optional `ibmmq` package, loaded only when used).
 */
import type { PluginInstance } from '@vigil/core';
import { definePlugin } from '@vigil/core';
import { MqBridge } from './bridge/mq-bridge.js';
import { mqBridgeConfig } from './config.js';
import { openQueueSink } from './transport/open-transport.js';

export type { AmqpQueueReader } from './amqp/amqp-queue-reader.js';
export type { AmqpQueueSink } from './amqp/amqp-queue-sink.js';
export type { DrainResult, MqBridgeOptions, MqBridgeStats } from './bridge/mq-bridge.js';
export { MqBridge } from './bridge/mq-bridge.js';
export { recordMessage, recordMessageId } from './bridge/record-message.js';
export type { AmqpOptions, IbmMqOptions, MqBridgeConfig } from './config.js';
export { amqpConfig, ibmmqConfig, mqBridgeConfig } from './config.js';
export type { IbmMq } from './ibmmq/ibmmq-api.js';
export { openQueueReader, openQueueSink } from './transport/open-transport.js';
export type {
  QueueMessage,
  QueuePropertyValue,
  QueueReader,
  QueueSink,
  QueueTransportCapabilities,
  ReceivedQueueMessage,
} from './transport/queue-transport.js';

/** What the plugin instance exposes besides its hooks: the running bridge. */
export interface MqBridgePluginInstance extends PluginInstance {
  readonly bridge: MqBridge;
}

export const mqBridgePlugin = definePlugin({
  name: 'mq-bridge',
  version: '0.1.0',
  core: '^0.1.0',
  description:
    'Forwards chosen Source topics to a queue (AMQP 1.0 or IBM MQ MQI) at least once: Source offsets are committed only after the broker accepted the batch; message ids <topic>/<partition>/<offset> make duplicates detectable.',
  config: mqBridgeConfig,
  requires: ['source'],
  async create(config, ctx): Promise<MqBridgePluginInstance> {
    const sink = await openQueueSink(config, config.queue);
    const bridge = new MqBridge({
      source: ctx.port('source'),
      sink,
      topics: config.topics,
      group: config.group,
      start: config.start,
      batchSize: config.batchSize,
      pollTimeoutMs: config.pollTimeoutMs,
      retryDelayMs: config.retryDelayMs,
      maxRetryDelayMs: config.maxRetryDelayMs,
      logger: ctx.logger.child({ component: 'mq-bridge' }),
    });
    if (config.autoStart) bridge.start();
    ctx.lineage.record(
      'mq-bridge',
      { topics: config.topics.join(','), group: config.group },
      { queue: config.queue },
    );
    return {
      bridge,
      hooks: {},
      async close() {
        await bridge.stop();
        await sink.close();
      },
    };
  },
});
