/**
 * Acceptance: the shipped ingest path (`ingestToBronze` in ingest-child.ts, no recovery of its
 * own) drains the embedded file log into bronze while it is SIGKILLed at every step of the
 * batch protocol (before the put, between the put and the ledger, between the ledger and the
 * lake commit, between the lake commit and the offset commit) and once at a random moment —
 * on the local lake, on lakeFS and on plain S3 (MinIO). Every record lands in bronze once and
 * silver reconciles exactly against the simulator's ground truth.
 */
import { join } from 'node:path';
import { fileLogSource } from '@vigil/adapter-file-log';
import { createRng } from '@vigil/core';
import { createTestContext } from '@vigil/core/testing';
import { createMedallion, simulateTrial } from '@vigil/job-adverse-events';
import { describe, expect, it } from 'vitest';
import { reconcile } from '../../jobs/adverse-events/src/pipeline/reconciliation.js';
import type { IngestChildArgs } from './ingest-child.js';
import { bronzeCounts, diesAtKillPoint, finishes, sigkill, startChild } from './ingest-child-runner.js';
import { ingestLake, LAKE_KINDS } from './ingest-lakes.js';

const sim = simulateTrial({ seed: 29, patients: 60, days: 45, sites: 4 });
const SITE_PARTITIONS = { 'site-01': 0, 'site-02': 1, 'site-03': 2, 'site-04': 3 };

describe('file log → bronze survives a SIGKILL at every step of a batch', () => {
  for (const kind of LAKE_KINDS) {
    it(`on the ${kind} lake`, { timeout: 180_000 }, async () => {
      const ctx = await createTestContext();
      const lake = await ingestLake(kind, ctx.workdir, 'vigil-filelog-crash');
      try {
        const events = sim.events;
        const logDir = join(ctx.workdir, 'log');
        const source = await fileLogSource.create(
          fileLogSource.config.parse({ dir: logDir, keyPartitions: SITE_PARTITIONS }),
          ctx,
        );
        const topics = [...new Set(events.map((e) => e.topic))].sort();
        for (const topic of topics) await source.ensureTopic(topic, { partitions: 4 });
        await source.produce(events.map((e) => ({ topic: e.topic, key: e.key, value: e.value })));
        // Events in, counted at the Source: end offsets overall and per partition (= per site).
        const infos = await Promise.all(topics.map((t) => source.describeTopic(t)));
        const eventsIn = infos.flatMap((i) => i.endOffsets).reduce((a, b) => a + Number(b), 0);
        const inBySite = Object.fromEntries(
          Object.entries(SITE_PARTITIONS).map(([site, p]) => [
            site,
            infos.reduce((a, i) => a + Number(i.endOffsets[p]), 0),
          ]),
        );
        await source.close();
        expect(eventsIn).toBe(events.length);

        let children = 0;
        const args = (): IngestChildArgs => ({
          source: { kind: 'file-log', dir: logDir, keyPartitions: SITE_PARTITIONS },
          lake: lake.spec,
          topics,
          group: 'bronze',
          workdir: join(ctx.workdir, `child-${++children}`),
          batchSize: 1_500,
        });
        await diesAtKillPoint(startChild(args(), 'after-put:2'));
        await diesAtKillPoint(startChild(args(), 'before-put:2'));
        await diesAtKillPoint(startChild(args(), 'after-ledger:2'));
        const random = startChild(args());
        await random.batches(1, 60_000);
        await new Promise((resolve) => setTimeout(resolve, createRng(7).int(400)));
        await sigkill(random);
        await diesAtKillPoint(startChild(args(), 'after-commit:1'));
        const result = await finishes(startChild(args()));
        expect(result.redelivered).toBeGreaterThan(0);
        expect(result.sourceRecords).toBe(events.length);

        const store = await lake.open(ctx);
        const medallion = await createMedallion({ lake: store, workdir: join(ctx.workdir, 'check') });
        try {
          const bronze = await bronzeCounts(store, store.defaultBranch, join(ctx.workdir, 'bronze-check'));
          expect(bronze).toEqual({
            rows: events.length,
            keys: events.length,
            payloads: new Set(events.map((e) => e.value)).size,
            staged: 0,
          });
          const adoptions = (await store.log(store.defaultBranch)).filter((c) =>
            c.message.startsWith('bronze: adopt'),
          );
          expect(adoptions.length).toBeGreaterThanOrEqual(2);
          const silver = await medallion.buildSilver(store.defaultBranch);
          const r = reconcile({ in: eventsIn, inBySite, silver, injected: sim.injected });
          expect(r.problems).toEqual([]);
          expect(r.balanced).toBe(true);
          expect(silver.duplicates).toBe(sim.injected.duplicates);
          expect(silver.quarantined).toBe(r.expected!.quarantined);
          expect(silver.silver).toBe(r.expected!.silver);
        } finally {
          await medallion.close();
          await store.close();
        }
      } finally {
        await lake.cleanup();
        await ctx.cleanup();
      }
    });
  }
});
