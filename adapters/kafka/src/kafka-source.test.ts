import assert from 'node:assert/strict';
import { isVigilError, type Source } from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { loadKafkaJs } from './client/kafkajs.js';
import { kafkaSource } from './index.js';
import { requireKafkaBroker, testBrokers } from './testing/require-broker.js';

const brokers = testBrokers();
const prefix = `vigil-kafka-test-${process.pid}-${Date.now().toString(36)}`;
let n = 0;
const topicName = (what: string) => `${prefix}-${what}-${++n}`;

let ctx: TestContext;
let source: Source;

beforeAll(async () => {
  await requireKafkaBroker(brokers);
  ctx = await createTestContext();
  source = await kafkaSource.create(kafkaSource.config.parse({ brokers, heartbeatIntervalMs: 300 }), ctx);
});

afterAll(async () => {
  await source?.close();
  const { Kafka, logLevel } = await loadKafkaJs();
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  if (mine.length > 0) await admin.deleteTopics({ topics: mine });
  await admin.disconnect();
  await ctx?.cleanup();
});

describe('config', () => {
  it('has working defaults and rejects unknown fields and malformed brokers', () => {
    const config = kafkaSource.config.parse({});
    assert.deepEqual(config.brokers, ['127.0.0.1:9092']);
    assert.equal(config.idempotent, true);
    assert.equal(config.replicationFactor, 1);
    assert.equal(kafkaSource.config.safeParse({ broker: ['x:1'] }).success, false);
    assert.equal(kafkaSource.config.safeParse({ brokers: ['no-port'] }).success, false);
    assert.equal(
      kafkaSource.config.safeParse({
        sasl: { mechanism: 'plain', username: 'u', password: 'resolved-from-env' },
      }).success,
      true,
    );
  });

  it('fails at create, naming the broker, when nothing listens there', async () => {
    const config = kafkaSource.config.parse({
      brokers: ['127.0.0.1:1'],
      retries: 1,
      connectionTimeoutMs: 500,
    });
    await assert.rejects(kafkaSource.create(config, ctx), (error: unknown) => {
      assert.ok(isVigilError(error, 'VIGIL_COMPONENT_FAILED'), String(error));
      assert.match(error.message, /127\.0\.0\.1:1/);
      return true;
    });
  });
});

describe('partitioning', () => {
  it("puts a key where Java Kafka's default partitioner does (murmur2, sign bit cleared)", async () => {
    // Hashes from Kafka's UtilsTest: murmur2("21") and murmur2("foobar").
    const cases = [
      { key: '21', hash: -973932308, partitions: 7 },
      { key: 'foobar', hash: -790332482, partitions: 4 },
      { key: 'a-little-bit-long-string', hash: -985981536, partitions: 6 },
    ];
    for (const { key, hash, partitions } of cases) {
      const topic = topicName('keys');
      await source.ensureTopic(topic, { partitions });
      const [position] = await source.produce([{ topic, key, value: 'v' }]);
      assert.equal(position?.partition, (hash & 0x7fffffff) % partitions, key);
    }
  });

  it('keyPartitions puts listed keys on their partition, hashes the rest, and refuses a partition the topic lacks', async () => {
    const sites = await kafkaSource.create(
      kafkaSource.config.parse({
        brokers,
        keyPartitions: { 'site-01': 0, 'site-02': 1, 'site-03': 2, 'site-04': 3 },
      }),
      ctx,
    );
    try {
      const topic = topicName('sites');
      await sites.ensureTopic(topic, { partitions: 4 });
      const keys = ['site-01', 'site-02', 'site-03', 'site-04', 'site-04', 'site-02'];
      const positions = await sites.produce(keys.map((key) => ({ topic, key, value: 'v' })));
      assert.deepEqual(
        positions.map((p) => p.partition),
        [0, 1, 2, 3, 3, 1],
      );
      // An unlisted key is hashed; an explicit partition wins over the map.
      const [other, explicit] = await sites.produce([
        { topic, key: 'foobar', value: 'v' },
        { topic, key: 'site-01', value: 'v', partition: 2 },
      ]);
      assert.equal(other?.partition, (-790332482 & 0x7fffffff) % 4);
      assert.equal(explicit?.partition, 2);
      const narrow = topicName('sites-narrow');
      await sites.ensureTopic(narrow, { partitions: 2 });
      await assert.rejects(
        sites.produce([{ topic: narrow, key: 'site-04', value: 'v' }]),
        (error: unknown) => {
          assert.ok(isVigilError(error, 'VIGIL_SOURCE_INVALID_REQUEST'), String(error));
          assert.match(error.message, /site-04.*partition 3.*partitions 0–1/);
          return true;
        },
      );
    } finally {
      await sites.close();
    }
  });
});

