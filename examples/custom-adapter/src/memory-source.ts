/**
 * The in-memory Source: topics of partitioned, append-only arrays; consumer groups with
 * committed offsets; polls that wait for a produce. Everything lives in this object and
 * is dropped on `close()`. For tests and demos, not for data that must survive a restart.
 */
import type {
  ConsumerOptions,
  Logger,
  ProduceRecord,
  Source,
  TopicInfo,
  TopicPartitionOffset,
} from '@vigil/core';
import { VigilError } from '@vigil/core';
import { memorySourceCapabilities } from './capabilities.js';
import type { MemorySourceConfig } from './config.js';
import { MemoryConsumer } from './consumer/memory-consumer.js';
import { WakeSignal } from './consumer/wake-signal.js';
import { ConsumerGroup } from './groups/consumer-group.js';
import { MemoryTopic, type StoredRecord } from './topic/memory-topic.js';

export interface MemorySourceOptions extends MemorySourceConfig {
  logger?: Logger;
}

/** Kafka's rule for topic names: 1–249 of ASCII letters, digits, '.', '_' and '-'. */
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;
const MAX_PARTITIONS = 10_000;

const encoder = new TextEncoder();

function invalid(message: string): VigilError {
  return new VigilError('VIGIL_SOURCE_INVALID_REQUEST', message);
}

function validTopicName(topic: unknown, field: string): string {
  if (typeof topic !== 'string' || !TOPIC_NAME.test(topic) || topic === '.' || topic === '..') {
    throw invalid(
      `${field} ${JSON.stringify(topic)} is not a valid topic name (1–249 of letters, digits, '.', '_', '-'; not '.' or '..')`,
    );
  }
  return topic;
}

/** Validate one record and copy what it carries, so later changes by the caller do not reach the log. */
function toStored(r: ProduceRecord, i: number, now: number): StoredRecord {
  const field = `records[${i}]`;
  if (r.key !== undefined && r.key !== null && typeof r.key !== 'string') {
    throw invalid(`${field}.key must be a string or null, got ${typeof r.key}`);
  }
  let value: Uint8Array;
  if (typeof r.value === 'string') value = encoder.encode(r.value);
  else if (r.value instanceof Uint8Array)
    value = new Uint8Array(r.value); // a copy, also of a Buffer
  else throw invalid(`${field}.value must be a Uint8Array or a string`);
  const headers: Record<string, string> = {};
  if (r.headers !== undefined) {
    if (r.headers === null || typeof r.headers !== 'object')
      throw invalid(`${field}.headers must be an object`);
    for (const [name, v] of Object.entries(r.headers)) {
      if (typeof v !== 'string') throw invalid(`${field}.headers.${name} must be a string, got ${typeof v}`);
      headers[name] = v;
    }
  }
  if (r.timestamp !== undefined && !(Number.isFinite(r.timestamp) && r.timestamp >= 0)) {
    throw invalid(
      `${field}.timestamp must be milliseconds since epoch (≥ 0), got ${JSON.stringify(r.timestamp)}`,
    );
  }
  return { key: r.key ?? null, value, headers, timestamp: r.timestamp ?? now };
}

export class MemorySource implements Source {
  readonly capabilities = memorySourceCapabilities;
  readonly #options: MemorySourceOptions;
  readonly #topics = new Map<string, MemoryTopic>();
  readonly #groups = new Map<string, ConsumerGroup>();
  readonly #consumers = new Set<MemoryConsumer>();
  readonly #wake = new WakeSignal();
  #closed = false;

  constructor(options: MemorySourceOptions) {
    this.#options = options;
  }

  #assertOpen(method: string): void {
    if (this.#closed)
      throw new VigilError('VIGIL_KERNEL_CLOSED', `memory source is closed; ${method}() is not allowed`);
  }

