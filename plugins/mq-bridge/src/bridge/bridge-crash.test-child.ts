/**
 * Child process of bridge-crash.test.ts: runs the MQ bridge from a file-log Source to an
 * Artemis queue, printing `forwarded <n>` after each committed batch and `done` once caught
 * up. With a third argument k it SIGKILLs itself right after the broker accepted its k-th
 * batch — before the Source commit — the worst moment for a crash.
 *
 *   node --conditions=@vigil/source --import tsx bridge-crash.test-child.ts <dir> <queue> [k]
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileLogSource } from '@vigil/adapter-file-log';
import { createLogger } from '@vigil/core';
import { AmqpQueueSink } from '../amqp/amqp-queue-sink.js';
import { artemisOptions } from '../testing/artemis.js';
import type { QueueMessage, QueueSink } from '../transport/queue-transport.js';
import { MqBridge } from './mq-bridge.js';

export const CRASH_TOPICS = ['vitals', 'labs'];
export const CRASH_PARTITIONS = 3;
export const CRASH_GROUP = 'regulatory-bridge';
export const CRASH_BATCH = 40;

/** Dies (SIGKILL) right after the broker accepted batch number `k`. */
class DieAfterSend implements QueueSink {
  readonly #inner: QueueSink;
  readonly #k: number;
  #sent = 0;
  constructor(inner: QueueSink, k: number) {
    this.#inner = inner;
    this.#k = k;
  }
  get capabilities() {
    return this.#inner.capabilities;
  }
  get queue() {
    return this.#inner.queue;
  }
  async send(messages: readonly QueueMessage[]): Promise<void> {
    await this.#inner.send(messages);
    this.#sent += 1;
    if (this.#sent === this.#k) process.kill(process.pid, 'SIGKILL');
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

async function main(dir: string, queue: string, k: number | undefined): Promise<void> {
  const logger = createLogger({ level: 'silent' });
  const source = await FileLogSource.open({
    dir,
    defaultPartitions: CRASH_PARTITIONS,
    fsync: 'batch',
    segmentBytes: 1024 * 1024,
    logger,
  });
  const amqp = await AmqpQueueSink.open(artemisOptions(), queue);
  const sink = k === undefined ? amqp : new DieAfterSend(amqp, k);
  const bridge = new MqBridge({
    source,
    sink,
    topics: CRASH_TOPICS,
    group: CRASH_GROUP,
    batchSize: CRASH_BATCH,
    logger,
  });
  let total = 0;
  for (;;) {
    const { forwarded } = await bridge.drainOnce(200);
    if (forwarded === 0) break;
    total += forwarded;
    process.stdout.write(`forwarded ${total}\n`);
  }
  await bridge.stop();
  await sink.close();
  await source.close();
  process.stdout.write('done\n');
}

const entry = process.argv[1];
if (entry && resolve(entry) === fileURLToPath(import.meta.url)) {
  const [dir, queue, k] = process.argv.slice(2);
  if (!dir || !queue) throw new Error('usage: bridge-crash.test-child.ts <dir> <queue> [k]');
  await main(dir, queue, k === undefined ? undefined : Number(k));
}
