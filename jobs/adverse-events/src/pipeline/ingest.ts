import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { LakeStore, Source, TopicPartitionOffset } from '@vigil/core';
import type { Medallion } from '../medallion/index.js';
import { checkAborted, type ProgressListener } from './runtime.js';
import { sitePartitions } from './site-partitions.js';

const PRODUCE_CHUNK = 10_000;

interface GenerationMarker {
  topics: string[];
  events: number;
  producedAt: string;
}

/**
 * Produce the simulated events to their topics, keyed by site, once per trial: the marker
 * file records that this trial is already in the source, so a rerun on the same workdir
 * does not send the same events again (when the topics still hold them). Returns the
 * records produced by this call.
 */
export async function produceEvents(
  source: Source,
  events: readonly { topic: string; key: string; value: string }[],
  options: { partitions: number; signal: AbortSignal; onProgress: ProgressListener; marker: string },
): Promise<{ produced: number; topics: string[]; reused: boolean }> {
  const topics = [...new Set(events.map((e) => e.topic))].sort();
  for (const topic of topics) await source.ensureTopic(topic, { partitions: options.partitions });
  const previous = await readFile(options.marker, 'utf8')
    .then((text) => JSON.parse(text) as GenerationMarker)
    .catch(() => undefined);
  if (previous && previous.events === events.length) {
    let held = 0;
    for (const topic of topics)
      held += (await source.describeTopic(topic)).endOffsets.reduce((a, o) => a + Number(o), 0);
    if (held >= previous.events) return { produced: 0, topics, reused: true };
  }
  // `partitions` is the number of sites: each site's events go to the site's own partition.
  const partitionOf = new Map<string, Map<string, number>>();
  for (const topic of topics) {
    const held = (await source.describeTopic(topic)).partitions;
    partitionOf.set(topic, sitePartitions(options.partitions, held));
  }
  for (let i = 0; i < events.length; i += PRODUCE_CHUNK) {
    checkAborted(options.signal);
    const chunk = events.slice(i, i + PRODUCE_CHUNK);
    await source.produce(
      chunk.map((e) => ({
        topic: e.topic,
        key: e.key,
        value: e.value,
        partition: partitionOf.get(e.topic)!.get(e.key),
      })),
    );
    options.onProgress({
      stage: 'generate',
      done: Math.min(i + PRODUCE_CHUNK, events.length),
      total: events.length,
    });
  }
  await mkdir(dirname(options.marker), { recursive: true });
  const marker: GenerationMarker = { topics, events: events.length, producedAt: new Date().toISOString() };
  await writeFile(options.marker, JSON.stringify(marker));
  return { produced: events.length, topics, reused: false };
}

/**
 * Drain the topics into bronze: poll a batch, write it to the lake branch and commit,
 * and only then commit the consumer offsets (at-least-once; bronze writes are
 * idempotent by topic/partition/offset). Returns records consumed and the last commit.
 */
export async function drainToBronze(
  source: Source,
  options: {
    topics: string[];
    group: string;
    batchSize: number;
    signal: AbortSignal;
    onProgress: ProgressListener;
    writeBatch: (
      records: Awaited<ReturnType<Awaited<ReturnType<Source['consumer']>>['poll']>>,
    ) => Promise<void>;
  },
): Promise<{ consumed: number; batches: number; offsets: TopicPartitionOffset[] }> {
  const consumer = await source.consumer({ group: options.group, topics: options.topics, start: 'earliest' });
  try {
    const committed = new Map(
      (await consumer.committed()).map((c) => [`${c.topic}/${c.partition}`, BigInt(c.offset)]),
    );
    const end = new Map<string, bigint>();
    for (const topic of options.topics) {
      const info = await source.describeTopic(topic);
      info.endOffsets.forEach((o, p) => {
        end.set(`${topic}/${p}`, BigInt(o));
      });
    }
    const position = new Map<string, bigint>();
    for (const key of end.keys()) position.set(key, committed.get(key) ?? 0n);
    const lag = () =>
      [...end].reduce((sum, [k, e]) => sum + (e > position.get(k)! ? e - position.get(k)! : 0n), 0n);
    const total = Number(lag());
    let consumed = 0;
    let batches = 0;
    while (lag() > 0n) {
      checkAborted(options.signal);
      const records = await consumer.poll({ maxRecords: options.batchSize, timeoutMs: 500 });
      if (records.length === 0) continue;
      await options.writeBatch(records);
      const next = new Map<string, TopicPartitionOffset>();
      for (const r of records) {
        const key = `${r.topic}/${r.partition}`;
        const o = BigInt(r.offset) + 1n;
        if (o > (position.get(key) ?? 0n)) position.set(key, o);
        next.set(key, { topic: r.topic, partition: r.partition, offset: String(position.get(key)) });
      }
      await consumer.commit([...next.values()]);
      consumed += records.length;
      batches++;
      options.onProgress({ stage: 'ingest', done: consumed, total });
    }
    return {
      consumed,
      batches,
      offsets: [...position].map(([k, o]) => {
        const [topic, partition] = k.split('/') as [string, string];
        return { topic, partition: Number(partition), offset: String(o) };
      }),
    };
  } finally {
    await consumer.close();
  }
}

export interface IngestResult {
  consumed: number;
  batches: number;
  bronzeRows: number;
  offsets: TopicPartitionOffset[];
  /** Head of the lake's default branch after the last bronze commit. */
  lakeCommit: string;
}

/**
 * The shipped ingest path: drain the Source's topics into bronze on the lake's default
 * branch, one lake commit per batch, consumer offsets committed after the lake commit.
 */
export async function ingestToBronze(options: {
  source: Source;
  lake: LakeStore;
  medallion: Pick<Medallion, 'writeBronze'>;
  topics: string[];
  group: string;
  batchSize: number;
  runId: string;
  signal: AbortSignal;
  onProgress: ProgressListener;
}): Promise<IngestResult> {
  const { lake, medallion } = options;
  let bronzeRows = 0;
  const drained = await drainToBronze(options.source, {
    topics: options.topics,
    group: options.group,
    batchSize: options.batchSize,
    signal: options.signal,
    onProgress: options.onProgress,
    writeBatch: async (records) => {
      const written = await medallion.writeBronze(lake.defaultBranch, records);
      bronzeRows += written.rows;
      // A fully re-delivered batch stages nothing; the commit still marks the batch as held.
      await lake.commit(lake.defaultBranch, `bronze: ${records.length} records`, {
        metadata: { runId: options.runId },
        allowEmpty: true,
      });
    },
  });
  return { ...drained, bronzeRows, lakeCommit: await lake.resolve(lake.defaultBranch) };
}
