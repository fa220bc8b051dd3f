/**
 * kafkajs, loaded on first use (the adapter's package can be imported without it), and a
 * client built from the adapter's config.
 */
import type { Logger } from '@vigil/core';
import type {
  Kafka,
  KafkaConfig as KafkaJsConfig,
  LogEntry,
  logLevel,
  Partitioners,
  SASLOptions,
} from 'kafkajs';
import type { KafkaConfig } from '../config.js';

export interface KafkaJs {
  Kafka: typeof Kafka;
  Partitioners: typeof Partitioners;
  logLevel: typeof logLevel;
}

let loading: Promise<KafkaJs> | undefined;

export function loadKafkaJs(): Promise<KafkaJs> {
  loading ??= import('kafkajs').then((mod) => {
    // kafkajs is CommonJS: its exports are on `default`, and usually also named.
    const m = ((mod as { default?: KafkaJs }).default ?? mod) as KafkaJs;
    return { Kafka: m.Kafka, Partitioners: m.Partitioners, logLevel: m.logLevel };
  });
  return loading;
}

/** kafkajs log lines into the component logger: its INFO is our debug (joins, rebalances). */
function logCreator(kafkajs: KafkaJs, logger: Logger) {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, ...extra } = log;
      const fields = { namespace, ...extra };
      // A connection's error response is retried by the operation, which fails on its own
      // if the retries run out; the bounded-retries notice restates our at-least-once contract.
      const routine =
        namespace === 'Connection' || message.startsWith('Limiting retries for the idempotent producer');
      if (level === kafkajs.logLevel.ERROR && !routine) logger.error(fields, message);
      else if (level <= kafkajs.logLevel.WARN && !routine) logger.warn(fields, message);
      else if (level <= kafkajs.logLevel.WARN) logger.info(fields, message);
      else logger.debug(fields, message);
    };
}

export function createKafkaClient(kafkajs: KafkaJs, config: KafkaConfig, logger: Logger): Kafka {
  const options: KafkaJsConfig = {
    brokers: [...config.brokers],
    clientId: config.clientId,
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    retry: { retries: config.retries, initialRetryTime: 300, maxRetryTime: 30_000 },
    logLevel: kafkajs.logLevel.INFO,
    logCreator: logCreator(kafkajs, logger),
  };
  if (config.ssl !== undefined) options.ssl = config.ssl;
  if (config.sasl !== undefined) {
    options.sasl = {
      mechanism: config.sasl.mechanism,
      username: config.sasl.username,
      password: config.sasl.password,
    } as SASLOptions;
  }
  return new kafkajs.Kafka(options);
}
