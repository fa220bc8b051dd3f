/**
 * Acceptance: bronze files of the kind a killed ingest leaves staged — Parquet put but not in
 * the offset ledger (a kill between the put and the ledger), and Parquet with its ledger but no
 * lake commit (a kill between the ledger and the commit) — are planted on the lake's default
 * branch; the next `ingestToBronze` (what `vigil run` runs) adopts them by itself and ends with
 * every record in bronze exactly once. On the local lake, lakeFS and plain S3 (MinIO).
 */
import { join } from 'node:path';
import { fileLogSource } from '@vigil/adapter-file-log';
import { localLake } from '@vigil/adapter-local-lake';
import type { SourceRecord } from '@vigil/core';
import { createTestContext } from '@vigil/core/testing';
import { createMedallion, simulateTrial } from '@vigil/job-adverse-events';
import { describe, expect, it } from 'vitest';
import { ingestToBronze } from '../../jobs/adverse-events/src/pipeline/ingest.js';
import { bronzeCounts } from './ingest-child-runner.js';
import { ingestLake, LAKE_KINDS } from './ingest-lakes.js';

const sim = simulateTrial({ seed: 31, patients: 30, days: 30, sites: 3 });

describe('orphan staged bronze files are adopted by the next ingest, never duplicated', () => {
  for (const kind of LAKE_KINDS) {
    it(`on the ${kind} lake`, { timeout: 120_000 }, async () => {
      const ctx = await createTestContext();
      const target = await ingestLake(kind, ctx.workdir, 'vigil-orphans');
      const source = await fileLogSource.create(
        fileLogSource.config.parse({ dir: join(ctx.workdir, 'log') }),
        ctx,
      );
      const lake = await target.open(ctx);
      const medallion = await createMedallion({ lake, workdir: join(ctx.workdir, 'medallion') });
      try {
        const events = sim.events;
        const topics = [...new Set(events.map((e) => e.topic))].sort();
        for (const topic of topics) await source.ensureTopic(topic, { partitions: 3 });
        await source.produce(events.map((e) => ({ topic: e.topic, key: e.key, value: e.value })));

        // Two batches as a consumer of another group sees them (real topic/partition/offset).
        const peek = await source.consumer({ group: 'peek', topics });
        const take = async (n: number) => {
          const out: SourceRecord[] = [];
          while (out.length < n)
            out.push(...(await peek.poll({ maxRecords: n - out.length, timeoutMs: 1000 })));
          return out;
        };
        const first = await take(700);
        const second = await take(900);
        await peek.close();

        // Kill between put and ledger: the batch's Parquet staged, the ledger not. Made with a
        // medallion on a side lake (so no ledger comes along) and put on the default branch.
        const side = await localLake.create(localLake.config.parse({ dir: join(ctx.workdir, 'side') }), ctx);
        const sideMedallion = await createMedallion({ lake: side, workdir: join(ctx.workdir, 'side-work') });
        const written = await sideMedallion.writeBronze(side.defaultBranch, first);
        for (const path of written.paths) {
          await lake.put(lake.defaultBranch, path, (await side.get(side.defaultBranch, path))!);
        }
        await sideMedallion.close();
        await side.close();
        // Kill between ledger and commit: the next batch's Parquet and ledger staged, no commit.
        const stagedSecond = await medallion.writeBronze(lake.defaultBranch, second);
        // The orphans, counted from what was written (not by the lake comparison recovery uses).
        const orphanFiles = written.paths.length + stagedSecond.paths.length;
        const planted = await bronzeCounts(lake, lake.defaultBranch, join(ctx.workdir, 'planted'));
        expect(planted.rows).toBe(first.length + second.length);
        expect(planted.staged).toBeGreaterThan(0);

        const result = await ingestToBronze({
          source,
          lake,
          medallion,
          topics,
          group: 'bronze',
          batchSize: 2_500,
          runId: 'orphans',
          signal: ctx.signal,
          onProgress: () => {},
        });
        expect(planted.staged).toBe(orphanFiles);
        expect(result.recovered).toEqual({ files: orphanFiles, rows: first.length + second.length });
        expect(result.redelivered).toBe(first.length + second.length);
        expect(result.consumed).toBe(events.length);
        expect(result.bronzeRows).toBe(events.length - first.length - second.length);

        const bronze = await bronzeCounts(lake, lake.defaultBranch, join(ctx.workdir, 'after'));
        expect(bronze).toEqual({
          rows: events.length,
          keys: events.length,
          payloads: new Set(events.map((e) => e.value)).size,
          staged: 0,
        });
      } finally {
        await medallion.close();
        await lake.close();
        await source.close();
        await target.cleanup();
        await ctx.cleanup();
      }
    });
  }
});
