import type { MqBridgeConfig } from '../config.js';
import { amqpConfig } from '../config.js';
import type { QueueReader, QueueSink } from './queue-transport.js';

type TransportConfig = Pick<MqBridgeConfig, 'transport' | 'amqp' | 'ibmmq'>;

/** A sink for `queue` over the configured transport; the protocol library is imported here, lazily. */
export async function openQueueSink(config: TransportConfig, queue: string): Promise<QueueSink> {
  if (config.transport === 'ibmmq') {
    const { IbmMqQueueSink } = await import('../ibmmq/ibmmq-queue-sink.js');
    return IbmMqQueueSink.open(config.ibmmq!, queue);
  }
  const { AmqpQueueSink } = await import('../amqp/amqp-queue-sink.js');
  return AmqpQueueSink.open(config.amqp ?? amqpConfig.parse({}), queue);
}

/** A reader of `queue` over the configured transport (for consumers of the queue and tests). */
export async function openQueueReader(config: TransportConfig, queue: string): Promise<QueueReader> {
  if (config.transport === 'ibmmq') {
    const { IbmMqQueueReader } = await import('../ibmmq/ibmmq-queue-reader.js');
    return IbmMqQueueReader.open(config.ibmmq!, queue);
  }
  const { AmqpQueueReader } = await import('../amqp/amqp-queue-reader.js');
  return AmqpQueueReader.open(config.amqp ?? amqpConfig.parse({}), queue);
}
