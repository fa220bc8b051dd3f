/**
 * Contract suite for the Source port. Every Source adapter (the embedded file log, Kafka,
 * the MQ bridge) runs these cases; `requires` names the capability a case depends on.
 *
 * Cases create their own uniquely named topics and groups, so a fixture may share one
 * broker between cases. Durability cases need `reopen` and are skipped without it.
 * Cases that produce require `produce` (default true); a read-only source (file import)
 * runs the rest against a topic its fixture prepared (`prepared`).
 */
import assert from 'node:assert/strict';
import { isVigilError } from '../errors.js';
import type { Consumer, Source, SourceRecord, TopicPartitionOffset } from '../ports/source.js';
import { defaultSourceCapabilities } from '../ports/source.js';
import { type Contract, type ContractCase, type ContractFixture, skipCase } from './contract.js';

export interface SourceFixture extends ContractFixture<Source> {
  /**
   * A new Source over the same storage as `impl`, for durability cases. The case closes
   * `impl` first. Leave undefined when the implementation has nothing to reopen.
   */
  reopen?: () => Promise<Source>;
  /**
   * A topic that already holds records when the case starts, for sources that cannot
   * produce (capability `produce: false`, e.g. file imports): the fixture prepares it
   * before creating `impl`. Cases that read a prepared topic produce one themselves when
   * the source can produce and this is undefined.
   */
  prepared?: PreparedTopic;
}

/** A topic prepared by the fixture: `partitions[p]` lists partition p's records in offset order. */
export interface PreparedTopic {
  topic: string;
  partitions: ReadonlyArray<ReadonlyArray<{ key: string | null; value: string }>>;
}

function canProduce(source: Source): boolean {
  return source.capabilities.produce !== false;
}

/**
 * The fixture's prepared topic, or (for a source that can produce and has none) a new
 * topic with records in three partitions, the middle one empty.
 */
async function preparedTopic(fixture: SourceFixture): Promise<PreparedTopic> {
  if (fixture.prepared) return fixture.prepared;
  assert.ok(canProduce(fixture.impl), 'a source without produce needs a fixture with `prepared`');
  const topic = uniqueName('prepared');
  const partitions = [
    Array.from({ length: 5 }, (_, i) => ({ key: i % 2 === 0 ? `site-${i}` : null, value: `p0-${i}` })),
    [],
    Array.from({ length: 3 }, (_, i) => ({ key: 'site-9', value: `p2-${i}` })),
  ];
  await fixture.impl.ensureTopic(topic, { partitions: 3 });
  await fixture.impl.produce(
    partitions.flatMap((records, partition) => records.map((r) => ({ topic, partition, ...r }))),
  );
  return { topic, partitions };
}

/** A topic a case may consume: a new one when the source can produce, else the prepared one. */
async function openTopic(fixture: SourceFixture, prefix: string): Promise<string> {
  if (!canProduce(fixture.impl)) {
    assert.ok(fixture.prepared, 'a source without produce needs a fixture with `prepared`');
    await fixture.impl.ensureTopic(fixture.prepared.topic);
    return fixture.prepared.topic;
  }
  const topic = uniqueName(prefix);
  await fixture.impl.ensureTopic(topic, { partitions: 1 });
  return topic;
}

let sequence = 0;

/** A topic or group name unique to this process and case. */
function uniqueName(prefix: string): string {
  sequence += 1;
  return `vigil-contract-${prefix}-${process.pid}-${Date.now().toString(36)}-${sequence}`;
}

function text(record: SourceRecord): string {
  return Buffer.from(record.value).toString('utf8');
}

function positionKey(p: { topic: string; partition: number; offset: string }): string {
  return `${p.topic}/${p.partition}@${p.offset}`;
}

/** Poll until `count` records arrived or `deadlineMs` passed; returns what arrived. */
async function drain(consumer: Consumer, count: number, deadlineMs = 5_000): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  const deadline = Date.now() + deadlineMs;
  while (out.length < count && Date.now() < deadline) {
    out.push(...(await consumer.poll({ maxRecords: count - out.length, timeoutMs: 200 })));
  }
  return out;
}

