/**
 * The IBM MQ (MQI) transport. No queue manager can run on this machine, so the contract
 * suite runs only when one is configured:
 *
 *   VIGIL_IBMMQ_QMGR=QM1 VIGIL_IBMMQ_CHANNEL=DEV.APP.SVRCONN VIGIL_IBMMQ_CONNNAME='localhost(1414)'
 *   VIGIL_IBMMQ_USER=app VIGIL_IBMMQ_PASSWORD=… VIGIL_IBMMQ_QUEUE=DEV.QUEUE.1
 *   VIGIL_IBMMQ_REFUSING_QUEUE=VIGIL.REFUSING   # optional: a local queue defined with PUT(DISABLED)
 *
 * (and `npm install ibmmq`). Without VIGIL_IBMMQ_QMGR the suite is skipped with that reason;
 * what always runs is the lazy-loading path: without the package the transport fails with
 * an error that says how to install it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileLogSource } from '@vigil/adapter-file-log';
import { createLogger, isVigilError } from '@vigil/core';
import type { QueueSinkFixture } from '@vigil/core/testing';
import { createTestContext, describeContract, queueSinkContract } from '@vigil/core/testing';
import { describe, it } from 'vitest';
import { ibmmqConfig, mqBridgeConfig } from './config.js';
import { IbmMqQueueReader } from './ibmmq/ibmmq-queue-reader.js';
import { IbmMqQueueSink } from './ibmmq/ibmmq-queue-sink.js';
import { createMessageCheck } from './inbound/message-check.js';
import { MqInbound } from './inbound/mq-inbound.js';
import { mqBridgePlugin } from './index.js';
import { openQueueReader, openQueueSink } from './transport/open-transport.js';
import type { QueueSink } from './transport/queue-transport.js';

const qmgr = process.env.VIGIL_IBMMQ_QMGR;

async function ibmmqInstalled(): Promise<boolean> {
  const specifier = 'ibmmq';
  return import(specifier).then(
    () => true,
    () => false,
  );
}

describe('ibmmq transport without the package', () => {
  it('fails with an error that names `npm install ibmmq`, after validating the queue name', async (ctx) => {
    if (await ibmmqInstalled()) ctx.skip('the ibmmq package is installed here');
    const config = {
      transport: 'ibmmq' as const,
      ibmmq: ibmmqConfig.parse({
        queueManager: 'QM1',
        channel: 'DEV.APP.SVRCONN',
        connName: 'localhost(1414)',
      }),
    };
    await assert.rejects(
      () => openQueueSink(config, 'DEV.QUEUE.1'),
      (error: unknown) =>
        isVigilError(error, 'VIGIL_COMPONENT_FAILED') && error.message.includes('npm install ibmmq'),
    );
    await assert.rejects(
      () => openQueueSink(config, 'not-an-mq-name'),
      (error: unknown) =>
        isVigilError(error, 'VIGIL_QUEUE_INVALID_REQUEST') && error.message.includes('not-an-mq-name'),
    );
    await assert.rejects(
      () => openQueueReader(config, 'DEV.QUEUE.1'),
      (error: unknown) =>
        isVigilError(error, 'VIGIL_COMPONENT_FAILED') && error.message.includes('npm install ibmmq'),
    );
  });

  it('the plugin with an inbound route over ibmmq fails its start with the same error', async (ctx) => {
    if (await ibmmqInstalled()) ctx.skip('the ibmmq package is installed here');
    const test = await createTestContext();
    const source = await fileLogSource.create(
      fileLogSource.config.parse({ dir: join(test.workdir, 'log') }),
      test,
    );
    const withSource = await createTestContext({ ports: { source } });
    try {
      const config = mqBridgeConfig.parse({
        transport: 'ibmmq',
        ibmmq: { queueManager: 'QM1' },
        inbound: { routes: [{ queue: 'HOSPITAL.EHR.OUT', topic: 'vitals' }] },
      });
      await assert.rejects(
        () => mqBridgePlugin.create(config, withSource),
        (error: unknown) =>
          isVigilError(error, 'VIGIL_COMPONENT_FAILED') && error.message.includes('npm install ibmmq'),
      );
    } finally {
      await source.close();
      await withSource.cleanup();
      await test.cleanup();
    }
  });
});

if (qmgr) {
  const options = ibmmqConfig.parse({
    queueManager: qmgr,
    channel: process.env.VIGIL_IBMMQ_CHANNEL,
    connName: process.env.VIGIL_IBMMQ_CONNNAME,
    username: process.env.VIGIL_IBMMQ_USER,
    password: process.env.VIGIL_IBMMQ_PASSWORD,
    waitIntervalMs: 50,
  });
  const queue = process.env.VIGIL_IBMMQ_QUEUE ?? 'DEV.QUEUE.1';
  const refusing = process.env.VIGIL_IBMMQ_REFUSING_QUEUE;

  /** MQ cannot create queues on the fly: empty the configured queue before each case. */
  async function emptyQueue(): Promise<void> {
    const reader = await IbmMqQueueReader.open(options, queue);
    try {
      while ((await reader.receive(500, 0)).length > 0) await reader.ack();
      await reader.ack();
    } finally {
      await reader.close();
    }
  }

  describeContract(queueSinkContract, `ibmmq (${qmgr})`, async (): Promise<QueueSinkFixture> => {
    await emptyQueue();
    const sinks: QueueSink[] = [];
    const open = async (name: string) => {
      const sink = await IbmMqQueueSink.open(options, name);
      sinks.push(sink);
      return sink;
    };
    return {
      impl: await open(queue),
      queue,
      sinkFor: open,
      reader: () => IbmMqQueueReader.open(options, queue),
      ...(refusing ? { refusingSink: () => open(refusing) } : {}),
      waitMs: 5_000,
      async cleanup() {
        await Promise.all(sinks.map((s) => s.close()));
      },
    };
  });

  describe(`mq-bridge inbound over ibmmq (${qmgr})`, () => {
    it('consumes the queue into a Source topic once per message id, poison dead-lettered, all acknowledged', async () => {
      await emptyQueue();
      const sink = await IbmMqQueueSink.open(options, queue);
      const body = (s: string) => new TextEncoder().encode(s);
      try {
        await sink.send([
          { messageId: 'in-1', body: body('{"hr":70}'), properties: {} },
          { messageId: 'in-2', body: body('{"hr":71}'), properties: {} },
          { messageId: 'in-1', body: body('{"hr":70}'), properties: {} },
          { messageId: 'in-3', body: body('{"hr":'), properties: {} },
        ]);
      } finally {
        await sink.close();
      }
      const test = await createTestContext();
      const source = await fileLogSource.create(
        fileLogSource.config.parse({ dir: join(test.workdir, 'log') }),
        test,
      );
      const config = mqBridgeConfig.parse({
        transport: 'ibmmq',
        ibmmq: options,
        inbound: { routes: [{ queue, topic: 'hospital' }], deadLetterTopic: 'hospital-dlq' },
      });
      const inbound = new MqInbound({
        source,
        openReader: (q) => openQueueReader(config, q),
        routes: config.inbound!.routes,
        deadLetterTopic: 'hospital-dlq',
        group: 'ibmmq-inbound-test',
        check: createMessageCheck(config.inbound!, undefined),
        logger: createLogger({ level: 'silent' }),
      });
      try {
        let received = 0;
        for (;;) {
          const [r] = await inbound.drainOnce(2_000);
          if (!r || r.received === 0) break;
          received += r.received;
        }
        assert.equal(received, 4);
        assert.equal(inbound.stats.forwarded, 2);
        assert.equal(inbound.stats.duplicates, 1);
        assert.equal(inbound.stats.deadLettered.unparseable, 1);
      } finally {
        await inbound.stop();
        await source.close();
        await test.cleanup();
      }
      const reader = await IbmMqQueueReader.open(options, queue);
      try {
        assert.equal((await reader.receive(10, 500)).length, 0, 'everything was acknowledged (committed)');
      } finally {
        await reader.close();
      }
    });
  });
} else {
  describe('mq-bridge inbound over ibmmq', () => {
    it.skip('needs an IBM MQ queue manager: set VIGIL_IBMMQ_QMGR (no queue manager can run on this machine)', () => {});
  });
  describe('queue-sink contract: ibmmq', () => {
    it.skip('needs an IBM MQ queue manager: set VIGIL_IBMMQ_QMGR (no queue manager can run on this machine)', () => {});
  });
}
