import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { LakeStore, Source, SourceRecord, TopicPartitionOffset } from '@vigil/core';
import { faultPoint } from '../medallion/fault-point.js';
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
  await produceBySite(source, events, {
    sites: options.partitions,
    partitions: options.partitions,
    signal: options.signal,
    onProgress: (done, total) => options.onProgress({ stage: 'generate', done, total }),
  });
  await mkdir(dirname(options.marker), { recursive: true });
  const marker: GenerationMarker = { topics, events: events.length, producedAt: new Date().toISOString() };
  await writeFile(options.marker, JSON.stringify(marker));
  return { produced: events.length, topics, reused: false };
}

/**
 * Produce events keyed by site id, each site to its own partition (`sitePartitions`): topics are
 * created with `partitions` partitions (an existing topic keeps its own count), in chunks.
 */
export async function produceBySite(
  source: Source,
  events: readonly { topic: string; key: string; value: string }[],
  options: {
    sites: number;
    partitions: number;
    signal: AbortSignal;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<void> {
  const topics = [...new Set(events.map((e) => e.topic))].sort();
  const partitionOf = new Map<string, Map<string, number>>();
  for (const topic of topics) {
    await source.ensureTopic(topic, { partitions: options.partitions });
    partitionOf.set(topic, sitePartitions(options.sites, (await source.describeTopic(topic)).partitions));
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
    options.onProgress?.(Math.min(i + PRODUCE_CHUNK, events.length), events.length);
  }
}

export interface IngestResult {
  /** Records polled from the Source by this call (redelivered ones included). */
  consumed: number;
  /** Poll batches written. */
  batches: number;
  /** Lake commits of bronze made by this call (recovery's included). */
  commits: number;
  /** Rows this call added to bronze. */
  bronzeRows: number;
  /**
   * Records delivered again that bronze already held (skipped by the offset ledger): a
   * predecessor wrote them but died before committing their Source offsets.
   */
  redelivered: number;
  /** Bronze files a killed predecessor staged but never committed, adopted before consuming. */
  recovered: { files: number; rows: number };
  /**
   * Events in, counted at the Source: the sum of the topics' end offsets when the drain
   * started (every partition read from offset 0; topics are not trimmed by retention).
   */
  sourceRecords: number;
  offsets: TopicPartitionOffset[];
  /**
   * Where the time went, in milliseconds: recovery, waiting for a poll (the part not hidden
   * behind the previous write), the bronze write's own phases, the lake commits and the Source
   * offset commits; `total` is the whole call.
   */
  phases: IngestPhases;
  /** Head of the bronze branch after the last bronze commit. */
  lakeCommit: string;
}

export interface IngestPhases {
  recover: number;
  pollWait: number;
  dedupe: number;
  append: number;
  encode: number;
  put: number;
  ledger: number;
  lakeCommit: number;
  offsetCommit: number;
  total: number;
}

export interface IngestOptions {
  source: Source;
  lake: LakeStore;
  medallion: Pick<Medallion, 'writeBronze' | 'recoverBronze'>;
  topics: string[];
  group: string;
  /** Most records per poll (and per bronze write). */
  batchSize: number;
  runId: string;
  signal: AbortSignal;
  onProgress: ProgressListener;
  /** Branch bronze lands on. Default: the lake's default branch. */
  branch?: string;
  /**
   * Records staged before a lake commit: poll batches are written as they arrive and committed
   * together once this many are staged (and at the end); the Source offsets of all of them are
   * committed right after that lake commit. Default `batchSize` (one lake commit per poll).
   */
  commitRecords?: number;
}

/**
 * The shipped ingest path: drain the Source's topics into bronze, consumer offsets committed
 * only after the lake commit that holds their records (at-least-once delivery; bronze is
 * idempotent by topic/partition/offset, so a redelivery adds nothing).
 *
 * Recovers by itself from a kill at any point: before consuming it adopts the bronze files a
 * killed predecessor staged but never committed (`medallion.recoverBronze`: their offsets go
 * into the ledger) and commits them, so the lake and its offset ledger agree at every commit
 * and records redelivered after the kill are skipped, never written twice. The next poll is
 * in flight while a batch is written (polling overlaps the write).
 */
export async function ingestToBronze(options: IngestOptions): Promise<IngestResult> {
  const { lake, medallion, source } = options;
  const branch = options.branch ?? lake.defaultBranch;
  const commitRecords = Math.max(options.commitRecords ?? options.batchSize, 1);
  const metadata = { runId: options.runId };
  let commits = 0;
  const started = performance.now();
  const phases: IngestPhases = {
    recover: 0,
    pollWait: 0,
    dedupe: 0,
    append: 0,
    encode: 0,
    put: 0,
    ledger: 0,
    lakeCommit: 0,
    offsetCommit: 0,
    total: 0,
  };
  const timed = async <T>(phase: keyof IngestPhases, work: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await work();
    } finally {
      phases[phase] += performance.now() - t;
    }
  };

  const recovery = await timed('recover', async () => {
    const adopted = await medallion.recoverBronze(branch);
    if (adopted.adopted.length > 0) {
      await lake.commit(
        branch,
        `bronze: adopt ${adopted.adopted.length} file(s) (${adopted.rows} records) staged by an interrupted ingest`,
        { metadata },
      );
      commits++;
    }
    return adopted;
  });

  const consumer = await source.consumer({ group: options.group, topics: options.topics, start: 'earliest' });
  let inFlight: Promise<SourceRecord[]> | undefined;
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
    const sourceRecords = Number([...end.values()].reduce((a, b) => a + b, 0n));
    /** Next offset to poll, per partition. */
    const position = new Map<string, bigint>();
    for (const key of end.keys()) position.set(key, committed.get(key) ?? 0n);
    const lag = () =>
      [...end].reduce((sum, [k, e]) => sum + (e > position.get(k)! ? e - position.get(k)! : 0n), 0n);
    const total = Number(lag());
    /** Offsets to commit at the Source once the lake commit holds their records. */
    const toCommit = new Map<string, TopicPartitionOffset>();
    let staged = 0;
    let consumed = 0;
    let batches = 0;
    let bronzeRows = 0;
    let redelivered = 0;

    const flush = async () => {
      if (toCommit.size === 0) return;
      // A fully redelivered batch stages nothing; the commit still marks the batch as held.
      await timed('lakeCommit', () =>
        lake.commit(branch, `bronze: ${staged} records`, { metadata, allowEmpty: true }),
      );
      commits++;
      faultPoint('after-commit');
      await timed('offsetCommit', () => consumer.commit([...toCommit.values()]));
      toCommit.clear();
      staged = 0;
      options.onProgress({ stage: 'ingest', done: consumed, total });
    };
    const poll = () => {
      const next = consumer.poll({ maxRecords: options.batchSize, timeoutMs: 500 });
      next.catch(() => undefined); // awaited below; never an unhandled rejection
      return next;
    };

    if (lag() > 0n) inFlight = poll();
    while (inFlight) {
      checkAborted(options.signal);
      const polled = inFlight;
      const records = await timed('pollWait', () => polled);
      inFlight = undefined;
      for (const r of records) {
        const key = `${r.topic}/${r.partition}`;
        const o = BigInt(r.offset) + 1n;
        if (o > (position.get(key) ?? 0n)) position.set(key, o);
        toCommit.set(key, { topic: r.topic, partition: r.partition, offset: String(position.get(key)) });
      }
      const more = lag() > 0n;
      if (more) inFlight = poll(); // the next poll overlaps this batch's write
      if (records.length === 0) continue;
      const written = await medallion.writeBronze(branch, records);
      bronzeRows += written.rows;
      for (const k of ['dedupe', 'append', 'encode', 'put', 'ledger'] as const)
        phases[k] += written.phases[k];
      redelivered += written.skipped;
      consumed += records.length;
      staged += records.length;
      batches++;
      if (staged >= commitRecords || !more) await flush();
    }
    await flush();
    phases.total = performance.now() - started;
    return {
      phases,
      consumed,
      batches,
      commits,
      bronzeRows,
      redelivered,
      recovered: { files: recovery.adopted.length, rows: recovery.rows },
      sourceRecords,
      offsets: [...position].map(([k, o]) => {
        const [topic, partition] = k.split('/') as [string, string];
        return { topic, partition: Number(partition), offset: String(o) };
      }),
      lakeCommit: await lake.resolve(branch),
    };
  } finally {
    await inFlight?.catch(() => undefined);
    await consumer.close();
  }
}
