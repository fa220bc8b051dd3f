/**
 * The AMQP 1.0 transport against ActiveMQ Artemis (`bash scripts/services up artemis`): the
 * queue-sink contract, and the contract catching the real sink with one injected bug.
 */
import assert from 'node:assert/strict';
import type { QueueSinkFixture } from '@vigil/core/testing';
import { checkContract, describeContract, queueSinkContract } from '@vigil/core/testing';
import { describe, it } from 'vitest';
import { AmqpQueueReader } from './amqp/amqp-queue-reader.js';
import { AmqpQueueSink } from './amqp/amqp-queue-sink.js';
import { artemisOptions, requireArtemis, testQueue } from './testing/artemis.js';
import type { QueueMessage, QueueSink } from './transport/queue-transport.js';

function fixtureWith(wrap: (sink: QueueSink) => QueueSink = (s) => s): () => Promise<QueueSinkFixture> {
  return async () => {
    await requireArtemis();
    const options = artemisOptions();
    const queue = testQueue('contract');
    const sinks: QueueSink[] = [];
    const open = async (name: string) => {
      const sink = wrap(await AmqpQueueSink.open(options, name));
      sinks.push(sink);
      return sink;
    };
    return {
      impl: await open(queue),
      queue,
      sinkFor: open,
      reader: () => AmqpQueueReader.open(options, queue),
      refusingSink: () => open(testQueue('refusing').replace('vigil.test.', 'vigil.test.refusing.')),
      waitMs: 3_000,
      async cleanup() {
        await Promise.all(sinks.map((s) => s.close()));
      },
    };
  };
}

describeContract(queueSinkContract, 'amqp (Artemis)', fixtureWith());

/** The real sink, but the batch is "sent" without waiting for the broker's dispositions. */
class FireAndForget implements QueueSink {
  readonly #inner: QueueSink;
  constructor(inner: QueueSink) {
    this.#inner = inner;
  }
  get capabilities() {
    return this.#inner.capabilities;
  }
  get queue() {
    return this.#inner.queue;
  }
  async send(messages: readonly QueueMessage[]): Promise<void> {
    this.#inner.send(messages).catch(() => {});
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

describe('queue-sink contract catches a broken AMQP sink', () => {
  it('fails the refusal case when send() does not wait for the broker', async () => {
    const contract = {
      ...queueSinkContract,
      cases: queueSinkContract.cases.filter((c) => c.name.includes('broker refuses')),
    };
    const report = await checkContract(
      contract,
      fixtureWith((s) => new FireAndForget(s)),
    );
    assert.deepEqual(
      report.failed.map((f) => f.name),
      contract.cases.map((c) => c.name),
    );
  });
});
