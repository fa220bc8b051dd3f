/**
 * The embedded Source: a file-backed partitioned log with consumer groups.
 *
 * ```
 * <dir>/LOCK                                   pid of the process that has it open
 * <dir>/topics/<topic>/meta.json               partition count (written last, atomically)
 * <dir>/topics/<topic>/<partition>/<base>.log  segments of CRC-checked frames
 * <dir>/groups/<group>.json                    committed offsets (atomic replace)
 * ```
 *
 * Single-process: the consumers of a group share partitions only within the process
 * that opened the directory, and a second process cannot open it while the first runs.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
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
import { VigilError } from '@vigil/core';
import { AppendSignal } from './consumer/append-signal.js';
import { FileLogConsumer } from './consumer/file-log-consumer.js';
import { GroupMembership } from './groups/group-membership.js';
import { GroupOffsets } from './groups/group-offsets.js';
import { DirectoryLock } from './storage/directory-lock.js';
import type { PreparedRecord } from './storage/frame.js';
import { formatOffset } from './storage/offset.js';
import type { FsyncPolicy, PartitionLog, PartitionLogOptions } from './storage/partition-log.js';
import { TopicLog, validateTopicName } from './storage/topic-log.js';

export const fileLogCapabilities: SourceCapabilities = Object.freeze({
  partitions: true,
  consumerGroups: true,
  replay: true,
  idempotentProduce: false,
});

export interface FileLogSourceOptions {
  /** Absolute directory of the log. */
  dir: string;
  defaultPartitions: number;
  fsync: FsyncPolicy;
  segmentBytes: number;
  /**
   * Explicit key → partition map: a keyed record whose key is listed goes to that partition
   * instead of murmur2(key) % partitions. Optional.
   */
  keyPartitions?: Readonly<Record<string, number>>;
  logger: Logger;
}

interface Group {
  offsets: Promise<GroupOffsets>;
  membership: GroupMembership;
}

function invalid(message: string): VigilError {
  return new VigilError('VIGIL_SOURCE_INVALID_REQUEST', message);
}

function unknownTopic(topic: string): VigilError {
  return new VigilError(
    'VIGIL_SOURCE_UNKNOWN_TOPIC',
    `topic ${JSON.stringify(topic)} does not exist; create it with ensureTopic()`,
  );
}

export class FileLogSource implements Source {
  readonly capabilities = fileLogCapabilities;
  readonly dir: string;
  readonly #options: FileLogSourceOptions;
  readonly #keyPartitions: ReadonlyMap<string, number> | undefined;
  readonly #logOptions: PartitionLogOptions;
  readonly #lock: DirectoryLock;
  /** Topic name → its log (null while known not to exist). */
  readonly #topics = new Map<string, Promise<TopicLog | null>>();
  readonly #groups = new Map<string, Group>();
  readonly #consumers = new Set<FileLogConsumer>();
  readonly #signal = new AppendSignal();
  #closing: Promise<void> | undefined;

  private constructor(options: FileLogSourceOptions, lock: DirectoryLock) {
    this.dir = options.dir;
    this.#options = options;
    this.#keyPartitions = options.keyPartitions ? new Map(Object.entries(options.keyPartitions)) : undefined;
    this.#lock = lock;
    this.#logOptions = { segmentBytes: options.segmentBytes, fsync: options.fsync, logger: options.logger };
  }

  /** Open (or create) the log in `options.dir`. Topics are opened, and recovered, on first use. */
  static async open(options: FileLogSourceOptions): Promise<FileLogSource> {
    await mkdir(join(options.dir, 'topics'), { recursive: true });
    await mkdir(join(options.dir, 'groups'), { recursive: true });
    const lock = await DirectoryLock.acquire(options.dir);
    return new FileLogSource(options, lock);
  }