/** Group records by partition, keeping the order in which they were delivered. */
function byPartition(records: readonly SourceRecord[]): Map<number, SourceRecord[]> {
  const map = new Map<number, SourceRecord[]>();
  for (const r of records) {
    const list = map.get(r.partition) ?? [];
    list.push(r);
    map.set(r.partition, list);
  }
  return map;
}

function assertOffsetsAscending(records: readonly SourceRecord[]): void {
  for (const [partition, list] of byPartition(records)) {
    for (let i = 1; i < list.length; i++) {
      assert.ok(
        BigInt(list[i]!.offset) > BigInt(list[i - 1]!.offset),
        `partition ${partition}: offset ${list[i]!.offset} delivered after ${list[i - 1]!.offset}`,
      );
    }
  }
}

function expectCode(code: Parameters<typeof isVigilError>[1], mention?: string) {
  return (error: unknown) => {
    assert.ok(isVigilError(error, code), `expected ${code}, got ${String(error)}`);
    if (mention !== undefined) assert.ok(error.message.includes(mention), `message should name '${mention}'`);
    return true;
  };
}

function next(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

type SourceCase = ContractCase<SourceFixture>;

const cases: SourceCase[] = [
  {
    name: 'produce returns positions in input order and a partition keeps produce order',
    requires: ['produce'],
    async run({ impl }) {
      const topic = uniqueName('order');
      await impl.ensureTopic(topic, { partitions: 2 });
      const first = await impl.produce(
        Array.from({ length: 20 }, (_, i) => ({ topic, partition: i % 2, value: `a${i}` })),
      );
      const second = await impl.produce(
        Array.from({ length: 10 }, (_, i) => ({ topic, partition: i % 2, value: `b${i}` })),
      );
      const positions = [...first, ...second];
      assert.equal(positions.length, 30);
      for (const [i, p] of positions.entries()) {
        assert.equal(p.topic, topic);
        assert.equal(p.partition, i < 20 ? i % 2 : (i - 20) % 2);
        assert.match(p.offset, /^\d+$/, 'offsets are decimal strings');
      }
      for (const partition of [0, 1]) {
        const offsets = positions.filter((p) => p.partition === partition).map((p) => BigInt(p.offset));
        for (let i = 1; i < offsets.length; i++) {
          assert.equal(offsets[i], offsets[i - 1]! + 1n, 'offsets within a partition are consecutive');
        }
      }
      const consumer = await impl.consumer({ group: uniqueName('g'), topics: [topic] });
      const records = await drain(consumer, 30);
      assert.equal(records.length, 30);
      assertOffsetsAscending(records);
      const produced = new Map(positions.map((p, i) => [positionKey(p), i < 20 ? `a${i}` : `b${i - 20}`]));
      for (const r of records) assert.equal(text(r), produced.get(positionKey(r)), 'value at its offset');
      for (const [partition, list] of byPartition(records)) {
        const expected = [...produced.entries()]
          .filter(([key]) => key.startsWith(`${topic}/${partition}@`))
          .map(([, v]) => v);
        assert.deepEqual(
          list.map(text),
          expected,
          `partition ${partition} delivers records in produce order`,
        );
      }
      await consumer.close();
    },
  },
  {
    name: 'the same key always lands on the same partition',
    requires: ['partitions', 'produce'],
    async run({ impl }) {
      const topic = uniqueName('keys');
      await impl.ensureTopic(topic, { partitions: 4 });
      const keys = Array.from({ length: 24 }, (_, i) => `site-${i}`);
      const seen = new Map<string, Set<number>>();
      for (let round = 0; round < 3; round++) {
        const positions = await impl.produce(keys.map((key) => ({ topic, key, value: `${key}:${round}` })));
        for (const [i, p] of positions.entries()) {
          const set = seen.get(keys[i]!) ?? new Set<number>();
          set.add(p.partition);
          seen.set(keys[i]!, set);
        }
      }
      for (const [key, partitions] of seen) assert.equal(partitions.size, 1, `key ${key} on one partition`);
      const used = new Set([...seen.values()].flatMap((s) => [...s]));
      assert.ok(used.size > 1, 'keys spread over more than one partition');
      const consumer = await impl.consumer({ group: uniqueName('g'), topics: [topic] });
      const records = await drain(consumer, keys.length * 3);
      assert.equal(records.length, keys.length * 3);
      for (const r of records) {
        assert.ok(r.key !== null);
        assert.ok(seen.get(r.key)!.has(r.partition), 'consumed from the partition produce reported');
      }
      await consumer.close();
    },
  },
  {
    name: 'an explicit partition overrides the key; an out-of-range partition is rejected',
    requires: ['partitions', 'produce'],
    async run({ impl }) {
      const topic = uniqueName('explicit');
      await impl.ensureTopic(topic, { partitions: 3 });
      const positions = await impl.produce([
        { topic, key: 'k', partition: 2, value: 'x' },
        { topic, key: 'k', partition: 0, value: 'y' },
      ]);
      assert.deepEqual(
        positions.map((p) => p.partition),
        [2, 0],
      );
      await assert.rejects(impl.produce([{ topic, partition: 3, value: 'z' }]));
      await assert.rejects(impl.produce([{ topic, partition: -1, value: 'z' }]));
    },
  },
  {
    name: 'binary values, null and empty keys, headers and timestamps round-trip',
    requires: ['produce'],
    async run({ impl }) {
      const topic = uniqueName('binary');
      await impl.ensureTopic(topic, { partitions: 1 });
      const bytes = new Uint8Array(256).map((_, i) => (i * 7 + 3) % 256);
      bytes[0] = 0;
      const before = Date.now();
      await impl.produce([
        {
          topic,
          key: null,
          value: bytes,
          headers: { 'content-type': 'application/octet-stream', unit: 'µmol/L', empty: '' },
          timestamp: 1_700_000_000_123,
        },
        { topic, key: '', value: 'ünïcødé ✓' },
        { topic, key: 'site-7', value: new Uint8Array(0) },
      ]);
      const after = Date.now();
      const consumer = await impl.consumer({ group: uniqueName('g'), topics: [topic] });
      const [a, b, c, ...rest] = await drain(consumer, 3);
      assert.equal(rest.length, 0);
      assert.ok(a && b && c, 'three records delivered');
      assert.ok(a.value instanceof Uint8Array);
      assert.deepEqual([...a.value], [...bytes]);
      assert.equal(a.key, null);
      assert.deepEqual(a.headers, { 'content-type': 'application/octet-stream', unit: 'µmol/L', empty: '' });
      assert.equal(a.timestamp, 1_700_000_000_123);
      assert.equal(b.key, '');
      assert.equal(text(b), 'ünïcødé ✓');
      assert.deepEqual(b.headers, {});
      assert.ok(b.timestamp >= before - 1 && b.timestamp <= after + 1, 'default timestamp is produce time');
      assert.equal(c.key, 'site-7');
      assert.equal(c.value.length, 0);
      await consumer.close();
    },
  },
  {
    name: 'describeTopic reports the partition count and end offsets',
    requires: ['produce'],
    async run({ impl }) {
      const topic = uniqueName('describe');
      await impl.ensureTopic(topic, { partitions: 3 });
      assert.deepEqual(await impl.describeTopic(topic), {
        topic,
        partitions: 3,
        endOffsets: ['0', '0', '0'],
      });
      await impl.produce([
        { topic, partition: 0, value: '1' },
        { topic, partition: 2, value: '2' },
        { topic, partition: 2, value: '3' },
      ]);
      const info = await impl.describeTopic(topic);
      assert.deepEqual(info.endOffsets, ['1', '0', '2']);
    },
  },
  {
    name: 'ensureTopic is idempotent and keeps an existing partition count and data',
    requires: ['produce'],
    async run({ impl }) {
      const topic = uniqueName('ensure');
      await impl.ensureTopic(topic, { partitions: 2 });
      await impl.produce([{ topic, partition: 1, value: 'kept' }]);
      await impl.ensureTopic(topic, { partitions: 2 });
      await impl.ensureTopic(topic, { partitions: 5 });
      await impl.ensureTopic(topic);
      const info = await impl.describeTopic(topic);
      assert.equal(info.partitions, 2);
      assert.deepEqual(info.endOffsets, ['0', '1']);
    },
  },
  {
    name: 'an unknown topic fails with VIGIL_SOURCE_UNKNOWN_TOPIC naming the topic',
    async run({ impl }) {
      const topic = uniqueName('missing');
      await assert.rejects(
        impl.produce([{ topic, value: 'x' }]),
        expectCode('VIGIL_SOURCE_UNKNOWN_TOPIC', topic),
      );
      await assert.rejects(impl.describeTopic(topic), expectCode('VIGIL_SOURCE_UNKNOWN_TOPIC', topic));
    },
  },
  {
    name: 'a prepared topic is described and read in offset order per partition; a read-only source refuses produce',
    async run(fixture) {
      const { impl } = fixture;
      const prepared = await preparedTopic(fixture);
      const { topic, partitions } = prepared;
      await impl.ensureTopic(topic);
      assert.deepEqual(await impl.describeTopic(topic), {
        topic,
        partitions: partitions.length,
        endOffsets: partitions.map((p) => String(p.length)),
      });
      const total = partitions.reduce((n, p) => n + p.length, 0);
      const consumer = await impl.consumer({ group: uniqueName('g'), topics: [topic] });
      const records = await drain(consumer, total);
      assert.equal(records.length, total, 'every prepared record delivered');
      assertOffsetsAscending(records);
      for (const [partition, expected] of partitions.entries()) {
        const got = records.filter((r) => r.partition === partition);
        assert.deepEqual(
          got.map((r) => r.offset),
          expected.map((_, i) => String(i)),
          `partition ${partition} offsets`,
        );
        assert.deepEqual(
          got.map((r) => ({ key: r.key, value: text(r) })),
          expected.map((r) => ({ key: r.key, value: r.value })),
          `partition ${partition} keys and values`,
        );
        for (const r of got) assert.equal(r.topic, topic);
      }
      assert.deepEqual(await consumer.poll({ timeoutMs: 0 }), [], 'nothing after the last record');
      await consumer.close();
      const latest = await impl.consumer({ group: uniqueName('g'), topics: [topic], start: 'latest' });
      assert.deepEqual(await latest.poll({ timeoutMs: 0 }), [], "start: 'latest' skips what is there");
      await latest.close();
      if (!canProduce(impl)) {
        await assert.rejects(
          impl.produce([{ topic, value: 'x' }]),
          expectCode('VIGIL_SOURCE_READ_ONLY', topic),
        );
        const missing = uniqueName('read-only');
        await assert.rejects(
          impl.ensureTopic(missing, { partitions: 1 }),
          expectCode('VIGIL_SOURCE_READ_ONLY', missing),
        );
      }
    },
  },
  {
    name: 'commit takes the next offset; a new consumer of the group resumes there and redelivers the rest',
    requires: ['consumerGroups', 'produce'],
    async run({ impl }) {
      const topic = uniqueName('commit');
      const group = uniqueName('g');
      await impl.ensureTopic(topic, { partitions: 1 });
      await impl.produce(Array.from({ length: 10 }, (_, i) => ({ topic, value: `r${i}` })));
      const first = await impl.consumer({ group, topics: [topic] });
      const records = await drain(first, 10);
      assert.deepEqual(
        records.map(text),
        Array.from({ length: 10 }, (_, i) => `r${i}`),
      );
      const processed = records[4]!;
      const commit: TopicPartitionOffset = {
        topic,
        partition: processed.partition,
        offset: next(processed.offset),
      };
      await first.commit([commit]);
      await first.commit([commit]);
      assert.deepEqual(await first.committed(), [commit]);
      await first.close();

      const second = await impl.consumer({ group, topics: [topic] });
      assert.deepEqual(await second.committed(), [commit]);
      const resumed = await drain(second, 5);
      assert.deepEqual(
        resumed.map(text),
        ['r5', 'r6', 'r7', 'r8', 'r9'],
        'records after the commit are delivered again (at-least-once)',
      );
      assert.equal(resumed[0]!.offset, commit.offset);
      assert.deepEqual(await second.poll({ timeoutMs: 0 }), []);
      await second.close();
    },
  },
  {
    name: 'groups keep independent positions and commits',
    requires: ['consumerGroups', 'produce'],
    async run({ impl }) {
      const topic = uniqueName('groups');
      await impl.ensureTopic(topic, { partitions: 2 });
      await impl.produce(Array.from({ length: 8 }, (_, i) => ({ topic, key: `k${i}`, value: `v${i}` })));
      const a = await impl.consumer({ group: uniqueName('a'), topics: [topic] });
      const got = await drain(a, 8);
      assert.equal(got.length, 8);
      const ends = await impl.describeTopic(topic);
      await a.commit(ends.endOffsets.map((offset, partition) => ({ topic, partition, offset })));
      await a.close();
      const b = await impl.consumer({ group: uniqueName('b'), topics: [topic] });
      assert.deepEqual(await b.committed(), []);
      const again = await drain(b, 8);
      assert.deepEqual(new Set(again.map(text)), new Set(got.map(text)), 'group b sees everything');
      await b.close();
    },
  },
  {
    name: "start 'latest' skips what was produced before a group existed; 'earliest' reads it",
    requires: ['produce'],
    async run({ impl }) {
      const topic = uniqueName('latest');
      await impl.ensureTopic(topic, { partitions: 2 });
      await impl.produce(Array.from({ length: 6 }, (_, i) => ({ topic, key: `k${i}`, value: `old${i}` })));
      const latest = await impl.consumer({ group: uniqueName('l'), topics: [topic], start: 'latest' });
      const earliest = await impl.consumer({ group: uniqueName('e'), topics: [topic], start: 'earliest' });
      assert.deepEqual(await latest.poll({ timeoutMs: 0 }), []);
      await impl.produce(Array.from({ length: 3 }, (_, i) => ({ topic, key: `k${i}`, value: `new${i}` })));
      const fresh = await drain(latest, 3);
      assert.deepEqual(fresh.map(text).sort(), ['new0', 'new1', 'new2']);
      assert.deepEqual(await latest.poll({ timeoutMs: 100 }), []);
      const all = await drain(earliest, 9);
      assert.equal(all.length, 9);
      await latest.close();
      await earliest.close();
    },
  },
  {
    name: 'seek moves the position back (replay) and forward',
    requires: ['replay', 'produce'],
    async run({ impl }) {
      const topic = uniqueName('seek');
      await impl.ensureTopic(topic, { partitions: 1 });
      await impl.produce(Array.from({ length: 10 }, (_, i) => ({ topic, value: `r${i}` })));
      const consumer = await impl.consumer({ group: uniqueName('g'), topics: [topic] });
      const first = await drain(consumer, 10);
      assert.equal(first.length, 10);
      await consumer.commit([{ topic, partition: 0, offset: next(first[9]!.offset) }]);
      await consumer.seek({ topic, partition: 0, offset: first[3]!.offset });
      const replayed = await drain(consumer, 7);
      assert.deepEqual(replayed.map(text), ['r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9']);
      await consumer.seek({ topic, partition: 0, offset: first[8]!.offset });
      assert.deepEqual((await drain(consumer, 2)).map(text), ['r8', 'r9']);
      await consumer.close();
    },
  },
  {
    name: 'maxRecords bounds a poll and the next poll continues without a gap',
    requires: ['produce'],
    async run({ impl }) {
      const topic = uniqueName('max');
      await impl.ensureTopic(topic, { partitions: 1 });
      await impl.produce(Array.from({ length: 10 }, (_, i) => ({ topic, value: `r${i}` })));
      const consumer = await impl.consumer({ group: uniqueName('g'), topics: [topic] });
      const seen: string[] = [];
      const deadline = Date.now() + 5_000;
      while (seen.length < 10 && Date.now() < deadline) {
        const batch = await consumer.poll({ maxRecords: 3, timeoutMs: 200 });
        assert.ok(batch.length <= 3, `poll returned ${batch.length} > maxRecords 3`);
        seen.push(...batch.map(text));
      }
      assert.deepEqual(
        seen,
        Array.from({ length: 10 }, (_, i) => `r${i}`),
      );
      await consumer.close();
    },
  },
  {
    name: 'consumers of one group split the partitions and no record goes to both',
    requires: ['consumerGroups', 'partitions', 'produce'],
    async run({ impl }) {
      const topic = uniqueName('split');
      const group = uniqueName('g');
      await impl.ensureTopic(topic, { partitions: 4 });
      const one = await impl.consumer({ group, topics: [topic] });
      const two = await impl.consumer({ group, topics: [topic] });
      const total = 40;
      await impl.produce(
        Array.from({ length: total }, (_, i) => ({ topic, partition: i % 4, value: `v${i}` })),
      );
      const got = new Map<Consumer, SourceRecord[]>([
        [one, []],
        [two, []],
      ]);
      const deadline = Date.now() + 8_000;
      const count = () => got.get(one)!.length + got.get(two)!.length;
      while (count() < total && Date.now() < deadline) {
        for (const c of [one, two]) got.get(c)!.push(...(await c.poll({ timeoutMs: 50 })));
      }
      const a = got.get(one)!;
      const b = got.get(two)!;
      assert.equal(count(), total, 'every record delivered');
      assertOffsetsAscending(a);
      assertOffsetsAscending(b);
      assert.ok(a.length > 0 && b.length > 0, `both consumers got records (${a.length} / ${b.length})`);
      const keysA = new Set(a.map(positionKey));
      for (const r of b) assert.ok(!keysA.has(positionKey(r)), `${positionKey(r)} delivered to both`);
      const partitionsA = new Set(a.map((r) => r.partition));
      for (const r of b) assert.ok(!partitionsA.has(r.partition), `partition ${r.partition} read by both`);
      assert.equal(new Set([...a, ...b].map(text)).size, total);
      await one.close();
      await two.close();
    },
  },
  {
    name: 'a consumer that leaves hands its partitions to the rest of the group',
    requires: ['consumerGroups', 'partitions', 'produce'],
    async run({ impl }) {
      const topic = uniqueName('leave');
      const group = uniqueName('g');
      await impl.ensureTopic(topic, { partitions: 2 });
      const one = await impl.consumer({ group, topics: [topic] });
      const two = await impl.consumer({ group, topics: [topic] });
      await two.close();
      await impl.produce(Array.from({ length: 10 }, (_, i) => ({ topic, partition: i % 2, value: `v${i}` })));
      const records = await drain(one, 10);
      assert.equal(records.length, 10);
      assert.deepEqual(new Set(records.map((r) => r.partition)), new Set([0, 1]));
      await one.close();
    },
  },
  {
    name: 'poll returns empty after its timeout when idle and wakes when a record arrives',
    requires: ['produce'],
    async run({ impl }) {
      const topic = uniqueName('wait');
      await impl.ensureTopic(topic, { partitions: 1 });
      const consumer = await impl.consumer({ group: uniqueName('g'), topics: [topic] });
      let started = Date.now();
      assert.deepEqual(await consumer.poll({ timeoutMs: 0 }), []);
      started = Date.now();
      assert.deepEqual(await consumer.poll({ timeoutMs: 300 }), []);
      assert.ok(Date.now() - started >= 250, 'an idle poll waits for its timeout');
      started = Date.now();
      const waiting = consumer.poll({ timeoutMs: 8_000 });
      await new Promise((resolve) => setTimeout(resolve, 150));
      await impl.produce([{ topic, value: 'wake' }]);
      const got = await waiting;
      const elapsed = Date.now() - started;
      assert.deepEqual(got.map(text), ['wake']);
      assert.ok(elapsed < 4_000, `poll woke ${elapsed} ms after it started`);
      await consumer.close();
    },
  },
  {
    name: 'close is idempotent and a closed consumer fails with VIGIL_SOURCE_CONSUMER_CLOSED',
    async run(fixture) {
      const { impl } = fixture;
      const topic = await openTopic(fixture, 'close');
      const consumer = await impl.consumer({ group: uniqueName('g'), topics: [topic] });
      await consumer.close();
      await consumer.close();
      const closed = expectCode('VIGIL_SOURCE_CONSUMER_CLOSED');
      await assert.rejects(consumer.poll({ timeoutMs: 0 }), closed);
      await assert.rejects(consumer.commit([{ topic, partition: 0, offset: '0' }]), closed);
      await assert.rejects(consumer.committed(), closed);
      await assert.rejects(consumer.seek({ topic, partition: 0, offset: '0' }), closed);
    },
  },
  {
    name: 'closing the source closes its consumers; closing twice is fine',
    async run(fixture) {
      const { impl } = fixture;
      const topic = await openTopic(fixture, 'source-close');
      const consumer = await impl.consumer({ group: uniqueName('g'), topics: [topic] });
      await impl.close();
      await impl.close();
      await assert.rejects(consumer.poll({ timeoutMs: 0 }), expectCode('VIGIL_SOURCE_CONSUMER_CLOSED'));
    },
  },
  {
    name: 'records and committed offsets survive closing and reopening the source',
    requires: ['consumerGroups', 'produce'],
    async run(fixture) {
      if (!fixture.reopen) skipCase('the fixture provides no reopen() (no durable state)');
      const { impl } = fixture;
      const topic = uniqueName('durable');
      const group = uniqueName('g');
      await impl.ensureTopic(topic, { partitions: 2 });
      await impl.produce(Array.from({ length: 12 }, (_, i) => ({ topic, partition: i % 2, value: `v${i}` })));
      const consumer = await impl.consumer({ group, topics: [topic] });
      const got = await drain(consumer, 12);
      assert.equal(got.length, 12);
      const commits = [0, 1].map((partition) => {
        const list = got.filter((r) => r.partition === partition);
        return { topic, partition, offset: next(list[2]!.offset) };
      });
      await consumer.commit(commits);
      const before = await impl.describeTopic(topic);
      await impl.close();

      const reopened = await fixture.reopen();
      try {
        assert.deepEqual(await reopened.describeTopic(topic), before);
        const again = await reopened.consumer({ group, topics: [topic] });
        const committed = await again.committed();
        assert.deepEqual(
          [...committed].sort((x, y) => x.partition - y.partition),
          commits,
        );
        const rest = await drain(again, 6);
        assert.deepEqual(rest.map(text).sort(), ['v10', 'v11', 'v6', 'v7', 'v8', 'v9']);
        const more = await reopened.produce([{ topic, partition: 0, value: 'after' }]);
        assert.equal(more[0]!.offset, before.endOffsets[0], 'offsets continue after reopen');
        assert.deepEqual((await drain(again, 1)).map(text), ['after']);
        await again.close();
      } finally {
        await reopened.close();
      }
    },
  },
];

export const sourceContract: Contract<SourceFixture> = {
  port: 'source',
  cases,
  defaults: defaultSourceCapabilities,
};
