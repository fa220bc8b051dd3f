/**
 * The bridge and its plugin descriptor, from the embedded file-log Source to Artemis
 * (`bash scripts/services up artemis`).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileLogSource } from '@vigil/adapter-file-log';
import type { Source } from '@vigil/core';
import { createLogger, isVigilError } from '@vigil/core';
import { createTestContext } from '@vigil/core/testing';
import { describe, it } from 'vitest';
import { AmqpQueueReader } from '../amqp/amqp-queue-reader.js';
import { AmqpQueueSink } from '../amqp/amqp-queue-sink.js';
import { mqBridgeConfig } from '../config.js';
import type { MqBridgePluginInstance } from '../index.js';
import { mqBridgePlugin } from '../index.js';
import { artemisOptions, requireArtemis, testQueue } from '../testing/artemis.js';
import type { QueueMessage, QueueSink, ReceivedQueueMessage } from '../transport/queue-transport.js';
import { MqBridge } from './mq-bridge.js';

async function withSource<T>(use: (source: Source) => Promise<T>): Promise<T> {
  const ctx = await createTestContext();
  const source = await fileLogSource.create(
    fileLogSource.config.parse({ dir: join(ctx.workdir, 'log'), defaultPartitions: 2 }),
    ctx,
  );
  try {
    return await use(source);
  } finally {
    await source.close();
    await ctx.cleanup();
  }
}

async function readAll(queue: string, atLeast: number): Promise<ReceivedQueueMessage[]> {
  const reader = await AmqpQueueReader.open(artemisOptions(), queue);
  try {
    const out: ReceivedQueueMessage[] = [];
    const deadline = Date.now() + 5_000;
    while (out.length < atLeast && Date.now() < deadline) out.push(...(await reader.receive(100, 500)));
    out.push(...(await reader.receive(100, 200)));
    await reader.ack();
    return out;
  } finally {
    await reader.close();
  }
}

/** The real sink with its first `n` sends failing before anything reaches the broker. */
class FailFirst implements QueueSink {
  readonly #inner: QueueSink;
  #left: number;
  constructor(inner: QueueSink, n: number) {
    this.#inner = inner;
    this.#left = n;
  }
  get capabilities() {
    return this.#inner.capabilities;
  }
  get queue() {
    return this.#inner.queue;
  }
  async send(messages: readonly QueueMessage[]): Promise<void> {
    if (this.#left > 0) {
      this.#left -= 1;
      throw new Error('injected: broker unreachable');
    }
    return this.#inner.send(messages);
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

describe('MqBridge', () => {
  it('the plugin forwards records with position ids and properties, and commits after the send', async () => {
    await requireArtemis();
    await withSource(async (source) => {
      await source.ensureTopic('vitals', { partitions: 2 });
      await source.ensureTopic('ignored', { partitions: 1 });
      const positions = await source.produce([
        { topic: 'vitals', key: 'site-1', value: 'hr=71', headers: { unit: 'bpm' } },
        { topic: 'vitals', key: 'site-2', value: 'hr=88' },
        { topic: 'ignored', value: 'not forwarded' },
      ]);
      const queue = testQueue('plugin');
      const ctx = await createTestContext({ ports: { source } });
      const config = mqBridgeConfig.parse({
        transport: 'amqp',
        topics: ['vitals'],
        queue,
        group: 'bridge-test',
        autoStart: false,
        amqp: artemisOptions(),
      });
      const instance = (await mqBridgePlugin.create(config, ctx)) as MqBridgePluginInstance;
      try {
        assert.deepEqual(await instance.bridge!.drainOnce(500), { forwarded: 2 });
        assert.deepEqual(await instance.bridge!.drainOnce(0), { forwarded: 0 });
      } finally {
        await instance.close?.();
        await instance.close?.();
        await ctx.cleanup();
      }
      const got = await readAll(queue, 2);
      const byId = new Map(got.map((m) => [m.messageId, m]));
      assert.equal(got.length, 2);
      for (const [i, p] of positions.slice(0, 2).entries()) {
        const m = byId.get(`vitals/${p.partition}/${p.offset}`);
        assert.ok(m, `message for vitals/${p.partition}/${p.offset}`);
        assert.equal(Buffer.from(m.body).toString(), i === 0 ? 'hr=71' : 'hr=88');
        assert.equal(m.properties.vigilKey, i === 0 ? 'site-1' : 'site-2');
        assert.equal(m.properties.vigilPartition, p.partition);
        assert.equal(m.properties.vigilOffset, p.offset);
        assert.equal(typeof m.properties.vigilTimestamp, 'number');
      }
      assert.equal(
        byId.get(`vitals/${positions[0]!.partition}/${positions[0]!.offset}`)?.properties.vigilHeaders,
        '{"unit":"bpm"}',
      );
      const consumer = await source.consumer({ group: 'bridge-test', topics: ['vitals'] });
      const committed = await consumer.committed();
      await consumer.close();
      for (const p of positions.slice(0, 2)) {
        const c = committed.find((x) => x.partition === p.partition);
        assert.equal(
          c?.offset,
          String(Number(p.offset) + 1),
          `partition ${p.partition} committed past its record`,
        );
      }
    });
  });

  it('a failed send commits nothing and the batch is sent again, once, on the next cycle', async () => {
    await requireArtemis();
    await withSource(async (source) => {
      await source.ensureTopic('labs', { partitions: 2 });
      await source.produce(
        Array.from({ length: 10 }, (_, i) => ({ topic: 'labs', key: `k${i}`, value: `alt=${i}` })),
      );
      const queue = testQueue('retry');
      const sink = new FailFirst(await AmqpQueueSink.open(artemisOptions(), queue), 1);
      const logger = createLogger({ level: 'silent' });
      const bridge = new MqBridge({ source, sink, topics: ['labs'], group: 'retry', batchSize: 100, logger });
      try {
        await assert.rejects(() => bridge.drainOnce(500), /injected/);
        assert.deepEqual(await bridge.drainOnce(500), { forwarded: 10 }, 'the rewound batch is sent again');
        assert.deepEqual(await bridge.drainOnce(0), { forwarded: 0 });
      } finally {
        await bridge.stop();
        await bridge.stop();
        await sink.close();
      }
      await assert.rejects(
        () => bridge.drainOnce(0),
        (e: unknown) => isVigilError(e, 'VIGIL_KERNEL_CLOSED'),
      );
      const got = await readAll(queue, 10);
      assert.equal(got.length, 10, 'each record once: the failed send reached nothing');
      assert.equal(new Set(got.map((m) => m.messageId)).size, 10);
    });
  });

  it('start() keeps forwarding, retries failed batches with backoff, and stop() ends after the batch in flight', async () => {
    await requireArtemis();
    await withSource(async (source) => {
      await source.ensureTopic('symptoms', { partitions: 2 });
      const queue = testQueue('loop');
      const sink = new FailFirst(await AmqpQueueSink.open(artemisOptions(), queue), 2);
      const logger = createLogger({ level: 'silent' });
      const bridge = new MqBridge({
        source,
        sink,
        topics: ['symptoms'],
        group: 'loop',
        batchSize: 7,
        pollTimeoutMs: 100,
        retryDelayMs: 20,
        maxRetryDelayMs: 40,
        logger,
      });
      bridge.start();
      bridge.start();
      assert.equal(bridge.running, true);
      await source.produce(
        Array.from({ length: 30 }, (_, i) => ({ topic: 'symptoms', value: `nausea=${i % 3}` })),
      );
      const deadline = Date.now() + 10_000;
      while (bridge.stats.forwarded < 30 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      await bridge.stop();
      await sink.close();
      assert.equal(bridge.running, false);
      assert.equal(bridge.stats.forwarded, 30);
      assert.equal(bridge.stats.failures, 2);
      assert.equal(bridge.stats.lastError, undefined);
      const got = await readAll(queue, 30);
      assert.equal(new Set(got.map((m) => m.messageId)).size, 30);
      assert.equal(got.length, 30);
    });
  });
});

describe('mq-bridge config', () => {
  it('reports every problem with its path', () => {
    const result = mqBridgeConfig.safeParse({
      transport: 'ibmmq',
      topics: [],
      queue: 'Q',
      retryDelayMs: 500,
      maxRetryDelayMs: 100,
      extra: true,
    });
    assert.equal(result.success, false);
    const paths = result.error!.issues.map((i) => i.path.join('.'));
    for (const p of ['topics', '']) assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
    const again = mqBridgeConfig.safeParse({
      transport: 'ibmmq',
      topics: ['vitals'],
      queue: 'Q',
      ibmmq: { queueManager: 'QM1', channel: 'DEV.APP.SVRCONN' },
      retryDelayMs: 500,
      maxRetryDelayMs: 100,
    });
    assert.equal(again.success, false);
    assert.deepEqual(again.error!.issues.map((i) => i.path.join('.')).sort(), [
      'ibmmq.connName',
      'maxRetryDelayMs',
    ]);
    const missing = mqBridgeConfig.safeParse({ transport: 'ibmmq', topics: ['vitals'], queue: 'Q' });
    assert.deepEqual(
      missing.error?.issues.map((i) => i.path.join('.')),
      ['ibmmq'],
    );
  });

  it('fills defaults', () => {
    const config = mqBridgeConfig.parse({ transport: 'amqp', topics: ['vitals'], queue: 'regulatory' });
    assert.equal(config.group, 'vigil-mq-bridge');
    assert.equal(config.batchSize, 200);
    assert.equal(config.autoStart, true);
    assert.equal(config.amqp, undefined);
  });
});
