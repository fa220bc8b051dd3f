/**
 * Child process of kafka-consumer-crash.test.ts: the job's Kafka → bronze ingest
 * (`drainToBronze`: poll a batch, `writeBronze`, lake commit, then commit the offsets) over
 * the Kafka adapter and a local lake, until the topics' end offsets as of its start.
 *
 *   node --conditions=@vigil/source --import tsx kafka-consumer-crash-child.ts '<json args>'
 *
 * Prints one JSON line per committed batch (`{"consumed":…}`) and `done` at the end. Before
 * consuming it discards what a killed predecessor staged but never committed on the branch:
 * the lake's last commit and the group's committed offsets are the state it resumes from.
 */
import { join } from 'node:path';
import { kafkaSource } from '@vigil/adapter-kafka';
import { localLake } from '@vigil/adapter-local-lake';
import { type ComponentContext, createLineageRecorder, createLogger, type LakeStore } from '@vigil/core';
import { createMedallion } from '@vigil/job-adverse-events';
import { drainToBronze } from '../../jobs/adverse-events/src/pipeline/ingest.js';

export interface CrashChildArgs {
  brokers: string[];
  topics: string[];
  group: string;
  lakeDir: string;
  branch: string;
  /** Scratch folder of this child (DuckDB spill, Parquet on its way into the lake). */
  workdir: string;
  batchSize: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as CrashChildArgs;

/** Undo staged changes of `branch` that no commit holds (a predecessor died mid-batch). */
async function discardStaged(lake: LakeStore, branch: string): Promise<number> {
  const head = await lake.resolve(branch);
  const staged = await lake.diff(head, branch);
  for (const entry of staged) {
    if (entry.type === 'added') await lake.delete(branch, entry.path);
    else await lake.put(branch, entry.path, (await lake.get(head, entry.path))!);
  }
  return staged.length;
}

const controller = new AbortController();
const ctx: ComponentContext = {
  runId: `kafka-crash-child-${process.pid}`,
  workdir: args.workdir,
  seed: 1,
  logger: createLogger({ level: 'warn' }),
  lineage: createLineageRecorder(`kafka-crash-child-${process.pid}`),
  signal: controller.signal,
  port() {
    throw new Error('the crash child has no ports');
  },
};

const source = await kafkaSource.create(
  // The broker drops a SIGKILLed member after its session (the broker's minimum is 6 s).
  kafkaSource.config.parse({ brokers: args.brokers, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 }),
  ctx,
);
const lake = await localLake.create(localLake.config.parse({ dir: args.lakeDir }), ctx);
const discarded = await discardStaged(lake, args.branch);
const medallion = await createMedallion({ lake, workdir: join(args.workdir, 'medallion') });
process.stdout.write(`${JSON.stringify({ started: process.pid, discarded })}\n`);
const result = await drainToBronze(source, {
  topics: args.topics,
  group: args.group,
  batchSize: args.batchSize,
  signal: controller.signal,
  onProgress: ({ done }) => process.stdout.write(`${JSON.stringify({ consumed: done })}\n`),
  writeBatch: async (records) => {
    await medallion.writeBronze(args.branch, records);
    await lake.commit(args.branch, `bronze: ${records.length} records`, {
      metadata: { child: String(process.pid) },
    });
  },
});
await medallion.close();
await lake.close();
await source.close();
process.stdout.write(`${JSON.stringify({ done: result.consumed, batches: result.batches })}\n`);
