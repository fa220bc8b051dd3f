/**
 * Kafka → bronze throughput: Vigil's Kafka Source adapter feeding the shipped ingest path
 * (`ingestToBronze`: poll overlapped with the previous batch's bronze write, a lake commit every
 * `commit` records, offsets committed after it) against a raw kafkajs consumer draining the same
 * topics with no processing. Also times the adapter alone (poll + commit, no bronze) so the
 * adapter's own overhead is visible, and prints where the ingest's time went, phase by phase.
 * Every run's output is checked in full: the peers must see every record once (count and
 * bytes), bronze must hold every produced record exactly once with its payload intact.
 *
 *   node --conditions=@vigil/source --import tsx bench/kafka-ingest/kafka-ingest.ts [patients=200] [days=120] [batch=20000] [commit=60000]
 *
 * Needs `bash scripts/services up kafka`; talks only to 127.0.0.1. Topics are deleted at the end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { kafkaSource } from '@vigil/adapter-kafka';
import { requireKafkaBroker, testBrokers } from '@vigil/adapter-kafka/testing';
import { localLake } from '@vigil/adapter-local-lake';
import {
  type ComponentContext,
  createLineageRecorder,
  createLogger,
  type LakeStore,
  type Source,
} from '@vigil/core';
import { createMedallion, simulateTrial } from '@vigil/job-adverse-events';
import kafkajs from 'kafkajs';
import { type IngestResult, ingestToBronze } from '../../jobs/adverse-events/src/pipeline/ingest.js';

const [patients = 200, days = 120, batchSize = 20_000, commitRecords = 60_000] = process.argv
  .slice(2)
  .map(Number);
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
  emit: async () => undefined,
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
const fail = (what: string): never => {
  throw new Error(`output check failed: ${what}`);
};
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
  let seenBytes = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length;
        for (const m of batch.messages) seenBytes += m.value?.byteLength ?? 0;
        if (seen >= events.length) resolve();
      },
    });
  });
  const seconds = (performance.now() - start) / 1000;
  await consumer.disconnect();
  if (seen !== events.length || seenBytes !== bytes) {
    fail(`raw kafkajs saw ${seen} records / ${seenBytes} bytes, produced ${events.length} / ${bytes}`);
  }
  return events.length / seconds;
}

/** Vigil's adapter alone: poll + commit per batch, nothing written. */
async function adapterOnly(round: number): Promise<number> {
  const start = performance.now();
  const consumer = await source.consumer({ group: `${prefix}-adapter-${round}`, topics });
  let seen = 0;
  let seenBytes = 0;
  while (seen < events.length) {
    const records = await consumer.poll({ maxRecords: batchSize, timeoutMs: 500 });
    if (records.length === 0) continue;
    seen += records.length;
    for (const r of records) seenBytes += r.value.byteLength;
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
  if (seen !== events.length || seenBytes !== bytes) {
    fail(`the adapter saw ${seen} records / ${seenBytes} bytes, produced ${events.length} / ${bytes}`);
  }
  return events.length / seconds;
}

/** Bronze must hold every produced record once, with its payload intact (checked in full). */
async function checkBronze(lake: LakeStore): Promise<void> {
  const files = await Promise.all(
    (await lake.list(lake.defaultBranch, 'bronze/'))
      .filter((o) => o.path.endsWith('.parquet'))
      .map((o) => lake.locate(lake.defaultBranch, o.path)),
  );
  const db = await DuckDBInstance.create(':memory:', { threads: '2' });
  try {
    const conn = await db.connect();
    const list = files.map((f) => `'${f.replaceAll("'", "''")}'`).join(', ');
    const rows = (
      await conn.runAndReadAll(
        `SELECT count(*) OVER (PARTITION BY topic, "partition", "offset") AS copies, payload
         FROM read_parquet([${list}], union_by_name = true)`,
      )
    ).getRows() as [bigint, string][];
    conn.closeSync();
    if (rows.length !== events.length) fail(`bronze holds ${rows.length} rows, produced ${events.length}`);
    if (rows.some(([copies]) => copies !== 1n)) fail('bronze holds a (topic, partition, offset) twice');
    const got = rows.map(([, payload]) => payload).sort();
    const want = events.map((e) => e.value).sort();
    const bad = want.findIndex((v, i) => v !== got[i]);
    if (bad !== -1) fail(`bronze payloads differ from the produced ones (first at sorted index ${bad})`);
  } finally {
    db.closeSync();
  }
}

/** Vigil as the job ingests: `ingestToBronze` on a local lake. */
async function vigilBronze(): Promise<{ rate: number; result: IngestResult }> {
  const lake = await localLake.create(localLake.config.parse({ dir: join(workdir, 'lake') }), ctx);
  const medallion = await createMedallion({
    lake,
    workdir: join(workdir, 'medallion'),
    topicPrefix: `${prefix}-`,
  });
  const start = performance.now();
  const result = await ingestToBronze({
    source,
    lake,
    medallion,
    topics,
    group: `${prefix}-bronze`,
    batchSize,
    commitRecords,
    runId: 'bench',
    signal: ctx.signal,
    onProgress: () => {},
  });
  const seconds = (performance.now() - start) / 1000;
  if (result.consumed !== events.length || result.bronzeRows !== events.length) {
    fail(`ingest consumed ${result.consumed} and wrote ${result.bronzeRows} rows, produced ${events.length}`);
  }
  await checkBronze(lake);
  await medallion.close();
  await lake.close();
  return { rate: events.length / seconds, result };
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
  const { rate: bronze, result } = await vigilBronze();
  const fmt = (n: number) => `${Math.round(n).toLocaleString('en-US')} ev/s`;
  console.log(
    `raw kafkajs consumer (no processing)        ${fmt(raw)}   (rounds: ${raws.map(fmt).join(', ')})`,
  );
  console.log(
    `Vigil kafka adapter (poll + commit)         ${fmt(adapter)}   ratio ${(adapter / raw).toFixed(2)}   (rounds: ${adapters.map(fmt).join(', ')})`,
  );
  console.log(
    `Vigil Kafka -> bronze (ingestToBronze, poll ${batchSize}, commit every ${commitRecords}) ${fmt(bronze)}   ratio ${(bronze / raw).toFixed(2)} (target >= 0.70)`,
  );
  console.log(
    `  ${result.batches} polls, ${result.commits} lake commits; bronze output checked in full (${events.length} records once each, payloads equal)`,
  );
  const p = result.phases;
  const share = (ms: number) => `${(ms / 1000).toFixed(2)} s (${((100 * ms) / p.total).toFixed(0)}%)`;
  console.log(`  where the ingest's ${(p.total / 1000).toFixed(2)} s went:`);
  console.log(`    recovery check            ${share(p.recover)}`);
  console.log(
    `    waiting for polls         ${share(p.pollWait)}   (the rest of polling overlaps the writes)`,
  );
  console.log(`    ledger look-ups           ${share(p.dedupe)}`);
  console.log(`    rows into DuckDB (payload fields parsed in JS)  ${share(p.append)}`);
  console.log(`    Parquet encode (DuckDB)   ${share(p.encode)}`);
  console.log(`    staging files in the lake ${share(p.put)}`);
  console.log(`    offset ledger save        ${share(p.ledger)}`);
  console.log(`    lake commits              ${share(p.lakeCommit)}`);
  console.log(`    Kafka offset commits      ${share(p.offsetCommit)}`);
  const rest =
    p.total -
    p.recover -
    p.pollWait -
    p.dedupe -
    p.append -
    p.encode -
    p.put -
    p.ledger -
    p.lakeCommit -
    p.offsetCommit;
  console.log(`    other (consumer join, describeTopic, close)  ${share(rest)}`);
} finally {
  const admin = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
  await source.close();
  await rm(workdir, { recursive: true, force: true });
}
