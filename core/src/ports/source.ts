/**
 * Source: ordered, partitioned, replayable event streams (Kafka's model).
 *
 * Call order: `ensureTopic` → `produce` / `consumer()` → `poll` → (process, persist) →
 * `commit` → … → `close`. Delivery is at-least-once: a consumer that restarts resumes at
 * the last committed offset, so downstream writes must be idempotent (by `eventId`).
 */

export interface SourceCapabilities {
  /** Topics have more than one partition and keys pick the partition. Default true. */
  partitions: boolean;
  /** Consumers in a group share partitions and commit offsets. Default true. */
  consumerGroups: boolean;
  /** A consumer may seek back and re-read committed data. Default true. */
  replay: boolean;
  /** The producer de-duplicates retries (Kafka idempotent producer). Default false. */
  idempotentProduce: boolean;
  /**
   * Records can be produced and topics created. Default true (an absent flag means true);
   * false for read-only sources (file imports), whose `produce` fails with VIGIL_SOURCE_READ_ONLY.
   */
  produce?: boolean;
}

export interface ProduceRecord {
  topic: string;
  /** Partition key (e.g. trial site); the same key always lands on the same partition. */
  key?: string | null;
  value: Uint8Array | string;
  /** Explicit partition; overrides the key. */
  partition?: number;
  headers?: Record<string, string>;
  /** Milliseconds since epoch; defaults to now. */
  timestamp?: number;
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  /** Offsets are decimal strings (Kafka offsets exceed 2^53 in principle). */
  offset: string;
}

export interface SourceRecord extends TopicPartitionOffset {
  key: string | null;
  value: Uint8Array;
  headers: Record<string, string>;
  timestamp: number;
}

export interface ConsumerOptions {
  /** Consumer group id; committed offsets are kept per group. */
  group: string;
  topics: string[];
  /** Where a group with no committed offset starts. Default 'earliest'. */
  start?: 'earliest' | 'latest';
}

export interface PollOptions {
  /** Upper bound on records returned. Default 500. */
  maxRecords?: number;
  /** How long to wait when nothing is available. Default 1000 ms. 0 returns at once. */
  timeoutMs?: number;
}

export interface Consumer {
  /** Next records after the consumer's position, in offset order within each partition. */
  poll(options?: PollOptions): Promise<SourceRecord[]>;
  /**
   * Commit positions for the group. `offset` is the **next** offset to read (Kafka's
   * convention): after processing record at offset 41, commit 42. Idempotent.
   */
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  /** Committed offsets of this group for its assigned partitions. */
  committed(): Promise<TopicPartitionOffset[]>;
  /** Move the position of a partition (requires `replay`). */
  seek(position: TopicPartitionOffset): Promise<void>;
  /** Leave the group. Does not commit. Idempotent. */
  close(): Promise<void>;
}

export interface TopicInfo {
  topic: string;
  partitions: number;
  /** Next offset to be written, per partition (the high-water mark). */
  endOffsets: string[];
}

export interface Source {
  readonly capabilities: SourceCapabilities;
  /** Create the topic if missing (idempotent). An existing topic keeps its partition count. */
  ensureTopic(topic: string, options?: { partitions?: number }): Promise<void>;
  describeTopic(topic: string): Promise<TopicInfo>;
  /** Append records; resolves when durable. Returns each record's position, in input order. */
  produce(records: ProduceRecord[]): Promise<TopicPartitionOffset[]>;
  consumer(options: ConsumerOptions): Promise<Consumer>;
  /** Close consumers and producers this source created. Idempotent. */
  close(): Promise<void>;
}

export const defaultSourceCapabilities: SourceCapabilities = {
  partitions: true,
  consumerGroups: true,
  replay: true,
  idempotentProduce: false,
  produce: true,
};
