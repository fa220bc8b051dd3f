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
import { isVigilError } from '@vigil/core';
import type { QueueSinkFixture } from '@vigil/core/testing';
import { describeContract, queueSinkContract } from '@vigil/core/testing';
import { describe, it } from 'vitest';
import { ibmmqConfig } from './config.js';
import { IbmMqQueueReader } from './ibmmq/ibmmq-queue-reader.js';
import { IbmMqQueueSink } from './ibmmq/ibmmq-queue-sink.js';
import { openQueueSink } from './transport/open-transport.js';
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
} else {
  describe('queue-sink contract: ibmmq', () => {
    it.skip('needs an IBM MQ queue manager: set VIGIL_IBMMQ_QMGR (no queue manager can run on this machine)', () => {});
  });
}
