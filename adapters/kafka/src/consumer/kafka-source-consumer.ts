/**
 * A Vigil consumer over a kafkajs group consumer: kafkajs pushes fetched batches
 * (`eachBatch`, no auto-commit); they wait in a buffer until poll() takes them. Fetching
 * pauses while the buffer is full. Offsets are committed only by commit().
 *
 * Positions: kafkajs restarts every partition at the group's committed offset after a
 * rebalance. This consumer remembers, per partition, the offset after the last record it
 * buffered (or sought), and on each join seeks the partitions it keeps back there, so a
 * rebalance re-delivers nothing this consumer already handed out. A partition that moves
 * away drops its buffered records; its new owner starts at the committed offset.
 */
import type {
  Consumer,
  ConsumerOptions,
  Logger,
  PollOptions,
  SourceRecord,
  TopicPartitionOffset,
} from '@vigil/core';
import { VigilError } from '@vigil/core';
import type {
  Admin,
  ConsumerCommitOffsetsEvent,
  ConsumerCrashEvent,
  ConsumerGroupJoinEvent,
  EachBatchPayload,
  Kafka,
  Consumer as KafkaJsConsumer,
  KafkaMessage,
} from 'kafkajs';
import { invalidRequest, kafkaFailure } from '../client/errors.js';
import type { KafkaConfig } from '../config.js';
import { RecordBuffer } from './record-buffer.js';

export interface KafkaConsumerDeps {
  kafka: Kafka;
  /** The source's admin client (not closed by the consumer). */
  admin: Admin;
  config: KafkaConfig;
  logger: Logger;
  onClose(consumer: KafkaSourceConsumer): void;
}

const OFFSET = /^\d{1,19}$/;
const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

function splitKey(key: string): { topic: string; partition: number } {
  const at = key.lastIndexOf('\u0000');
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
}

function headerValue(value: unknown): string {
  if (Array.isArray(value)) return headerValue(value[value.length - 1]);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return value === undefined || value === null ? '' : String(value);
}

function toSourceRecord(topic: string, partition: number, m: KafkaMessage): SourceRecord {
  const headers: Record<string, string> = {};
  if (m.headers) for (const [name, v] of Object.entries(m.headers)) headers[name] = headerValue(v);
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key === null ? null : m.key.toString('utf8'),
    value: m.value ?? new Uint8Array(0),
    headers,
    timestamp: Number(m.timestamp),
  };
}

interface JoinWaiter {
  resolve(): void;
  reject(error: Error): void;
}

export class KafkaSourceConsumer implements Consumer {
  readonly group: string;
  readonly topics: readonly string[];
  readonly #deps: KafkaConsumerDeps;
  readonly #start: 'earliest' | 'latest';
  readonly #kjs: KafkaJsConsumer;
  readonly #buffer = new RecordBuffer();
  /** Next offset to hand out, per partition this consumer has buffered from or sought. */
  readonly #positions = new Map<string, bigint>();
  #assigned = new Set<string>();
  #paused = false;
  /** Between a join and a crash of the kafkajs consumer. */
  #inGroup = false;
  #fatal: VigilError | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #waiters = new Set<() => void>();
  readonly #joinWaiters = new Set<JoinWaiter>();
  readonly #unsubscribe: (() => void)[] = [];