  #topic(name: unknown, field: string): MemoryTopic {
    const topic = this.#topics.get(validTopicName(name, field));
    if (!topic) {
      throw new VigilError(
        'VIGIL_SOURCE_UNKNOWN_TOPIC',
        `${field} ${JSON.stringify(name)} does not exist; create it with ensureTopic()`,
      );
    }
    return topic;
  }

  async ensureTopic(topic: string, options: { partitions?: number } = {}): Promise<void> {
    this.#assertOpen('ensureTopic');
    validTopicName(topic, 'topic');
    const partitions = options.partitions ?? this.#options.defaultPartitions;
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
      throw invalid(
        `partitions must be an integer from 1 to ${MAX_PARTITIONS}, got ${JSON.stringify(partitions)}`,
      );
    }
    if (this.#topics.has(topic)) return;
    this.#topics.set(topic, new MemoryTopic(topic, partitions));
    this.#options.logger?.debug({ topic, partitions }, 'topic created');
  }

  async describeTopic(topic: string): Promise<TopicInfo> {
    this.#assertOpen('describeTopic');
    const found = this.#topic(topic, 'topic');
    return {
      topic: found.name,
      partitions: found.partitionCount,
      endOffsets: found.endOffsets().map(String),
    };
  }

  async produce(records: ProduceRecord[]): Promise<TopicPartitionOffset[]> {
    this.#assertOpen('produce');
    if (!Array.isArray(records)) throw invalid('records must be an array');
    // Validate every record and pick its partition before appending any: a batch lands whole or not at all.
    const now = Date.now();
    const batches = new Map<MemoryTopic, Map<number, { indices: number[]; records: StoredRecord[] }>>();
    for (const [i, r] of records.entries()) {
      if (r === null || typeof r !== 'object') throw invalid(`records[${i}] must be an object`);
      const topic = this.#topic(r.topic, `records[${i}].topic`);
      const stored = toStored(r, i, now);
      let partition: number;
      if (r.partition === undefined) {
        partition = topic.partitioner.partition(stored.key);
      } else if (Number.isInteger(r.partition) && r.partition >= 0 && r.partition < topic.partitionCount) {
        partition = r.partition;
      } else {
        throw invalid(
          `records[${i}].partition ${JSON.stringify(r.partition)} is out of range: topic ${topic.name} has partitions 0–${topic.partitionCount - 1}`,
        );
      }
      const byPartition = batches.get(topic) ?? new Map();
      batches.set(topic, byPartition);
      const batch = byPartition.get(partition) ?? { indices: [], records: [] };
      byPartition.set(partition, batch);
      batch.indices.push(i);
      batch.records.push(stored);
    }
    const limit = this.#options.maxRecordsPerPartition;
    for (const [topic, byPartition] of batches) {
      for (const [partition, batch] of byPartition) {
        const held = topic.endOffset(partition);
        if (held + batch.records.length > limit) {
          throw invalid(
            `maxRecordsPerPartition (${limit}) would be exceeded: ${topic.name}/${partition} holds ${held} records and this produce adds ${batch.records.length}; nothing was appended. Raise ports.source.config.maxRecordsPerPartition or spread the records over more partitions.`,
          );
        }
      }
    }
    const positions: TopicPartitionOffset[] = new Array(records.length);
    for (const [topic, byPartition] of batches) {
      for (const [partition, batch] of byPartition) {
        const first = topic.append(partition, batch.records);
        for (const [k, index] of batch.indices.entries()) {
          positions[index] = { topic: topic.name, partition, offset: String(first + k) };
        }
      }
    }
    if (records.length > 0) this.#wake.notify();
    return positions;
  }

  async consumer(options: ConsumerOptions): Promise<MemoryConsumer> {
    this.#assertOpen('consumer');
    if (options === null || typeof options !== 'object') throw invalid('consumer options must be an object');
    const { group, topics, start = 'earliest' } = options;
    if (typeof group !== 'string' || group.length === 0) {
      throw invalid(`options.group must be a non-empty string, got ${JSON.stringify(group)}`);
    }
    if (!Array.isArray(topics) || topics.length === 0)
      throw invalid('options.topics must list at least one topic');
    if (start !== 'earliest' && start !== 'latest') {
      throw invalid(`options.start must be 'earliest' or 'latest', got ${JSON.stringify(start)}`);
    }
    const subscribed = [...new Set(topics.map((t, i) => this.#topic(t, `options.topics[${i}]`)))];
    let consumerGroup = this.#groups.get(group);
    if (!consumerGroup) {
      consumerGroup = new ConsumerGroup(group);
      this.#groups.set(group, consumerGroup);
    }
    const consumer = new MemoryConsumer({
      group: consumerGroup,
      topics: subscribed,
      start,
      wake: this.#wake,
      onClose: (c) => this.#consumers.delete(c),
    });
    this.#consumers.add(consumer);
    consumerGroup.join(consumer);
    return consumer;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const consumer of [...this.#consumers]) await consumer.close();
    this.#topics.clear();
    this.#groups.clear();
    this.#wake.notify();
  }
}
