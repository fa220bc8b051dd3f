/**
 * A consumer of the embedded log: a member of its group's in-process membership, with a
 * position per assigned partition. Positions start at the group's committed offset, or
 * at 'earliest' / 'latest' when the group has none, and advance as `poll` returns records.
 */
import type { Consumer, PollOptions, SourceRecord, TopicPartitionOffset } from '@vigil/core';
import { VigilError } from '@vigil/core';
import type { GroupMember, GroupMembership, TopicPartition } from '../groups/group-membership.js';
import type { GroupOffsets, PartitionOffset } from '../groups/group-offsets.js';
import { formatOffset, parseOffset } from '../storage/offset.js';
import type { PartitionLog } from '../storage/partition-log.js';
import type { TopicLog } from '../storage/topic-log.js';
import type { AppendSignal } from './append-signal.js';

/** Most bytes of frames read from one partition in one poll (Kafka's max.partition.fetch.bytes). */
const MAX_PARTITION_FETCH_BYTES = 1 << 20;
const DEFAULT_MAX_RECORDS = 500;
const DEFAULT_TIMEOUT_MS = 1_000;

interface Assigned {
  topic: string;
  partition: number;
  log: PartitionLog;
  /** Next offset poll returns. */
  position: number;
}

export interface ConsumerWiring {
  group: GroupOffsets;
  membership: GroupMembership;
  topics: ReadonlyMap<string, TopicLog>;
  start: 'earliest' | 'latest';
  signal: AppendSignal;
  /** Called once when the consumer closes. */
  onClose(consumer: FileLogConsumer): void;
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class FileLogConsumer implements Consumer, GroupMember {
  readonly subscriptions: ReadonlyMap<string, number>;
  readonly #wiring: ConsumerWiring;
  #assigned = new Map<string, Assigned>();
  #cursor = 0;
  #closed = false;
  #pollChain: Promise<unknown> = Promise.resolve();

  constructor(wiring: ConsumerWiring) {
    this.#wiring = wiring;
    this.subscriptions = new Map([...wiring.topics].map(([name, log]) => [name, log.partitions.length]));
  }

  /** Join the group (re-balances it). */
  join(): void {
    this.#wiring.membership.join(this);
    this.#wiring.signal.notify();
  }

  assign(partitions: readonly TopicPartition[]): void {
    const next = new Map<string, Assigned>();
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      const kept = this.#assigned.get(key);
      if (kept) {
        next.set(key, kept);
        continue;
      }
      const log = this.#wiring.topics.get(topic)!.partitions[partition]!;
      const committed = this.#wiring.group.get(topic, partition);
      const position =
        committed !== undefined
          ? Math.min(committed, log.endOffset)
          : this.#wiring.start === 'latest'
            ? log.endOffset
            : 0;
      next.set(key, { topic, partition, log, position });
    }
    this.#assigned = next;
  }

