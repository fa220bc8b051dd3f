import {
  type Consumer,
  type ConsumerOptions,
  type PollOptions,
  type SourceRecord,
  type TopicPartitionOffset,
  VigilError,
} from '@vigil/core';

/** A record of a partition, ready to deliver. */
export interface StoredRecord {
  key: string | null;
  value: Uint8Array;
  headers: Record<string, string>;
  timestamp: number;
}

/** What a consumer needs from its source (group coordination, storage of commits). */
export interface ConsumerHost {
  records(topic: string, partition: number): readonly StoredRecord[];
  partitionCount(topic: string): number;
  committed(group: string, key: string): string | undefined;
  commit(group: string, entries: readonly [string, string][]): Promise<void>;
  leave(consumer: FileImportConsumer): void;
}

function closedError(): VigilError {
  return new VigilError('VIGIL_SOURCE_CONSUMER_CLOSED', 'file-import consumer is closed');
}

const partitionKey = (topic: string, partition: number) => `${topic}/${partition}`;

function splitKey(key: string): [string, number] {
  const at = key.lastIndexOf('/');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

/**
 * A member of a consumer group over the files' partitions. Positions start at the
 * group's committed offset (else at 0, or at the end for `start: 'latest'`); `commit`
 * stores the next offset to read, persisted under the source's state directory.
 */
export class FileImportConsumer implements Consumer {
  readonly topics: readonly string[];
  readonly group: string;
  readonly #host: ConsumerHost;
  readonly #start: 'earliest' | 'latest';
  #positions = new Map<string, number>();
  #waiters = new Set<() => void>();
  #closed = false;

  constructor(host: ConsumerHost, options: ConsumerOptions) {
    this.#host = host;
    this.topics = [...options.topics];
    this.group = options.group;
    this.#start = options.start ?? 'earliest';
  }

  /** Set the partitions this member owns (by the source's group coordination). */
  assign(keys: readonly string[]): void {
    const next = new Map<string, number>();
    for (const key of keys) {
      const [topic, partition] = splitKey(key);
      const end = this.#host.records(topic, partition).length;
      const committed = this.#host.committed(this.group, key);
      const start = committed === undefined ? (this.#start === 'latest' ? end : 0) : Number(committed);
      next.set(key, this.#positions.get(key) ?? Math.min(start, end));
    }
    this.#positions = next;
    this.#wake();
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
    });
  }

  #check(position: TopicPartitionOffset, what: string): number {
    if (!this.topics.includes(position.topic)) {
      throw new VigilError(
        'VIGIL_SOURCE_INVALID_REQUEST',
        `${what}: topic ${position.topic} is not one this consumer subscribed to`,
      );
    }
    const count = this.#host.partitionCount(position.topic);
    if (!Number.isInteger(position.partition) || position.partition < 0 || position.partition >= count) {
      throw new VigilError(
        'VIGIL_SOURCE_INVALID_REQUEST',
        `${what}: partition ${position.partition} of topic ${position.topic} does not exist (${count} partition(s))`,
      );
    }
    if (typeof position.offset !== 'string' || !/^\d+$/.test(position.offset)) {
      throw new VigilError(
        'VIGIL_SOURCE_INVALID_OFFSET',
        `${what}: offset must be a decimal string, got ${String(position.offset)}`,
      );
    }
    return Number(position.offset);
  }

  async poll(options: PollOptions = {}): Promise<SourceRecord[]> {
    if (this.#closed) throw closedError();
    const max = options.maxRecords ?? 500;
    const deadline = Date.now() + (options.timeoutMs ?? 1000);
    for (;;) {
      const out: SourceRecord[] = [];
      for (const [key, position] of this.#positions) {
        if (out.length >= max) break;
        const [topic, partition] = splitKey(key);
        const records = this.#host.records(topic, partition);
        let at = position;
        while (at < records.length && out.length < max) {
          const r = records[at]!;
          out.push({ topic, partition, offset: String(at), ...r, headers: { ...r.headers } });
          at++;
        }
        this.#positions.set(key, at);
      }
      const remaining = deadline - Date.now();
      if (out.length > 0 || remaining <= 0) return out;
      await this.#wait(remaining);
      if (this.#closed) return [];
    }
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    if (this.#closed) throw closedError();
    const entries = offsets.map((o) => {
      this.#check(o, 'commit');
      return [partitionKey(o.topic, o.partition), o.offset] as [string, string];
    });
    await this.#host.commit(this.group, entries);
  }

  async committed(): Promise<TopicPartitionOffset[]> {
    if (this.#closed) throw closedError();
    return [...this.#positions.keys()].flatMap((key) => {
      const offset = this.#host.committed(this.group, key);
      if (offset === undefined) return [];
      const [topic, partition] = splitKey(key);
      return [{ topic, partition, offset }];
    });
  }

  async seek(position: TopicPartitionOffset): Promise<void> {
    if (this.#closed) throw closedError();
    const offset = this.#check(position, 'seek');
    const key = partitionKey(position.topic, position.partition);
    const end = this.#host.records(position.topic, position.partition).length;
    if (offset > end) {
      throw new VigilError(
        'VIGIL_SOURCE_INVALID_OFFSET',
        `seek: offset ${offset} is past the end (${end}) of ${key}`,
      );
    }
    if (!this.#positions.has(key)) {
      throw new VigilError('VIGIL_SOURCE_INVALID_REQUEST', `seek: ${key} is not assigned to this consumer`);
    }
    this.#positions.set(key, offset);
    this.#wake();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#positions = new Map();
    this.#wake();
    this.#host.leave(this);
  }
}