describe('requests the source refuses', () => {
  it('names the field and the reason', async () => {
    const topic = topicName('refuse');
    await source.ensureTopic(topic, { partitions: 2 });
    const invalid = (field: RegExp) => (error: unknown) => {
      assert.ok(isVigilError(error, 'VIGIL_SOURCE_INVALID_REQUEST'), String(error));
      assert.match(error.message, field);
      return true;
    };
    await assert.rejects(
      source.produce([{ topic, value: 42 as unknown as string }]),
      invalid(/records\[0\]\.value/),
    );
    await assert.rejects(source.produce([{ topic: 'bad name', value: 'x' }]), invalid(/records\[0\]\.topic/));
    await assert.rejects(
      source.produce([{ topic, value: 'x', timestamp: -1 }]),
      invalid(/records\[0\]\.timestamp/),
    );
    await assert.rejects(source.ensureTopic(topic, { partitions: 0 }), invalid(/partitions/));
    await assert.rejects(source.consumer({ group: 'g', topics: [topicName('absent')] }), (error: unknown) =>
      isVigilError(error, 'VIGIL_SOURCE_UNKNOWN_TOPIC'),
    );
    const consumer = await source.consumer({ group: topicName('g'), topics: [topic] });
    try {
      await assert.rejects(consumer.seek({ topic, partition: 0, offset: '5' }), (error: unknown) =>
        isVigilError(error, 'VIGIL_SOURCE_INVALID_OFFSET'),
      );
      await assert.rejects(consumer.seek({ topic, partition: 9, offset: '0' }), invalid(/not assigned/));
      await assert.rejects(
        consumer.commit([{ topic: 'other', partition: 0, offset: '1' }]),
        invalid(/offsets\[0\]\.topic/),
      );
      await assert.rejects(consumer.poll({ maxRecords: 0 }), invalid(/maxRecords/));
    } finally {
      await consumer.close();
    }
  });
});

describe('backpressure and large produces', () => {
  it('delivers everything in order through a buffer far smaller than the topic', async () => {
    const small = await kafkaSource.create(
      kafkaSource.config.parse({ brokers, maxBufferedRecords: 50, maxBatchBytes: 4096 }),
      ctx,
    );
    try {
      const topic = topicName('pressure');
      await small.ensureTopic(topic, { partitions: 2 });
      // 4 KiB slices: many requests per produce, offsets still in input order.
      const positions = await small.produce(
        Array.from({ length: 2000 }, (_, i) => ({
          topic,
          partition: i % 2,
          value: `v${i}`.padEnd(100, '.'),
        })),
      );
      for (const partition of [0, 1]) {
        const offsets = positions.filter((p) => p.partition === partition).map((p) => Number(p.offset));
        assert.deepEqual(
          offsets,
          offsets.map((_, i) => i),
        );
      }
      const consumer = await small.consumer({ group: topicName('g'), topics: [topic] });
      const got: Map<number, number[]> = new Map([
        [0, []],
        [1, []],
      ]);
      const deadline = Date.now() + 15_000;
      let total = 0;
      while (total < 2000 && Date.now() < deadline) {
        const records = await consumer.poll({ maxRecords: 7, timeoutMs: 500 });
        for (const r of records) got.get(r.partition)!.push(Number(r.offset));
        total += records.length;
        // A slow reader: the buffer fills and fetching pauses until poll catches up.
        if (total % 350 < 7) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(total, 2000);
      for (const offsets of got.values()) {
        assert.deepEqual(
          offsets,
          offsets.map((_, i) => i),
        );
      }
      await consumer.close();
    } finally {
      await small.close();
    }
  });
});
