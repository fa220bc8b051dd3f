/**
 * A consumer of the in-memory source: a member of its group with a position (the next
 * offset `poll` returns) per assigned partition. A partition it is newly given starts at
 * the group's committed offset, or at the start or end of the partition ('earliest' /
 * 'latest') when the group has committed nothing there.
 */
import type { Consumer, PollOptions, SourceRecord, TopicPartitionOffset } from '@vigil/core';
import { VigilError } from '@vigil/core';
import type { ConsumerGroup, GroupMember, TopicPartition } from '../groups/consumer-group.js';
import type { MemoryTopic } from '../topic/memory-topic.js';
import { parseOffset } from './offset.js';
import type { WakeSignal } from './wake-signal.js';

const DEFAULT_MAX_RECORDS = 500;
const DEFAULT_TIMEOUT_MS = 1_000;

interface Position {
  topic: MemoryTopic;
  partition: number;
  /** Next offset poll returns. */
  next: number;
}

export interface MemoryConsumerOptions {
  group: ConsumerGroup;
  topics: readonly MemoryTopic[];
  start: 'earliest' | 'latest';
  wake: WakeSignal;
  /** Called once, when the consumer closes. */
  onClose(consumer: MemoryConsumer): void;
}

function invalid(message: string): VigilError {
  return new VigilError('VIGIL_SOURCE_INVALID_REQUEST', message);
}

function positionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class MemoryConsumer implements Consumer, GroupMember {
  readonly topics: readonly MemoryTopic[];
  readonly #options: MemoryConsumerOptions;
  #positions = new Map<string, Position>();
  /** Rotates the partition a poll reads first, so no partition starves. */
  #cursor = 0;
  #closed = false;

  constructor(options: MemoryConsumerOptions) {
    this.#options = options;
    this.topics = options.topics;
  }

  assign(partitions: readonly TopicPartition[]): void {
    const next = new Map<string, Position>();
    for (const { topic: name, partition } of partitions) {
      const key = positionKey(name, partition);
      const kept = this.#positions.get(key);
      if (kept) {
        next.set(key, kept);
        continue;
      }
      const topic = this.topics.find((t) => t.name === name)!;
      const committed = this.#options.group.committed(name, partition);
      const start = this.#options.start === 'latest' ? topic.endOffset(partition) : 0;
      next.set(key, { topic, partition, next: committed ?? start });
    }
    this.#positions = next;
    this.#options.wake.notify();
  }

  /** Partitions this consumer holds now. */
  assignment(): TopicPartition[] {
    return [...this.#positions.values()].map((p) => ({ topic: p.topic.name, partition: p.partition }));
  }

  #assertOpen(method: string): void {
    if (this.#closed) {
      throw new VigilError(
        'VIGIL_SOURCE_CONSUMER_CLOSED',
        `memory consumer of group ${JSON.stringify(this.#options.group.id)} is closed; ${method}() is not allowed`,
      );
    }
  }

  async poll(options: PollOptions = {}): Promise<SourceRecord[]> {
    this.#assertOpen('poll');
    const maxRecords = options.maxRecords ?? DEFAULT_MAX_RECORDS;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isInteger(maxRecords) || maxRecords < 1) {
      throw invalid(`poll options.maxRecords must be a positive integer, got ${JSON.stringify(maxRecords)}`);
    }
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0) || timeoutMs === Number.POSITIVE_INFINITY) {
      throw invalid(`poll options.timeoutMs must be a finite number ≥ 0, got ${JSON.stringify(timeoutMs)}`);
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // A consumer closed while this poll waited returns nothing (Kafka's wakeup, without the throw).
      if (this.#closed) return [];
      const records = this.#fetch(maxRecords);
      if (records.length > 0) return records;
      const remaining = deadline - Date.now();
      if (remaining <= 0) return [];
      await this.#options.wake.wait(remaining);
    }
  }

  /** Read up to `maxRecords` from the assigned partitions, advancing positions. Synchronous. */
  #fetch(maxRecords: number): SourceRecord[] {
    const ready = [...this.#positions.values()].filter((p) => p.next < p.topic.endOffset(p.partition));
    const out: SourceRecord[] = [];
    if (ready.length === 0) return out;
    const first = this.#cursor++ % ready.length;
    for (let k = 0; k < ready.length && out.length < maxRecords; k++) {
      const position = ready[(first + k) % ready.length]!;
      const batch = position.topic.read(position.partition, position.next, maxRecords - out.length);
      for (const [i, r] of batch.entries()) {
        out.push({
          topic: position.topic.name,
          partition: position.partition,
          offset: String(position.next + i),
          key: r.key,
          // Copies: a caller that mutates what it got cannot change the log.
          value: r.value.slice(),
          headers: { ...r.headers },
          timestamp: r.timestamp,
        });
      }
      position.next += batch.length;
    }
    return out;
  }

  /** Resolve a {topic, partition} to one of this consumer's topics, or explain why not. */
  #partition(topic: unknown, partition: unknown, field: string): { topic: MemoryTopic; partition: number } {
    const found = this.topics.find((t) => t.name === topic);
    if (!found) {
      throw invalid(
        `${field}.topic ${JSON.stringify(topic)} is not one of this consumer's topics (${this.topics.map((t) => t.name).join(', ')})`,
      );
    }
    if (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0) {
      throw invalid(`${field}.partition must be a non-negative integer, got ${JSON.stringify(partition)}`);
    }
    if (partition >= found.partitionCount) {
      throw invalid(
        `${field}.partition ${partition} is out of range: topic ${found.name} has partitions 0–${found.partitionCount - 1}`,
      );
    }
    return { topic: found, partition };
  }

  #offsetWithin(topic: MemoryTopic, partition: number, value: unknown, field: string): number {
    const offset = parseOffset(value, field);
    const end = topic.endOffset(partition);
    if (offset > end) {
      throw new VigilError(
        'VIGIL_SOURCE_INVALID_OFFSET',
        `${field} ${offset} is past the end of ${topic.name}/${partition} (end offset ${end})`,
      );
    }
    return offset;
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    this.#assertOpen('commit');
    if (!Array.isArray(offsets))
      throw invalid('commit offsets must be an array of {topic, partition, offset}');
    // Validate every entry before storing any, so a bad entry commits nothing.
    const entries = offsets.map((o, i) => {
      const field = `offsets[${i}]`;
      const { topic, partition } = this.#partition(o?.topic, o?.partition, field);
      return {
        topic: topic.name,
        partition,
        offset: this.#offsetWithin(topic, partition, o.offset, `${field}.offset`),
      };
    });
    for (const e of entries) this.#options.group.commit(e.topic, e.partition, e.offset);
  }

  async committed(): Promise<TopicPartitionOffset[]> {
    this.#assertOpen('committed');
    const out: TopicPartitionOffset[] = [];
    for (const { topic, partition } of this.#positions.values()) {
      const offset = this.#options.group.committed(topic.name, partition);
      if (offset !== undefined) out.push({ topic: topic.name, partition, offset: String(offset) });
    }
    return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  async seek(position: TopicPartitionOffset): Promise<void> {
    this.#assertOpen('seek');
    const { topic, partition } = this.#partition(position?.topic, position?.partition, 'position');
    const offset = this.#offsetWithin(topic, partition, position.offset, 'position.offset');
    const held = this.#positions.get(positionKey(topic.name, partition));
    if (!held) {
      throw invalid(
        `position.partition ${partition} of topic ${topic.name} is not assigned to this consumer`,
      );
    }
    held.next = offset;
    this.#options.wake.notify();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#options.group.leave(this);
    this.#positions.clear();
    this.#options.wake.notify();
    this.#options.onClose(this);
  }
}
