/**
 * Kafka → bronze throughput: Vigil's Kafka Source adapter feeding the adverse-event job's
 * ingest (`drainToBronze`: poll, `writeBronze`, lake commit, offset commit) against a raw
 * kafkajs consumer draining the same topics with no processing. Also times the adapter alone
 * (poll + commit, no bronze) so the adapter's own overhead is visible.
 *
 *   node --conditions=@vigil/source --import tsx bench/kafka-ingest/kafka-ingest.ts [patients=200] [days=120] [batch=5000]
 *
 * Needs `bash scripts/services up kafka`; talks only to 127.0.0.1. Topics are deleted at the end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaSource } from '@vigil/adapter-kafka';
import { requireKafkaBroker, testBrokers } from '@vigil/adapter-kafka/testing';
import { localLake } from '@vigil/adapter-local-lake';
import { type ComponentContext, createLineageRecorder, createLogger, type Source } from '@vigil/core';
import { createMedallion, simulateTrial } from '@vigil/job-adverse-events';
import kafkajs from 'kafkajs';
import { drainToBronze } from '../../jobs/adverse-events/src/pipeline/ingest.js';

const [patients = 200, days = 120, batchSize = 5000] = process.argv.slice(2).map(Number);
const brokers = testBrokers();
await requireKafkaBroker(brokers);

const workdir = await mkdtemp(join(tmpdir(), 'vigil-bench-kafka-'));
const ctx: ComponentContext = {
  runId: 'bench-kafka-ingest',
  workdir,
  seed: 1,
  logger: createLogger({ level: 'warn' }),
  lineage: createLineageRecorder('bench-kafka-ingest'),
  signal: new AbortController().signal,
  port() {
    throw new Error('no ports');
  },
};

const sim = simulateTrial({ seed: 3, patients, days, sites: 6 });
const events = sim.events;
const prefix = `vigil-bench-${process.pid}-${Date.now().toString(36)}`;
const topics = [...new Set(events.map((e) => `${prefix}-${e.topic}`))].sort();
const source: Source = await kafkaSource.create(kafkaSource.config.parse({ brokers }), ctx);
for (const topic of topics) await source.ensureTopic(topic, { partitions: 6 });
const t = performance.now();
for (let i = 0; i < events.length; i += 20_000) {
  await source.produce(
    events.slice(i, i + 20_000).map((e) => ({ topic: `${prefix}-${e.topic}`, key: e.key, value: e.value })),
  );
}
const produceS = (performance.now() - t) / 1000;
const bytes = events.reduce((s, e) => s + Buffer.byteLength(e.value), 0);
console.log(
  `${events.length} events (${(bytes / 1e6).toFixed(1)} MB) in ${topics.length} topics x 6 partitions; produced through the adapter in ${produceS.toFixed(1)} s (${Math.round(events.length / produceS)} ev/s)`,
);

/** Raw kafkajs: a group consumer (eachBatch, no auto-commit) counting messages until all arrived. */
async function rawKafkajs(round: number): Promise<number> {
  const kafka = new kafkajs.Kafka({ brokers, clientId: 'bench-raw', logLevel: kafkajs.logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `${prefix}-raw-${round}`, maxWaitTimeInMs: 500 });
  const start = performance.now();
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  let seen = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length;
        if (seen >= events.length) resolve();
      },
    });
  });
  const seconds = (performance.now() - start) / 1000;
  await consumer.disconnect();
  return events.length / seconds;
}

/** Vigil's adapter alone: poll + commit per batch, nothing written. */
async function adapterOnly(round: number): Promise<number> {
  const start = performance.now();
  const consumer = await source.consumer({ group: `${prefix}-adapter-${round}`, topics });
  let seen = 0;
  while (seen < events.length) {
    const records = await consumer.poll({ maxRecords: batchSize, timeoutMs: 500 });
    if (records.length === 0) continue;
    seen += records.length;
    const next = new Map<string, { topic: string; partition: number; offset: string }>();
    for (const r of records) {
      next.set(`${r.topic}/${r.partition}`, {
        topic: r.topic,
        partition: r.partition,
        offset: (BigInt(r.offset) + 1n).toString(),
      });
    }
    await consumer.commit([...next.values()]);
  }
  const seconds = (performance.now() - start) / 1000;
  await consumer.close();
  return events.length / seconds;
}

/** Vigil as the job ingests: adapter + writeBronze + lake commit + offset commit per batch. */
async function vigilBronze(): Promise<number> {
  const lake = await localLake.create(localLake.config.parse({ dir: join(workdir, 'lake') }), ctx);
  await lake.createBranch('ingest', lake.defaultBranch);
  const medallion = await createMedallion({ lake, workdir: join(workdir, 'medallion') });
  const start = performance.now();
  const result = await drainToBronze(source, {
    topics,
    group: `${prefix}-bronze`,
    batchSize,
    signal: ctx.signal,
    onProgress: () => {},
    writeBatch: async (records) => {
      await medallion.writeBronze('ingest', records);
      await lake.commit('ingest', `bronze: ${records.length} records`);
    },
  });
  const seconds = (performance.now() - start) / 1000;
  if (result.consumed !== events.length) throw new Error(`bronze ingest consumed ${result.consumed}`);
  console.log(`  bronze: ${result.batches} batches, ${Math.round(result.consumed / result.batches)} records per batch`);
  await medallion.close();
  await lake.close();
  return events.length / seconds;
}

try {
  // Raw kafkajs and the adapter alone alternate over three rounds (medians); the bronze
  // pipeline, far slower, runs once. Every run is a new group reading from offset 0.
  const raws: number[] = [];
  const adapters: number[] = [];
  for (let round = 0; round < 3; round++) {
    if (round % 2 === 0) {
      raws.push(await rawKafkajs(round));
      adapters.push(await adapterOnly(round));
    } else {
      adapters.push(await adapterOnly(round));
      raws.push(await rawKafkajs(round));
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const raw = median(raws);
  const adapter = median(adapters);
  const bronze = await vigilBronze();
  const fmt = (n: number) => `${Math.round(n).toLocaleString('en-US')} ev/s`;
  console.log(
    `raw kafkajs consumer (no processing)        ${fmt(raw)}   (rounds: ${raws.map(fmt).join(', ')})`,
  );
  console.log(
    `Vigil kafka adapter (poll + commit)         ${fmt(adapter)}   ratio ${(adapter / raw).toFixed(2)}   (rounds: ${adapters.map(fmt).join(', ')})`,
  );
  console.log(
    `Vigil Kafka -> bronze (drainToBronze, batch ${batchSize}) ${fmt(bronze)}   ratio ${(bronze / raw).toFixed(2)} (target >= 0.70)`,
  );
} finally {
  const admin = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
  await source.close();
  await rm(workdir, { recursive: true, force: true });
}
