/**
 * The ids of the messages the inbound bridge has put into the Source, per queue — read back
 * from the Source itself (the `mq-message-id` / `mq-queue` headers of the target and
 * dead-letter topics), so it is exactly what is durable there, whatever a crash interrupted.
 *
 * `refresh()` reads each partition from where the index last read it up to its current end
 * (the first refresh reads every topic from the start); `add()` records what this process
 * just produced. A message whose id is in the index is a duplicate.
 */
import type { Logger, Source } from '@vigil/core';
import { VigilError } from '@vigil/core';
import { MESSAGE_ID_HEADER, QUEUE_HEADER } from './headers.js';

const entry = (queue: string, id: string) => `${queue}\u0000${id}`;

export interface MessageIndexOptions {
  source: Source;
  /** Topics the bridge writes (every route topic and the dead-letter topic). */
  topics: readonly string[];
  /** Consumer group the index reads with; it never commits. */
  group: string;
  logger: Logger;
  /** Give up a refresh that makes no progress for this long (ms). Default 120 000. */
  stallTimeoutMs?: number;
}

export class MessageIndex {
  readonly #options: MessageIndexOptions;
  readonly #ids = new Set<string>();
  /** Next offset to read, per `<topic>\0<partition>`. */
  readonly #next = new Map<string, bigint>();

  constructor(options: MessageIndexOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#ids.size;
  }

  has(queue: string, id: string): boolean {
    return this.#ids.has(entry(queue, id));
  }

  add(queue: string, id: string): void {
    this.#ids.add(entry(queue, id));
  }

  /** Read what the Source holds beyond the last refresh; resolves once every partition is read to its end. */
  async refresh(): Promise<void> {
    const { source, group, logger } = this.#options;
    const behind = new Map<string, bigint>();
    const topics = new Set<string>();
    for (const topic of this.#options.topics) {
      const info = await source.describeTopic(topic);
      info.endOffsets.forEach((end, partition) => {
        const key = `${topic}\u0000${partition}`;
        if ((this.#next.get(key) ?? 0n) < BigInt(end)) {
          behind.set(key, BigInt(end));
          topics.add(topic);
        }
      });
    }
    if (behind.size === 0) return;
    const started = Date.now();
    const consumer = await source.consumer({ group, topics: [...topics], start: 'earliest' });
    let read = 0;
    try {
      if (source.capabilities.replay) {
        for (const key of behind.keys()) {
          const next = this.#next.get(key) ?? 0n;
          if (next === 0n) continue;
          const [topic, partition] = key.split('\u0000') as [string, string];
          await consumer.seek({ topic, partition: Number(partition), offset: next.toString() });
        }
      }
      const stallMs = this.#options.stallTimeoutMs ?? 120_000;
      let progressAt = Date.now();
      while (behind.size > 0) {
        const records = await consumer.poll({ maxRecords: 5_000, timeoutMs: 500 });
        if (records.length > 0) progressAt = Date.now();
        else if (Date.now() - progressAt > stallMs) {
          throw new VigilError(
            'VIGIL_COMPONENT_FAILED',
            `could not read the bridge's topics to their end within ${stallMs} ms (${behind.size} partition(s) behind)`,
          );
        }
        for (const r of records) {
          read += 1;
          const id = r.headers[MESSAGE_ID_HEADER];
          const queue = r.headers[QUEUE_HEADER];
          if (id !== undefined && queue !== undefined) this.add(queue, id);
          const key = `${r.topic}\u0000${r.partition}`;
          const next = BigInt(r.offset) + 1n;
          if ((this.#next.get(key) ?? 0n) < next) this.#next.set(key, next);
          const end = behind.get(key);
          if (end !== undefined && next >= end) behind.delete(key);
        }
      }
    } finally {
      await consumer.close();
    }
    logger.info(
      { records: read, ids: this.#ids.size, ms: Date.now() - started },
      'mq-bridge inbound: message-id index read from the Source',
    );
  }
}
