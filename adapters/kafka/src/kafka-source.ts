/**
 * The Kafka Source: one topic per event kind, records partitioned by key with Kafka's
 * default partitioner, consumer groups with offsets committed only by commit().
 *
 * One admin client (topics, offsets) and one producer (created on the first produce) per
 * source; each consumer() is its own kafkajs group consumer. close() closes exactly these.
 */
import type {
  Consumer,
  ConsumerOptions,
  Logger,
  ProduceRecord,
  Source,
  SourceCapabilities,
  TopicInfo,
  TopicPartitionOffset,
} from '@vigil/core';
import { isVigilError, VigilError } from '@vigil/core';
import type { Admin, Kafka, Message, Producer } from 'kafkajs';
import {
  invalidRequest,
  kafkaErrorType,
  kafkaFailure,
  unknownTopic,
  validateTopicName,
} from './client/errors.js';
import { createKafkaClient, type KafkaJs } from './client/kafkajs.js';
import type { KafkaConfig } from './config.js';
import { KafkaSourceConsumer } from './consumer/kafka-source-consumer.js';
import { PartitionChooser } from './produce/partition-chooser.js';
import { type PreparedRecord, prepareRecord } from './produce/prepare-record.js';

export function kafkaCapabilities(config: { idempotent: boolean }): SourceCapabilities {
  return Object.freeze({
    partitions: true,
    consumerGroups: true,
    replay: true,
    idempotentProduce: config.idempotent,
    produce: true,
  });
}

interface PartitionBatch {
  topic: string;
  partition: number;
  /** Indices into the produce() input, in input order. */
  indices: number[];
  records: PreparedRecord[];
}

export class KafkaSource implements Source {
  readonly capabilities: SourceCapabilities;
  readonly #kafkajs: KafkaJs;
  readonly #config: KafkaConfig;
  readonly #logger: Logger;
  readonly #kafka: Kafka;
  readonly #admin: Admin;
  readonly #chooser: PartitionChooser;
  /** config.keyPartitions as a map (undefined when not configured). */
  readonly #keyPartitions: ReadonlyMap<string, number> | undefined;
  #producer: Promise<Producer> | undefined;
  /** Partition counts of topics seen to exist. */
  readonly #partitions = new Map<string, number>();
  readonly #consumers = new Set<KafkaSourceConsumer>();
  #closing: Promise<void> | undefined;

  private constructor(kafkajs: KafkaJs, config: KafkaConfig, logger: Logger, kafka: Kafka, admin: Admin) {
    this.capabilities = kafkaCapabilities(config);
    this.#kafkajs = kafkajs;
    this.#config = config;
    this.#logger = logger;
    this.#kafka = kafka;
    this.#admin = admin;
    this.#chooser = new PartitionChooser(kafkajs.Partitioners.DefaultPartitioner);
    this.#keyPartitions = config.keyPartitions ? new Map(Object.entries(config.keyPartitions)) : undefined;
  }

  /** Connect the admin client (so a wrong broker list fails at start, not at first use). */
  static async open(kafkajs: KafkaJs, config: KafkaConfig, logger: Logger): Promise<KafkaSource> {
    const kafka = createKafkaClient(kafkajs, config, logger);
    const admin = kafka.admin({
      retry: { retries: config.retries, initialRetryTime: 300, maxRetryTime: 30_000 },
    });
    try {
      await admin.connect();
    } catch (error) {
      throw kafkaFailure(error, 'connecting', config.brokers);
    }
    return new KafkaSource(kafkajs, config, logger, kafka, admin);
  }