  #assertOpen(method: string): void {
    if (this.#closing) {
      throw new VigilError('VIGIL_KERNEL_CLOSED', `file-log source is closed; ${method}() is not allowed`);
    }
  }

  /** The topic's log, opening it on first use; null when it does not exist. */
  async #topic(name: string): Promise<TopicLog | null> {
    let pending = this.#topics.get(name);
    if (!pending) {
      pending = TopicLog.open(this.dir, name, this.#logOptions);
      this.#topics.set(name, pending);
      pending.catch(() => {
        if (this.#topics.get(name) === pending) this.#topics.delete(name);
      });
    }
    const log = await pending;
    if (log === null && this.#topics.get(name) === pending) this.#topics.delete(name);
    return log;
  }

  async #existingTopic(name: unknown, field: string): Promise<TopicLog> {
    const topic = validateTopicName(name, field);
    const log = await this.#topic(topic);
    if (!log) throw unknownTopic(topic);
    return log;
  }

  async ensureTopic(topic: string, options: { partitions?: number } = {}): Promise<void> {
    this.#assertOpen('ensureTopic');
    validateTopicName(topic);
    const partitions = options.partitions ?? this.#options.defaultPartitions;
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 10_000) {
      throw invalid(`partitions must be an integer from 1 to 10000, got ${JSON.stringify(partitions)}`);
    }
    for (;;) {
      if (await this.#topic(topic)) return;
      if (this.#topics.has(topic)) continue; // another call is creating it
      const creating = TopicLog.create(this.dir, topic, partitions, this.#logOptions);
      this.#topics.set(topic, creating);
      try {
        await creating;
      } catch (error) {
        if (this.#topics.get(topic) === creating) this.#topics.delete(topic);
        throw error;
      }
      return;
    }
  }

  async describeTopic(topic: string): Promise<TopicInfo> {
    this.#assertOpen('describeTopic');
    const log = await this.#existingTopic(topic, 'topic');
    return {
      topic: log.name,
      partitions: log.partitions.length,
      endOffsets: log.endOffsets().map(formatOffset),
    };
  }

  async produce(records: ProduceRecord[]): Promise<TopicPartitionOffset[]> {
    this.#assertOpen('produce');
    if (!Array.isArray(records)) throw invalid('records must be an array');
    if (records.length === 0) return [];
    const logs = new Map<string, TopicLog>();
    for (const [i, r] of records.entries()) {
      if (r === null || typeof r !== 'object') throw invalid(`records[${i}] must be an object`);
      if (!logs.has(r.topic)) logs.set(r.topic, await this.#existingTopic(r.topic, `records[${i}].topic`));
    }
    // Validate everything and pick partitions before writing anything.
    const now = Date.now();
    const batches = new Map<
      PartitionLog,
      { topic: string; partition: number; indices: number[]; records: PreparedRecord[] }
    >();
    for (const [i, r] of records.entries()) {
      const topic = logs.get(r.topic)!;
      const prepared = prepareRecord(r, i, now);
      let partition: number;
      if (r.partition !== undefined) {
        if (!Number.isInteger(r.partition) || r.partition < 0 || r.partition >= topic.partitions.length) {
          throw invalid(
            `records[${i}].partition ${JSON.stringify(r.partition)} is out of range: topic ${topic.name} has partitions 0–${topic.partitions.length - 1}`,
          );
        }
        partition = r.partition;
      } else if (prepared.key !== null && this.#keyPartitions?.has(prepared.key)) {
        partition = this.#keyPartitions.get(prepared.key)!;
        if (partition >= topic.partitions.length) {
          throw invalid(
            `records[${i}].key ${JSON.stringify(prepared.key)} is mapped to partition ${partition} by keyPartitions, but topic ${topic.name} has partitions 0–${topic.partitions.length - 1}`,
          );
        }
      } else {
        partition = topic.partitioner.partition(prepared.key);
      }
      const log = topic.partitions[partition]!;
      let batch = batches.get(log);
      if (!batch) {
        batch = { topic: topic.name, partition, indices: [], records: [] };
        batches.set(log, batch);
      }
      batch.indices.push(i);
      batch.records.push(prepared);
    }
    this.#assertOpen('produce');
    const positions: TopicPartitionOffset[] = new Array(records.length);
    await Promise.all(
      [...batches].map(async ([log, batch]) => {
        const first = await log.append(batch.records);
        this.#signal.notify();
        for (const [j, i] of batch.indices.entries()) {
          positions[i] = { topic: batch.topic, partition: batch.partition, offset: formatOffset(first + j) };
        }
      }),
    );
    return positions;
  }

  #group(group: string): Group {
    let entry = this.#groups.get(group);
    if (!entry) {
      const created: Group = {
        offsets: GroupOffsets.load(this.dir, group),
        membership: new GroupMembership(),
      };
      this.#groups.set(group, created);
      created.offsets.catch(() => {
        if (this.#groups.get(group) === created) this.#groups.delete(group);
      });
      entry = created;
    }
    return entry;
  }

  async consumer(options: ConsumerOptions): Promise<Consumer> {
    this.#assertOpen('consumer');
    if (options === null || typeof options !== 'object') throw invalid('options must be an object');
    const { group, topics, start = 'earliest' } = options;
    if (typeof group !== 'string' || group.length === 0) throw invalid('group must be a non-empty string');
    if (!Array.isArray(topics) || topics.length === 0) throw invalid('topics must be a non-empty array');
    if (start !== 'earliest' && start !== 'latest') {
      throw invalid(`start must be 'earliest' or 'latest', got ${JSON.stringify(start)}`);
    }
    const logs = new Map<string, TopicLog>();
    for (const [i, name] of topics.entries()) {
      const log = await this.#existingTopic(name, `topics[${i}]`);
      logs.set(log.name, log);
    }
    const entry = this.#group(group);
    const offsets = await entry.offsets;
    this.#assertOpen('consumer');
    const consumer = new FileLogConsumer({
      group: offsets,
      membership: entry.membership,
      topics: logs,
      start,
      signal: this.#signal,
      onClose: (c) => this.#consumers.delete(c),
    });
    this.#consumers.add(consumer);
    consumer.join();
    return consumer;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await Promise.all([...this.#consumers].map((c) => c.close()));
    const groups = await Promise.allSettled([...this.#groups.values()].map((g) => g.offsets));
    await Promise.all(groups.map((g) => (g.status === 'fulfilled' ? g.value.flushed() : undefined)));
    const topics = await Promise.allSettled(this.#topics.values());
    await Promise.all(topics.map((t) => (t.status === 'fulfilled' && t.value ? t.value.close() : undefined)));
    await this.#lock.release();
  }
}

function prepareRecord(r: ProduceRecord, i: number, now: number): PreparedRecord {
  const { key = null, value, headers = {}, timestamp = now } = r;
  if (key !== null && typeof key !== 'string') {
    throw invalid(`records[${i}].key must be a string or null, got ${typeof key}`);
  }
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
    throw invalid(
      `records[${i}].value must be a string or Uint8Array, got ${value === null ? 'null' : typeof value}`,
    );
  }
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) {
    throw invalid(`records[${i}].headers must be an object of strings`);
  }
  const entries = Object.entries(headers);
  for (const [name, v] of entries) {
    if (typeof v !== 'string') {
      throw invalid(`records[${i}].headers.${name} must be a string, got ${typeof v}`);
    }
  }
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
    throw invalid(`records[${i}].timestamp must be a finite number of ms since epoch`);
  }
  return { key, value, headers: entries, timestamp };
}