  private constructor(deps: KafkaConsumerDeps, options: Required<ConsumerOptions>) {
    this.#deps = deps;
    this.group = options.group;
    this.topics = [...new Set(options.topics)];
    this.#start = options.start;
    const { config } = deps;
    this.#kjs = deps.kafka.consumer({
      groupId: options.group,
      sessionTimeout: config.sessionTimeoutMs,
      rebalanceTimeout: config.rebalanceTimeoutMs,
      heartbeatInterval: Math.min(config.heartbeatIntervalMs, Math.floor(config.sessionTimeoutMs / 3)),
      maxWaitTimeInMs: config.maxWaitTimeMs,
      maxBytesPerPartition: config.maxBytesPerPartition,
      maxBytes: config.maxBytes,
      allowAutoTopicCreation: false,
      retry: { retries: config.retries, initialRetryTime: 300, maxRetryTime: 30_000 },
    });
    const { GROUP_JOIN, CRASH } = this.#kjs.events;
    this.#unsubscribe.push(
      this.#kjs.on(GROUP_JOIN, (event) => this.#onJoin(event)),
      this.#kjs.on(CRASH, (event) => this.#onCrash(event)),
    );
  }

  /** Join the group and wait for the first assignment (positions settled) before returning. */
  static async open(
    deps: KafkaConsumerDeps,
    options: Required<ConsumerOptions>,
  ): Promise<KafkaSourceConsumer> {
    const consumer = new KafkaSourceConsumer(deps, options);
    try {
      await consumer.#begin();
      return consumer;
    } catch (error) {
      await consumer.close();
      throw kafkaFailure(error, `consumer of group ${JSON.stringify(options.group)}`, deps.config.brokers);
    }
  }

  async #begin(): Promise<void> {
    const { config } = this.#deps;
    await this.#kjs.connect();
    await this.#kjs.subscribe({ topics: [...this.topics], fromBeginning: this.#start === 'earliest' });
    const joined = this.#nextJoin(
      config.sessionTimeoutMs + config.rebalanceTimeoutMs + config.requestTimeoutMs,
    );
    this.#kjs
      .run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        partitionsConsumedConcurrently: 1,
        eachBatch: async (payload) => this.#onBatch(payload),
      })
      .catch((error: unknown) => this.#fail(error));
    await joined;
    if (this.#start === 'latest') await this.#startAtLatest();
  }

  /**
   * kafkajs resolves 'latest' lazily on its first fetch; pin it now, so every record
   * produced after consumer() returns is delivered.
   */
  async #startAtLatest(): Promise<void> {
    const { admin } = this.#deps;
    const committed = new Set<string>();
    for (const { topic, partitions } of await admin.fetchOffsets({
      groupId: this.group,
      topics: [...this.topics],
    })) {
      for (const p of partitions) if (Number(p.offset) >= 0) committed.add(tpKey(topic, p.partition));
    }
    for (const topic of this.topics) {
      const pending = [...this.#assigned].filter((k) => !committed.has(k) && splitKey(k).topic === topic);
      if (pending.length === 0) continue;
      const offsets = await admin.fetchTopicOffsets(topic);
      for (const key of pending) {
        const { partition } = splitKey(key);
        const high = offsets.find((o) => o.partition === partition)?.high;
        if (high !== undefined && this.#assigned.has(key)) this.#seekTo(topic, partition, BigInt(high));
      }
    }
  }

  #onJoin(event: ConsumerGroupJoinEvent): void {
    if (this.#closed) return;
    this.#inGroup = true;
    const next = new Set<string>();
    for (const [topic, partitions] of Object.entries(event.payload.memberAssignment)) {
      for (const partition of partitions) next.add(tpKey(topic, partition));
    }
    for (const key of this.#assigned) {
      if (next.has(key)) continue;
      this.#buffer.drop(key);
      this.#positions.delete(key);
    }
    for (const key of next) {
      const position = this.#positions.get(key);
      if (position === undefined) continue;
      const { topic, partition } = splitKey(key);
      this.#kjs.seek({ topic, partition, offset: position.toString() });
    }
    this.#assigned = next;
    this.#deps.logger.debug(
      { group: this.group, partitions: next.size, generation: event.payload.memberId },
      'kafka consumer joined its group',
    );
    for (const waiter of this.#joinWaiters) waiter.resolve();
    this.#joinWaiters.clear();
    this.#notify();
  }

  #onCrash(event: ConsumerCrashEvent): void {
    this.#inGroup = false;
    if (this.#closed) return;
    const { error, restart } = event.payload;
    this.#deps.logger.warn({ group: this.group, restart, error: error.message }, 'kafka consumer crashed');
    if (restart) return;
    // kafkajs gives up for good when the group coordinator cannot be found — which is what a
    // broker restart looks like for a while. Rejoin with backoff instead of failing the consumer.
    if (coordinatorMissing(error) && this.#rejoins < this.#deps.config.retries) {
      void this.#rejoin();
      return;
    }
    this.#fail(error);
  }

  #rejoins = 0;

  async #rejoin(): Promise<void> {
    const attempt = ++this.#rejoins;
    const wait = Math.min(30_000, 300 * 2 ** attempt);
    this.#deps.logger.warn(
      { group: this.group, attempt, waitMs: wait },
      'kafka group coordinator not found; rejoining',
    );
    await new Promise((r) => setTimeout(r, wait));
    if (this.#closed) return;
    try {
      await this.#kjs.disconnect().catch(() => undefined);
      await this.#begin();
      this.#rejoins = 0;
    } catch (error) {
      if (this.#closed) return;
      if (coordinatorMissing(error) && this.#rejoins < this.#deps.config.retries) return this.#rejoin();
      this.#fail(error);
    }
  }

  #fail(error: unknown): void {
    if (this.#closed || this.#fatal) return;
    this.#fatal = kafkaFailure(
      error,
      `consumer of group ${JSON.stringify(this.group)}`,
      this.#deps.config.brokers,
    );
    for (const waiter of this.#joinWaiters) waiter.reject(this.#fatal);
    this.#joinWaiters.clear();
    this.#notify();
  }

  #onBatch({ batch, isRunning, isStale }: EachBatchPayload): void {
    // A batch fetched before a seek is stale: the next fetch starts at the sought offset.
    if (this.#closed || !isRunning() || isStale()) return;
    const key = tpKey(batch.topic, batch.partition);
    if (!this.#assigned.has(key) || batch.messages.length === 0) return;
    const records = batch.messages.map((m) => toSourceRecord(batch.topic, batch.partition, m));
    this.#buffer.push(key, records);
    this.#positions.set(key, BigInt(records[records.length - 1]!.offset) + 1n);
    if (!this.#paused && this.#buffer.size >= this.#deps.config.maxBufferedRecords) {
      this.#paused = true;
      this.#kjs.pause(this.topics.map((topic) => ({ topic })));
    }
    this.#notify();
  }

  #notify(): void {
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  #nextJoin(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#fatal) return reject(this.#fatal);
      if (this.#closed) return reject(this.#closedError('join'));
      const timer = setTimeout(() => {
        this.#joinWaiters.delete(waiter);
        reject(
          new VigilError(
            'VIGIL_COMPONENT_FAILED',
            `kafka consumer of group ${JSON.stringify(this.group)} did not join its group within ${timeoutMs} ms (brokers ${this.#deps.config.brokers.join(',')})`,
          ),
        );
      }, timeoutMs);
      const waiter: JoinWaiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#joinWaiters.add(waiter);
    });
  }

  #closedError(method: string): VigilError {
    return new VigilError(
      'VIGIL_SOURCE_CONSUMER_CLOSED',
      `kafka consumer of group ${JSON.stringify(this.group)} is closed; ${method}() is not allowed`,
    );
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw this.#closedError(method);
  }

  #seekTo(topic: string, partition: number, offset: bigint): void {
    const key = tpKey(topic, partition);
    this.#buffer.drop(key);
    this.#positions.set(key, offset);
    this.#kjs.seek({ topic, partition, offset: offset.toString() });
  }

  #checkPosition(p: TopicPartitionOffset, at: string): { topic: string; partition: number; offset: bigint } {
    if (p === null || typeof p !== 'object') throw invalidRequest(`${at} must be an object`);
    if (!this.topics.includes(p.topic)) {
      throw invalidRequest(
        `${at}.topic ${JSON.stringify(p.topic)} is not a topic of this consumer (${this.topics.join(', ')})`,
      );
    }
    if (!Number.isInteger(p.partition) || p.partition < 0) {
      throw invalidRequest(
        `${at}.partition must be a non-negative integer, got ${JSON.stringify(p.partition)}`,
      );
    }
    if (typeof p.offset !== 'string' || !OFFSET.test(p.offset)) {
      throw invalidRequest(`${at}.offset must be a decimal string, got ${JSON.stringify(p.offset)}`);
    }
    return { topic: p.topic, partition: p.partition, offset: BigInt(p.offset) };
  }

  async poll(options: PollOptions = {}): Promise<SourceRecord[]> {
    this.#assertOpen('poll');
    const max = options.maxRecords ?? 500;
    const timeoutMs = options.timeoutMs ?? 1000;
    if (!Number.isInteger(max) || max < 1) {
      throw invalidRequest(
        `maxRecords must be a positive integer, got ${JSON.stringify(options.maxRecords)}`,
      );
    }
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0)) {
      throw invalidRequest(`timeoutMs must be a number >= 0, got ${JSON.stringify(options.timeoutMs)}`);
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#fatal) throw this.#fatal;
      if (this.#closed) return [];
      if (this.#buffer.size > 0) return this.#take(max);
      const left = deadline - Date.now();
      if (left <= 0) return [];
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#waiters.delete(wake);
          resolve();
        }, left);
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        this.#waiters.add(wake);
      });
    }
  }

  #take(max: number): SourceRecord[] {
    const records = this.#buffer.take(max);
    if (this.#paused && this.#buffer.size <= this.#deps.config.maxBufferedRecords / 2) {
      this.#paused = false;
      this.#kjs.resume(this.topics.map((topic) => ({ topic })));
    }
    return records;
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    this.#assertOpen('commit');
    if (!Array.isArray(offsets)) throw invalidRequest('offsets must be an array');
    const wanted = offsets.map((p, i) => this.#checkPosition(p, `offsets[${i}]`));
    if (wanted.length === 0) return;
    const { config } = this.#deps;
    const deadline = Date.now() + config.rebalanceTimeoutMs + config.sessionTimeoutMs;
    // kafkajs silently skips a commit while its consumer restarts after a crash or is
    // between joining and running; only the commit event proves the broker stored it.
    for (;;) {
      let stored = false;
      const off = this.#kjs.on(this.#kjs.events.COMMIT_OFFSETS, (event: ConsumerCommitOffsetsEvent) => {
        stored ||= wanted.every((w) =>
          event.payload.topics.some(
            (t) =>
              t.topic === w.topic &&
              t.partitions.some(
                (p) => p.partition === w.partition && String(p.offset) === w.offset.toString(),
              ),
          ),
        );
      });
      try {
        await this.#kjs.commitOffsets(
          wanted.map((w) => ({ topic: w.topic, partition: w.partition, offset: w.offset.toString() })),
        );
      } catch (error) {
        // While the consumer is out of its group after a crash (rejoining after a broker
        // restart), kafkajs refuses the commit outright; wait for the join as for a skipped one.
        if (this.#inGroup || this.#closed || Date.now() >= deadline || !notRunning(error))
          throw kafkaFailure(error, `commit of group ${JSON.stringify(this.group)}`, config.brokers);
      } finally {
        off();
      }
      if (stored) return;
      this.#assertOpen('commit');
      if (this.#fatal) throw this.#fatal;
      if (Date.now() >= deadline) {
        throw new VigilError(
          'VIGIL_COMPONENT_FAILED',
          `kafka commit of group ${JSON.stringify(this.group)} was not stored: the consumer did not rejoin its group in time`,
        );
      }
      if (this.#inGroup) await new Promise((resolve) => setTimeout(resolve, 20));
      else await this.#nextJoin(Math.max(1, deadline - Date.now()));
    }
  }

  async committed(): Promise<TopicPartitionOffset[]> {
    this.#assertOpen('committed');
    let answer: Awaited<ReturnType<Admin['fetchOffsets']>>;
    try {
      answer = await this.#deps.admin.fetchOffsets({ groupId: this.group, topics: [...this.topics] });
    } catch (error) {
      throw kafkaFailure(
        error,
        `fetching the offsets of group ${JSON.stringify(this.group)}`,
        this.#deps.config.brokers,
      );
    }
    this.#assertOpen('committed');
    const out: TopicPartitionOffset[] = [];
    for (const { topic, partitions } of answer) {
      for (const { partition, offset } of partitions) {
        if (OFFSET.test(offset) && this.#assigned.has(tpKey(topic, partition)))
          out.push({ topic, partition, offset });
      }
    }
    return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  async seek(position: TopicPartitionOffset): Promise<void> {
    this.#assertOpen('seek');
    const { topic, partition, offset } = this.#checkPosition(position, 'position');
    if (!this.#assigned.has(tpKey(topic, partition))) {
      throw invalidRequest(
        `position: partition ${partition} of topic ${JSON.stringify(topic)} is not assigned to this consumer`,
      );
    }
    let bounds: Awaited<ReturnType<Admin['fetchTopicOffsets']>>;
    try {
      bounds = await this.#deps.admin.fetchTopicOffsets(topic);
    } catch (error) {
      throw kafkaFailure(
        error,
        `reading the offsets of topic ${JSON.stringify(topic)}`,
        this.#deps.config.brokers,
      );
    }
    this.#assertOpen('seek');
    const range = bounds.find((b) => b.partition === partition);
    if (!range || offset < BigInt(range.low) || offset > BigInt(range.high)) {
      throw new VigilError(
        'VIGIL_SOURCE_INVALID_OFFSET',
        `position.offset ${offset} is outside partition ${partition} of topic ${JSON.stringify(topic)}${range ? ` (${range.low}–${range.high})` : ''}`,
      );
    }
    this.#seekTo(topic, partition, offset);
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#buffer.clear();
    this.#notify();
    for (const waiter of this.#joinWaiters) waiter.reject(this.#closedError('join'));
    this.#joinWaiters.clear();
    this.#closing = (async () => {
      try {
        await this.#kjs.disconnect();
      } catch (error) {
        this.#deps.logger.warn(
          { group: this.group, error: error instanceof Error ? error.message : String(error) },
          'kafka consumer did not leave its group cleanly',
        );
      } finally {
        for (const off of this.#unsubscribe) off();
        this.#deps.onClose(this);
      }
    })();
    return this.#closing;
  }
}

/** Whether kafkajs failed because the group coordinator could not be found (e.g. a broker restarting). */
/** kafkajs's refusal of a commit while its consumer is not running (stopped or restarting). */
function notRunning(error: unknown): boolean {
  return /consumer group was not initialized|consumer#run must be called/i.test(
    (error as { message?: string } | undefined)?.message ?? '',
  );
}

function coordinatorMissing(error: unknown): boolean {
  for (
    let e = error as { name?: string; message?: string; cause?: unknown } | undefined;
    e;
    e = e.cause as typeof e
  ) {
    if (e.name === 'KafkaJSGroupCoordinatorNotFound' || /group coordinator/i.test(e.message ?? ''))
      return true;
  }
  return false;
}