  /** Partitions this consumer holds now. */
  assignment(): TopicPartition[] {
    return [...this.#assigned.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  #assertOpen(method: string): void {
    if (this.#closed) {
      throw new VigilError(
        'VIGIL_SOURCE_CONSUMER_CLOSED',
        `file-log consumer of group ${JSON.stringify(this.#wiring.group.group)} is closed; ${method}() is not allowed`,
      );
    }
  }

  poll(options: PollOptions = {}): Promise<SourceRecord[]> {
    try {
      this.#assertOpen('poll');
    } catch (error) {
      return Promise.reject(error);
    }
    const maxRecords = options.maxRecords ?? DEFAULT_MAX_RECORDS;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isInteger(maxRecords) || maxRecords < 1) {
      return Promise.reject(
        new VigilError(
          'VIGIL_SOURCE_INVALID_REQUEST',
          `maxRecords must be a positive integer, got ${maxRecords}`,
        ),
      );
    }
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0)) {
      return Promise.reject(
        new VigilError('VIGIL_SOURCE_INVALID_REQUEST', `timeoutMs must be a number ≥ 0, got ${timeoutMs}`),
      );
    }
    const run = this.#pollChain.then(() => this.#poll(maxRecords, timeoutMs));
    this.#pollChain = run.catch(() => undefined);
    return run;
  }

  async #poll(maxRecords: number, timeoutMs: number): Promise<SourceRecord[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#closed) return [];
      const ready = [...this.#assigned.values()].filter((a) => a.position < a.log.endOffset);
      if (ready.length > 0) {
        const records = await this.#fetch(ready, maxRecords);
        if (records.length > 0 || this.#closed) return this.#closed ? [] : records;
        continue;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) return [];
      await this.#wiring.signal.wait(remaining);
    }
  }

  async #fetch(ready: Assigned[], maxRecords: number): Promise<SourceRecord[]> {
    const out: SourceRecord[] = [];
    const first = this.#cursor++ % ready.length;
    for (let k = 0; k < ready.length && out.length < maxRecords; k++) {
      const entry = ready[(first + k) % ready.length]!;
      const from = entry.position;
      const decoded = await entry.log.read(from, maxRecords - out.length, MAX_PARTITION_FETCH_BYTES);
      // Revoked by a re-balance or moved by seek while reading: drop what was read.
      if (
        this.#assigned.get(partitionKey(entry.topic, entry.partition)) !== entry ||
        entry.position !== from
      ) {
        continue;
      }
      for (const d of decoded) {
        out.push({
          topic: entry.topic,
          partition: entry.partition,
          offset: formatOffset(d.offset),
          key: d.key,
          value: d.value,
          headers: d.headers,
          timestamp: d.timestamp,
        });
      }
      entry.position = from + decoded.length;
    }
    return out;
  }

  #log(
    topic: unknown,
    partition: unknown,
    field: string,
  ): { log: PartitionLog; topic: string; partition: number } {
    const topicLog = typeof topic === 'string' ? this.#wiring.topics.get(topic) : undefined;
    if (!topicLog) {
      throw new VigilError(
        'VIGIL_SOURCE_INVALID_REQUEST',
        `${field}.topic ${JSON.stringify(topic)} is not one of this consumer's topics (${[...this.subscriptions.keys()].join(', ')})`,
      );
    }
    if (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0) {
      throw new VigilError(
        'VIGIL_SOURCE_INVALID_REQUEST',
        `${field}.partition must be a non-negative integer, got ${JSON.stringify(partition)}`,
      );
    }
    const log = topicLog.partitions[partition];
    if (!log) {
      throw new VigilError(
        'VIGIL_SOURCE_INVALID_REQUEST',
        `${field}.partition ${partition} is out of range: topic ${topicLog.name} has ${topicLog.partitions.length} partitions`,
      );
    }
    return { log, topic: topicLog.name, partition };
  }

  #offsetWithin(log: PartitionLog, value: unknown, field: string): number {
    const offset = parseOffset(value, field);
    if (offset > log.endOffset) {
      throw new VigilError(
        'VIGIL_SOURCE_INVALID_OFFSET',
        `${field} ${offset} is past the end of the partition (end offset ${log.endOffset})`,
      );
    }
    return offset;
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    this.#assertOpen('commit');
    if (!Array.isArray(offsets)) {
      throw new VigilError(
        'VIGIL_SOURCE_INVALID_REQUEST',
        'offsets must be an array of {topic, partition, offset}',
      );
    }
    const entries: PartitionOffset[] = offsets.map((o, i) => {
      const { log, topic, partition } = this.#log(o?.topic, o?.partition, `offsets[${i}]`);
      return { topic, partition, offset: this.#offsetWithin(log, o.offset, `offsets[${i}].offset`) };
    });
    if (entries.length > 0) await this.#wiring.group.commit(entries);
  }

  async committed(): Promise<TopicPartitionOffset[]> {
    this.#assertOpen('committed');
    const out: TopicPartitionOffset[] = [];
    for (const { topic, partition } of this.#assigned.values()) {
      const offset = this.#wiring.group.get(topic, partition);
      if (offset !== undefined) out.push({ topic, partition, offset: formatOffset(offset) });
    }
    return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  async seek(position: TopicPartitionOffset): Promise<void> {
    this.#assertOpen('seek');
    const { log, topic, partition } = this.#log(position?.topic, position?.partition, 'position');
    const offset = this.#offsetWithin(log, position.offset, 'position.offset');
    const entry = this.#assigned.get(partitionKey(topic, partition));
    if (!entry) {
      throw new VigilError(
        'VIGIL_SOURCE_INVALID_REQUEST',
        `position.partition ${partition} of topic ${topic} is not assigned to this consumer`,
      );
    }
    entry.position = offset;
    this.#wiring.signal.notify();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wiring.membership.leave(this);
    this.#assigned.clear();
    this.#wiring.signal.notify();
    await this.#pollChain;
    this.#wiring.onClose(this);
  }
}
