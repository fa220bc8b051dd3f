/**
 * The MQ bridge's inbound direction into Kafka (`bash scripts/services up kafka artemis`):
 * the message-id index is read back from Kafka (consumer group, seek, end offsets), so a
 * batch whose acknowledgement was lost, and messages resent to a new bridge process, land
 * once; a produce that stores part of a batch and fails is retried without duplicates.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { kafkaSource } from '@vigil/adapter-kafka';
import type { ProduceRecord, Source, SourceRecord, TopicPartitionOffset } from '@vigil/core';
import { createLogger } from '@vigil/core';
import { createTestContext } from '@vigil/core/testing';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { AmqpQueueReader } from '../../plugins/mq-bridge/src/amqp/amqp-queue-reader.js';
import { AmqpQueueSink } from '../../plugins/mq-bridge/src/amqp/amqp-queue-sink.js';
import { mqBridgeConfig } from '../../plugins/mq-bridge/src/config.js';
import { DEAD_LETTER_REASON_HEADER, MESSAGE_ID_HEADER } from '../../plugins/mq-bridge/src/inbound/headers.js';
import { createMessageCheck } from '../../plugins/mq-bridge/src/inbound/message-check.js';
import { MqInbound } from '../../plugins/mq-bridge/src/inbound/mq-inbound.js';
import { artemisOptions, requireArtemis, testQueue } from '../../plugins/mq-bridge/src/testing/artemis.js';
import type { QueueMessage, QueueReader } from '../../plugins/mq-bridge/src/transport/queue-transport.js';

const brokers = [process.env.VIGIL_KAFKA_BROKERS ?? `127.0.0.1:${process.env.VIGIL_KAFKA_PORT ?? 9092}`];
const logger = createLogger({ level: 'silent' });
const run = randomUUID().slice(0, 8);
let ctx: Awaited<ReturnType<typeof createTestContext>>;
let kafka: Source;

beforeAll(async () => {
  await requireArtemis();
  ctx = await createTestContext();
  kafka = await kafkaSource.create(
    kafkaSource.config.parse({ brokers, heartbeatIntervalMs: 300, sessionTimeoutMs: 10_000 }),
    ctx,
  );
});

afterAll(async () => {
  await kafka?.close();
  await ctx?.cleanup();
});

const enc = (s: string) => new TextEncoder().encode(s);
const msg = (id: string, body: string): QueueMessage => ({ messageId: id, body: enc(body), properties: {} });
const good = (i: number) => msg(`k-${i}`, JSON.stringify({ patientId: `p${i}`, hr: 60 + (i % 50) }));

async function send(queue: string, messages: QueueMessage[]): Promise<void> {
  const sink = await AmqpQueueSink.open(artemisOptions(), queue);
  try {
    await sink.send(messages);
  } finally {
    await sink.close();
  }
}

async function readTopic(source: Source, topic: string): Promise<SourceRecord[]> {
  const info = await source.describeTopic(topic);
  const total = info.endOffsets.reduce((n, e) => n + Number(e), 0);
  const consumer = await source.consumer({ group: `read-${randomUUID()}`, topics: [topic] });
  const out: SourceRecord[] = [];
  const deadline = Date.now() + 30_000;
  try {
    while (out.length < total && Date.now() < deadline) {
      out.push(...(await consumer.poll({ maxRecords: 1_000, timeoutMs: 500 })));
    }
  } finally {
    await consumer.close();
  }
  return out;
}

function bridge(
  source: Source,
  queue: string,
  names: { topic: string; dlq: string; group: string },
  openReader?: (q: string) => Promise<QueueReader>,
) {
  const config = mqBridgeConfig.parse({
    transport: 'amqp',
    inbound: {
      routes: [{ queue, topic: names.topic }],
      deadLetterTopic: names.dlq,
      group: names.group,
      schema: { type: 'object', required: ['patientId', 'hr'] },
    },
  }).inbound!;
  return new MqInbound({
    source,
    openReader: openReader ?? ((q) => AmqpQueueReader.open(artemisOptions(), q)),
    routes: config.routes,
    deadLetterTopic: config.deadLetterTopic,
    group: config.group,
    check: createMessageCheck(config, undefined),
    batchSize: 100,
    retryDelayMs: 50,
    maxRetryDelayMs: 200,
    logger,
  });
}

async function drainAll(b: MqInbound) {
  const t = { received: 0, forwarded: 0, duplicates: 0, dead: 0 };
  for (;;) {
    const [r] = await b.drainOnce(1_000);
    if (!r || r.received === 0) return t;
    t.received += r.received;
    t.forwarded += r.forwarded;
    t.duplicates += r.duplicates;
    t.dead += r.deadLettered['too-large'] + r.deadLettered.unparseable + r.deadLettered.schema;
  }
}

describe('MQ bridge inbound into Kafka', () => {
  it('lands each message once across a lost acknowledgement and a new process, poison dead-lettered', async () => {
    const names = { topic: `mq-in-${run}-a`, dlq: `mq-dlq-${run}-a`, group: `mq-index-${run}-a` };
    const queue = testQueue('inbound-kafka');
    await send(queue, [
      ...Array.from({ length: 250 }, (_, i) => good(i)),
      good(7),
      good(8),
      msg('bad-1', '{"patientId":'),
      msg('bad-2', '{"patientId":"p"}'),
    ]);
    let failAck = 1;
    const first = bridge(kafka, queue, names, async (q) => {
      const inner = await AmqpQueueReader.open(artemisOptions(), q);
      return {
        queue: q,
        receive: (max, timeoutMs) => inner.receive(max, timeoutMs),
        async ack() {
          if (failAck-- > 0) throw new Error('injected: the acknowledgement was lost');
          return inner.ack();
        },
        close: () => inner.close(),
      };
    });
    await assert.rejects(first.drainOnce(2_000), /injected/);
    const t1 = await drainAll(first);
    await first.stop();
    assert.equal(
      t1.duplicates >= 100,
      true,
      `the unacknowledged batch came back as duplicates: ${JSON.stringify(t1)}`,
    );

    // A new process: its index is read from Kafka.
    await send(queue, [good(3), good(249), good(250)]);
    const second = bridge(kafka, queue, names);
    try {
      assert.deepEqual(await drainAll(second), { received: 3, forwarded: 1, duplicates: 2, dead: 0 });
    } finally {
      await second.stop();
    }
    const records = await readTopic(kafka, names.topic);
    const ids = records.map((r) => r.headers[MESSAGE_ID_HEADER]);
    assert.equal(ids.length, 251);
    assert.equal(new Set(ids).size, 251);
    const dead = await readTopic(kafka, names.dlq);
    assert.deepEqual(
      Object.fromEntries(
        dead.map((r) => [r.headers[MESSAGE_ID_HEADER], r.headers[DEAD_LETTER_REASON_HEADER]]),
      ),
      { 'bad-1': 'unparseable', 'bad-2': 'schema' },
    );
  });

  it('a produce that stores part of a batch and fails is retried without duplicates', async () => {
    const names = { topic: `mq-in-${run}-b`, dlq: `mq-dlq-${run}-b`, group: `mq-index-${run}-b` };
    let failures = 1;
    const source: Source = {
      get capabilities() {
        return kafka.capabilities;
      },
      ensureTopic: (t, o) => kafka.ensureTopic(t, o),
      describeTopic: (t) => kafka.describeTopic(t),
      consumer: (o) => kafka.consumer(o),
      close: async () => {},
      async produce(records: ProduceRecord[]): Promise<TopicPartitionOffset[]> {
        if (failures > 0 && records.length > 1) {
          failures -= 1;
          await kafka.produce(records.slice(0, Math.ceil(records.length / 3)));
          throw new Error('injected: the broker failed part way');
        }
        return kafka.produce(records);
      },
    };
    const queue = testQueue('inbound-kafka-partial');
    await send(
      queue,
      Array.from({ length: 90 }, (_, i) => good(i)),
    );
    const b = bridge(source, queue, names);
    try {
      const t = await drainAll(b);
      assert.deepEqual(t, { received: 90, forwarded: 60, duplicates: 30, dead: 0 });
    } finally {
      await b.stop();
    }
    const ids = (await readTopic(kafka, names.topic)).map((r) => r.headers[MESSAGE_ID_HEADER]);
    assert.equal(ids.length, 90);
    assert.equal(new Set(ids).size, 90);
  });
});
