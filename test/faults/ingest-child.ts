/**
 * Child process of the ingest fault tests: exactly the shipped ingest path (`ingestToBronze`,
 * what `vigil run`'s ingest step calls) from a Source into bronze on the lake's default
 * branch, with no recovery or cleanup of its own — a killed predecessor's leftovers are the
 * product's to deal with.
 *
 *   VIGIL_FAULT_KILL_AT=after-put:3 node --conditions=@vigil/source --import tsx ingest-child.ts '<json args>'
 *
 * Prints one JSON line per lake commit whose offsets were committed (`{"consumed":…}`) and the
 * IngestResult at the end (`{"done":…}`). `VIGIL_FAULT_KILL_AT` (read by the product) makes it
 * SIGKILL itself at a chosen step of the batch protocol.
 */
import { join } from 'node:path';
import { fileLogSource } from '@vigil/adapter-file-log';
import { kafkaSource } from '@vigil/adapter-kafka';
import { lakefsLake } from '@vigil/adapter-lakefs';
import { localLake } from '@vigil/adapter-local-lake';
import { s3Lake } from '@vigil/adapter-s3';
import {
  type ComponentContext,
  createLineageRecorder,
  createLogger,
  type LakeStore,
  type Source,
} from '@vigil/core';
import { createMedallion } from '@vigil/job-adverse-events';
import { ingestToBronze } from '../../jobs/adverse-events/src/pipeline/ingest.js';

export type ChildSource =
  | { kind: 'kafka'; brokers: string[] }
  | { kind: 'file-log'; dir: string; keyPartitions?: Record<string, number> };

export type ChildLake =
  | { kind: 'local'; dir: string }
  /** Parsed config of the s3 adapter (MinIO). */
  | { kind: 's3'; config: Record<string, unknown> }
  | { kind: 'lakefs'; config: Record<string, unknown> };

export interface IngestChildArgs {
  source: ChildSource;
  lake: ChildLake;
  topics: string[];
  group: string;
  /** Scratch folder of this child (DuckDB spill, Parquet on its way into the lake). */
  workdir: string;
  batchSize: number;
  commitRecords?: number;
  /** Deployment prefix of the topics (the medallion derives the event kind without it). */
  topicPrefix?: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as IngestChildArgs;
const controller = new AbortController();
const ctx: ComponentContext = {
  runId: `ingest-child-${process.pid}`,
  workdir: args.workdir,
  seed: 1,
  logger: createLogger({ level: 'warn' }),
  lineage: createLineageRecorder(`ingest-child-${process.pid}`),
  signal: controller.signal,
  emit: async () => undefined,
  port() {
    throw new Error('the ingest child has no ports');
  },
};

async function openSource(spec: ChildSource): Promise<Source> {
  if (spec.kind === 'kafka') {
    // The broker drops a SIGKILLed member after its session (the broker's minimum is 6 s).
    const config = { brokers: spec.brokers, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 };
    return kafkaSource.create(kafkaSource.config.parse(config), ctx);
  }
  const config = { dir: spec.dir, ...(spec.keyPartitions ? { keyPartitions: spec.keyPartitions } : {}) };
  return fileLogSource.create(fileLogSource.config.parse(config), ctx);
}

async function openLake(spec: ChildLake): Promise<LakeStore> {
  if (spec.kind === 'local') return localLake.create(localLake.config.parse({ dir: spec.dir }), ctx);
  if (spec.kind === 's3') return s3Lake.create(s3Lake.config.parse(spec.config), ctx);
  return lakefsLake.create(lakefsLake.config.parse(spec.config), ctx);
}

const source = await openSource(args.source);
const lake = await openLake(args.lake);
const medallion = await createMedallion({
  lake,
  workdir: join(args.workdir, 'medallion'),
  ...(args.topicPrefix ? { topicPrefix: args.topicPrefix } : {}),
});
process.stdout.write(`${JSON.stringify({ started: process.pid })}\n`);
const result = await ingestToBronze({
  source,
  lake,
  medallion,
  topics: args.topics,
  group: args.group,
  batchSize: args.batchSize,
  ...(args.commitRecords ? { commitRecords: args.commitRecords } : {}),
  runId: ctx.runId,
  signal: controller.signal,
  onProgress: ({ done }) => process.stdout.write(`${JSON.stringify({ consumed: done })}\n`),
});
await medallion.close();
await lake.close();
await source.close();
process.stdout.write(`${JSON.stringify({ done: result })}\n`);
