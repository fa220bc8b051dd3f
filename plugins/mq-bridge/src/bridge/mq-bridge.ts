/**
 * The MQ bridge: forwards the records of chosen Source topics to a queue, at least once.
 *
 * One cycle (`drainOnce`): poll a batch with the bridge's own consumer group → send it to
 * the queue, which resolves only once the broker accepted every message durably → commit
 * the Source offsets. A crash anywhere before the commit replays the batch from the last
 * commit on restart, so nothing is lost; what the broker already had arrives again with the
 * same message id (`<topic>/<partition>/<offset>`), so duplicates are detectable.
 *
 * A failed send rewinds the consumer to the batch and `start()` retries it with backoff.
 */
import type { Consumer, Logger, Source, SourceRecord, TopicPartitionOffset } from '@vigil/core';
import { VigilError } from '@vigil/core';
import type { QueueSink } from '../transport/queue-transport.js';
import { recordMessage } from './record-message.js';

export interface MqBridgeOptions {
  source: Source;
  sink: QueueSink;
  topics: readonly string[];
  group: string;
  start?: 'earliest' | 'latest';
  batchSize?: number;
  pollTimeoutMs?: number;
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  logger: Logger;
}

export interface DrainResult {
  /** Records sent and committed in this cycle. */
  forwarded: number;
}

export interface MqBridgeStats {
  /** Records forwarded and committed since this bridge was created. */
  forwarded: number;
  /** Batches that failed and were retried. */
  failures: number;
  /** The last failure, if the bridge has not forwarded a batch since. */
  lastError: string | undefined;
}

/** Next offsets to commit for a batch: one past the highest offset of each partition. */
function commitPositions(records: readonly SourceRecord[]): TopicPartitionOffset[] {
  const next = new Map<string, TopicPartitionOffset>();
  for (const r of records) {
    const key = `${r.topic}\u0000${r.partition}`;
    const offset = (BigInt(r.offset) + 1n).toString();
    const seen = next.get(key);
    if (!seen || BigInt(seen.offset) < BigInt(offset))
      next.set(key, { topic: r.topic, partition: r.partition, offset });
  }
  return [...next.values()];
}

/** Where to resume after a failed batch: the lowest offset of each partition in it. */
function rewindPositions(records: readonly SourceRecord[]): TopicPartitionOffset[] {
  const first = new Map<string, TopicPartitionOffset>();
  for (const r of records) {
    const key = `${r.topic}\u0000${r.partition}`;
    const seen = first.get(key);
    if (!seen || BigInt(r.offset) < BigInt(seen.offset)) {
      first.set(key, { topic: r.topic, partition: r.partition, offset: r.offset });
    }
  }
  return [...first.values()];
}

export class MqBridge {
  readonly #options: Required<Omit<MqBridgeOptions, 'logger'>> & { logger: Logger };
  #consumer: Promise<Consumer> | undefined;
  #cycle: Promise<DrainResult> = Promise.resolve({ forwarded: 0 });
  #loop: Promise<void> | undefined;
  #stopping: AbortController | undefined;
  #closed = false;
  readonly #stats: MqBridgeStats = { forwarded: 0, failures: 0, lastError: undefined };

  constructor(options: MqBridgeOptions) {
    if (options.topics.length === 0) {
      throw new VigilError('VIGIL_QUEUE_INVALID_REQUEST', 'topics must name at least one Source topic');
    }
    this.#options = {
      start: 'earliest',
      batchSize: 200,
      pollTimeoutMs: 1_000,
      retryDelayMs: 1_000,
      maxRetryDelayMs: 30_000,
      ...options,
    };
  }

  get stats(): Readonly<MqBridgeStats> {
    return { ...this.#stats };
  }

  get running(): boolean {
    return this.#loop !== undefined;
  }

  #openConsumer(): Promise<Consumer> {
    this.#consumer ??= this.#options.source
      .consumer({ group: this.#options.group, topics: [...this.#options.topics], start: this.#options.start })
      .catch((error: unknown) => {
        this.#consumer = undefined;
        throw error;
      });
    return this.#consumer;
  }

  /** One poll → send → commit cycle; resolves with what was forwarded (0 when nothing was waiting). */
  drainOnce(timeoutMs = this.#options.pollTimeoutMs): Promise<DrainResult> {
    if (this.#closed)
      return Promise.reject(new VigilError('VIGIL_KERNEL_CLOSED', 'the MQ bridge is stopped'));
    const run = this.#cycle.catch(() => undefined).then(() => this.#drain(timeoutMs));
    this.#cycle = run;
    return run;
  }

  async #drain(timeoutMs: number): Promise<DrainResult> {
    const consumer = await this.#openConsumer();
    const records = await consumer.poll({ maxRecords: this.#options.batchSize, timeoutMs });
    if (records.length === 0) return { forwarded: 0 };
    try {
      await this.#options.sink.send(records.map(recordMessage));
    } catch (error) {
      await this.#rewind(consumer, records);
      throw error;
    }
    // The broker has every message; only now may the Source forget them.
    await consumer.commit(commitPositions(records));
    this.#stats.forwarded += records.length;
    this.#stats.lastError = undefined;
    return { forwarded: records.length };
  }

  /** Put the consumer back at the first record of the failed batch, so the retry resends it. */
  async #rewind(consumer: Consumer, records: readonly SourceRecord[]): Promise<void> {
    if (this.#options.source.capabilities.replay) {
      for (const position of rewindPositions(records)) await consumer.seek(position);
      return;
    }
    // Without seek, a new consumer of the group resumes at the last commit.
    this.#consumer = undefined;
    await consumer.close();
  }

  /** Forward continuously until `stop()`; a failed batch is retried with backoff (doubling, capped). */
  start(): void {
    if (this.#closed) throw new VigilError('VIGIL_KERNEL_CLOSED', 'the MQ bridge is stopped');
    if (this.#loop) return;
    const stopping = new AbortController();
    this.#stopping = stopping;
    this.#loop = this.#run(stopping.signal).finally(() => {
      this.#loop = undefined;
    });
  }

  async #run(signal: AbortSignal): Promise<void> {
    const { logger, retryDelayMs, maxRetryDelayMs } = this.#options;
    let delay = retryDelayMs;
    while (!signal.aborted) {
      try {
        const { forwarded } = await this.drainOnce();
        if (forwarded > 0)
          logger.debug({ forwarded, total: this.#stats.forwarded }, 'mq-bridge forwarded a batch');
        delay = retryDelayMs;
      } catch (error) {
        if (signal.aborted) break;
        this.#stats.failures += 1;
        this.#stats.lastError = error instanceof Error ? error.message : String(error);
        logger.warn(
          { err: error, retryInMs: delay, queue: this.#options.sink.queue },
          'mq-bridge batch failed; it will be resent',
        );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, delay);
          signal.addEventListener('abort', done, { once: true });
          function done() {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            resolve();
          }
        });
        delay = Math.min(delay * 2, maxRetryDelayMs);
      }
    }
  }

  /** Stop forwarding: let the batch in flight finish (send and commit), then leave the group. Idempotent. */
  async stop(): Promise<void> {
    this.#closed = true;
    this.#stopping?.abort();
    await this.#loop;
    await this.#cycle.catch(() => undefined);
    const consumer = this.#consumer;
    this.#consumer = undefined;
    if (consumer) await (await consumer.catch(() => undefined))?.close();
  }
}