  #assertOpen(method: string): void {
    if (this.#closing) {
      throw new VigilError('VIGIL_KERNEL_CLOSED', `kafka source is closed; ${method}() is not allowed`);
    }
  }

  #failure(error: unknown, what: string): VigilError {
    return kafkaFailure(error, what, this.#config.brokers);
  }

  /** The topic's partition count from the cluster metadata; unknown topics fail. */
  async #partitionCount(topic: string, refresh = false): Promise<number> {
    const cached = this.#partitions.get(topic);
    if (cached !== undefined && !refresh) return cached;
    let count: number;
    try {
      const { topics } = await this.#admin.fetchTopicMetadata({ topics: [topic] });
      count = topics.find((t) => t.name === topic)?.partitions.length ?? 0;
    } catch (error) {
      if (kafkaErrorType(error) === 'UNKNOWN_TOPIC_OR_PARTITION') throw unknownTopic(topic);
      throw this.#failure(error, `reading the metadata of topic ${JSON.stringify(topic)}`);
    }
    if (count === 0) throw unknownTopic(topic);
    this.#partitions.set(topic, count);
    return count;
  }

  async ensureTopic(topic: string, options: { partitions?: number } = {}): Promise<void> {
    this.#assertOpen('ensureTopic');
    validateTopicName(topic);
    const partitions = options.partitions ?? this.#config.defaultPartitions;
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 10_000) {
      throw invalidRequest(
        `partitions must be an integer from 1 to 10000, got ${JSON.stringify(partitions)}`,
      );
    }
    try {
      await this.#admin.createTopics({
        topics: [{ topic, numPartitions: partitions, replicationFactor: this.#config.replicationFactor }],
        waitForLeaders: true,
        timeout: this.#config.requestTimeoutMs,
      });
    } catch (error) {
      // Two creators racing: the loser sees TOPIC_ALREADY_EXISTS, which is success here.
      // A KRaft broker may answer UNKNOWN_TOPIC_OR_PARTITION for a moment after creating the
      // topic; kafkajs' wait for leaders gives up on it, so wait for the metadata below.
      const type = kafkaErrorType(error);
      if (type !== 'TOPIC_ALREADY_EXISTS' && type !== 'UNKNOWN_TOPIC_OR_PARTITION') {
        throw this.#failure(error, `creating topic ${JSON.stringify(topic)}`);
      }
    }
    const deadline = Date.now() + this.#config.requestTimeoutMs;
    for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
      try {
        await this.#partitionCount(topic, true);
        return;
      } catch (error) {
        if (!isVigilError(error, 'VIGIL_SOURCE_UNKNOWN_TOPIC') || Date.now() + delay > deadline) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  async describeTopic(topic: string): Promise<TopicInfo> {
    this.#assertOpen('describeTopic');
    validateTopicName(topic);
    const partitions = await this.#partitionCount(topic, true);
    let offsets: Awaited<ReturnType<Admin['fetchTopicOffsets']>>;
    // Right after a topic is created a partition's leader may still be elected: the broker answers
    // with a retriable error (NOT_LEADER_FOR_PARTITION, LEADER_NOT_AVAILABLE); ask again until the
    // request timeout.
    const deadline = Date.now() + this.#config.requestTimeoutMs;
    for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
      try {
        offsets = await this.#admin.fetchTopicOffsets(topic);
        break;
      } catch (error) {
        const retriable = (error as { retriable?: boolean }).retriable === true;
        if (!retriable || Date.now() + delay > deadline) {
          throw this.#failure(error, `reading the offsets of topic ${JSON.stringify(topic)}`);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    const endOffsets = Array.from({ length: partitions }, (_, p) => {
      const high = offsets.find((o) => o.partition === p)?.high;
      if (high === undefined) {
        throw new VigilError('VIGIL_COMPONENT_FAILED', `kafka returned no end offset for ${topic}/${p}`);
      }
      return high;
    });
    return { topic, partitions, endOffsets };
  }

  #connectProducer(): Promise<Producer> {
    this.#producer ??= (async () => {
      const producer = this.#kafka.producer({
        idempotent: this.#config.idempotent,
        allowAutoTopicCreation: false,
        createPartitioner: this.#kafkajs.Partitioners.DefaultPartitioner,
        retry: { retries: this.#config.retries, initialRetryTime: 300, maxRetryTime: 30_000 },
      });
      await producer.connect();
      return producer;
    })().catch((error: unknown) => {
      this.#producer = undefined;
      throw this.#failure(error, 'connecting the producer');
    });
    return this.#producer;
  }

  async produce(records: ProduceRecord[]): Promise<TopicPartitionOffset[]> {
    this.#assertOpen('produce');
    if (!Array.isArray(records)) throw invalidRequest('records must be an array');
    if (records.length === 0) return [];
    const now = Date.now();
    const prepared = records.map((r, i) => prepareRecord(r, i, now));
    const counts = new Map<string, number>();
    for (const r of prepared) {
      if (!counts.has(r.topic)) counts.set(r.topic, await this.#partitionCount(r.topic));
    }
    // Pick every partition before sending anything, so a bad record sends nothing.
    const batches = new Map<string, PartitionBatch>();
    for (const [i, r] of prepared.entries()) {
      const count = counts.get(r.topic)!;
      let partition: number;
      if (r.partition !== undefined) {
        if (r.partition >= count) {
          throw invalidRequest(
            `records[${i}].partition ${r.partition} is out of range: topic ${r.topic} has partitions 0–${count - 1}`,
          );
        }
        partition = r.partition;
      } else if (r.key !== null && this.#keyPartitions?.has(r.key)) {
        partition = this.#keyPartitions.get(r.key)!;
        if (partition >= count) {
          throw invalidRequest(
            `records[${i}].key ${JSON.stringify(r.key)} is mapped to partition ${partition} by keyPartitions, but topic ${r.topic} has partitions 0–${count - 1}`,
          );
        }
      } else {
        partition = this.#chooser.choose(r.topic, r.key, count);
      }
      const id = `${r.topic}\u0000${partition}`;
      let batch = batches.get(id);
      if (!batch) {
        batch = { topic: r.topic, partition, indices: [], records: [] };
        batches.set(id, batch);
      }
      batch.indices.push(i);
      batch.records.push(r);
    }
    const producer = await this.#connectProducer();
    this.#assertOpen('produce');
    const positions: TopicPartitionOffset[] = new Array(records.length);
    // A partition's records go in slices of at most maxBatchBytes; round k sends slice k of
    // every partition in one request, and the rounds run in order, so offsets stay in input order.
    const slices = [...batches.values()].map((b) => ({ batch: b, next: 0 }));
    while (slices.some((s) => s.next < s.batch.records.length)) {
      const round: { batch: PartitionBatch; from: number; to: number }[] = [];
      for (const s of slices) {
        if (s.next >= s.batch.records.length) continue;
        let to = s.next;
        let bytes = 0;
        while (
          to < s.batch.records.length &&
          (to === s.next || bytes + s.batch.records[to]!.bytes <= this.#config.maxBatchBytes)
        ) {
          bytes += s.batch.records[to]!.bytes;
          to++;
        }
        round.push({ batch: s.batch, from: s.next, to });
        s.next = to;
      }
      const byTopic = new Map<string, Message[]>();
      for (const { batch, from, to } of round) {
        const messages = byTopic.get(batch.topic) ?? [];
        for (const r of batch.records.slice(from, to)) {
          messages.push({
            partition: batch.partition,
            key: r.key,
            value: r.value,
            headers: r.headers,
            timestamp: String(r.timestamp),
          });
        }
        byTopic.set(batch.topic, messages);
      }
      let sent: Awaited<ReturnType<Producer['sendBatch']>>;
      try {
        sent = await producer.sendBatch({
          acks: -1,
          timeout: this.#config.requestTimeoutMs,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
      } catch (error) {
        if (kafkaErrorType(error) === 'UNKNOWN_TOPIC_OR_PARTITION') {
          for (const topic of byTopic.keys()) this.#partitions.delete(topic);
        }
        throw this.#failure(error, 'produce');
      }
      for (const { batch, from, to } of round) {
        const meta = sent.find((m) => m.topicName === batch.topic && m.partition === batch.partition);
        if (meta?.baseOffset === undefined) {
          throw new VigilError(
            'VIGIL_COMPONENT_FAILED',
            `kafka produce: no offset reported for ${batch.topic}/${batch.partition}`,
          );
        }
        const base = BigInt(meta.baseOffset);
        for (let j = from; j < to; j++) {
          positions[batch.indices[j]!] = {
            topic: batch.topic,
            partition: batch.partition,
            offset: (base + BigInt(j - from)).toString(),
          };
        }
      }
    }
    return positions;
  }

  async consumer(options: ConsumerOptions): Promise<Consumer> {
    this.#assertOpen('consumer');
    if (options === null || typeof options !== 'object')
      throw invalidRequest('consumer options must be an object');
    if (typeof options.group !== 'string' || options.group.length === 0 || options.group.length > 255) {
      throw invalidRequest(
        `group must be a non-empty string of at most 255 characters, got ${JSON.stringify(options.group)}`,
      );
    }
    if (!Array.isArray(options.topics) || options.topics.length === 0) {
      throw invalidRequest('topics must be a non-empty array of topic names');
    }
    const start = options.start ?? 'earliest';
    if (start !== 'earliest' && start !== 'latest') {
      throw invalidRequest(`start must be 'earliest' or 'latest', got ${JSON.stringify(options.start)}`);
    }
    for (const [i, topic] of options.topics.entries()) {
      validateTopicName(topic, `topics[${i}]`);
      await this.#partitionCount(topic, true);
    }
    const consumer = await KafkaSourceConsumer.open(
      {
        kafka: this.#kafka,
        admin: this.#admin,
        config: this.#config,
        logger: this.#logger,
        onClose: (c) => this.#consumers.delete(c),
      },
      { group: options.group, topics: options.topics, start },
    );
    if (this.#closing) {
      await consumer.close();
      this.#assertOpen('consumer');
    }
    this.#consumers.add(consumer);
    return consumer;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#consumers].map((c) => c.close()));
      const producer = this.#producer;
      this.#producer = undefined;
      const results = await Promise.allSettled([
        producer?.then((p) => p.disconnect()),
        this.#admin.disconnect(),
      ]);
      for (const r of results) {
        if (r.status === 'rejected') {
          this.#logger.warn({ error: String(r.reason) }, 'kafka client did not disconnect cleanly');
        }
      }
    })();
    return this.#closing;
  }
}
