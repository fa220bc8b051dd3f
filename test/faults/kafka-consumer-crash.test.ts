/**
 * Acceptance: ≥ 200k simulated trial events go through Kafka into bronze while the consumer
 * process is SIGKILLed five times — at each step of the batch protocol (before the put,
 * between the put and the ledger, between the ledger and the lake commit, between the lake
 * commit and the offset commit) and once at a random moment — and the broker is restarted
 * once; silver then reconciles exactly against the simulator's ground truth: every produced
 * record is in bronze once, and silver, duplicates, quarantine and each quarantine reason equal
 * what was injected (no loss, no duplicate from re-delivery).
 *
 * The consumer is the shipped ingest path, `ingestToBronze`, in a child process
 * (ingest-child.ts) with no recovery of its own; the kill points are the product's
 * VIGIL_FAULT_KILL_AT hook. Needs `bash scripts/services up kafka`; restarts that broker
 * through scripts/services. Bounded: about two to three minutes.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { kafkaSource } from '@vigil/adapter-kafka';
import { requireKafkaBroker, testBrokers } from '@vigil/adapter-kafka/testing';
import { localLake } from '@vigil/adapter-local-lake';
import { createRng, type LakeStore, type Source } from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import { createMedallion, type SimulationResult, simulateTrial } from '@vigil/job-adverse-events';
import { afterAll, describe, expect, it } from 'vitest';
import { reconcile } from '../../jobs/adverse-events/src/pipeline/reconciliation.js';
import type { IngestChildArgs } from './ingest-child.js';
import {
  bronzeCounts,
  diesAtKillPoint,
  finishes,
  repoRoot,
  sigkill,
  startChild,
} from './ingest-child-runner.js';

const run = promisify(execFile);
const brokers = testBrokers();

/** The broker's pid as scripts/services reports it (it must be the script's own broker to restart it). */
async function brokerPid(): Promise<string> {
  const { stdout } = await run('bash', ['scripts/services', 'status'], { cwd: repoRoot, timeout: 30_000 });
  const line = stdout.split('\n').find((l) => l.startsWith('kafka '));
  const pid = line?.match(/pid (\d+)/)?.[1];
  if (!pid) {
    throw new Error(
      `this test restarts the broker of \`bash scripts/services up kafka\`; status says: ${line}`,
    );
  }
  return pid;
}

async function restartBroker(): Promise<void> {
  await run('bash', ['scripts/services', 'down', 'kafka'], { cwd: repoRoot, timeout: 90_000 });
  await run('bash', ['scripts/services', 'up', 'kafka'], { cwd: repoRoot, timeout: 120_000 });
}

let ctx: TestContext | undefined;
let source: Source | undefined;
let topics: string[] = [];

afterAll(async () => {
  try {
    if (source && topics.length > 0) {
      // Delete the test's topics through kafkajs' admin (the Source port has no deleteTopic).
      const { Kafka, logLevel } = (await import('kafkajs')).default;
      const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      await admin.deleteTopics({ topics }).catch(() => undefined);
      await admin.disconnect();
    }
  } finally {
    await source?.close();
    await ctx?.cleanup();
  }
});

describe('Kafka → bronze survives consumer SIGKILLs and a broker restart', () => {
  it('lands ≥ 200k events in bronze once each and silver reconciles exactly', {
    timeout: 300_000,
  }, async () => {
    await requireKafkaBroker(brokers);
    const pidBefore = await brokerPid();
    ctx = await createTestContext();
    const workdir = ctx.workdir;
    const rng = createRng(20_260_105);

    const sim: SimulationResult = simulateTrial({ seed: 17, patients: 400, days: 120, sites: 6 });
    const events = sim.events;
    expect(events.length).toBeGreaterThanOrEqual(200_000);

    const prefix = `vigil-fault-${process.pid}-${Date.now().toString(36)}`;
    const kinds = [...new Set(events.map((e) => e.topic))].sort();
    topics = kinds.map((k) => `${prefix}-${k}`);
    source = await kafkaSource.create(kafkaSource.config.parse({ brokers }), ctx);
    for (const topic of topics) await source.ensureTopic(topic, { partitions: 6 });
    const produce = async (from: number, to: number) => {
      for (let i = from; i < to; i += 20_000) {
        const chunk = events.slice(i, Math.min(to, i + 20_000));
        await source!.produce(
          chunk.map((e) => ({ topic: `${prefix}-${e.topic}`, key: e.key, value: e.value })),
        );
      }
    };
    // Most events before the consumers start; the rest after the broker restart.
    const split = Math.floor(events.length * 0.7);
    await produce(0, split);

    const lakeDir = join(workdir, 'lake');
    let children = 0;
    const args = (): IngestChildArgs => ({
      source: { kind: 'kafka', brokers },
      lake: { kind: 'local', dir: lakeDir },
      topics,
      group: `${prefix}-bronze`,
      workdir: join(workdir, `child-${++children}`),
      batchSize: 5_000,
      topicPrefix: `${prefix}-`,
    });

    // Kills 1 and 2 at chosen steps: files staged but no ledger; nothing staged yet.
    await diesAtKillPoint(startChild(args(), 'after-put:3'));
    await diesAtKillPoint(startChild(args(), 'before-put:2'));

    // The broker restarts under a running consumer, which carries on; then kill 3 at a random moment.
    const c3 = startChild(args());
    await c3.batches(1, 90_000);
    await restartBroker();
    expect(await brokerPid()).not.toBe(pidBefore);
    await c3.batches(2, 120_000);
    await produce(split, events.length);
    await new Promise((resolve) => setTimeout(resolve, rng.int(900)));
    await sigkill(c3);

    // Kills 4 and 5: files and ledger staged, no lake commit; lake commit made, offsets not.
    await diesAtKillPoint(startChild(args(), 'after-ledger:2'));
    await diesAtKillPoint(startChild(args(), 'after-commit:2'));

    // The last consumer drains everything that is left; it is handed the batch kill 5 committed
    // to the lake but not to Kafka, and skips it.
    const result = await finishes(startChild(args()));
    expect(result.redelivered).toBeGreaterThan(0);
    expect(result.bronzeRows + result.redelivered).toBe(result.consumed);
    const ends = await Promise.all(topics.map((t) => source!.describeTopic(t)));
    const eventsIn = ends.flatMap((i) => i.endOffsets).reduce((a, b) => a + Number(b), 0);
    expect(eventsIn).toBe(events.length);
    expect(result.sourceRecords).toBe(events.length);

    const lake: LakeStore = await localLake.create(localLake.config.parse({ dir: lakeDir }), ctx);
    const medallion = await createMedallion({
      lake,
      workdir: join(workdir, 'check'),
      topicPrefix: `${prefix}-`,
    });
    try {
      // Bronze holds every produced record exactly once, payloads intact, nothing left staged.
      const bronze = await bronzeCounts(lake, lake.defaultBranch, join(workdir, 'bronze-check'));
      expect(bronze).toEqual({
        rows: events.length,
        keys: events.length,
        payloads: new Set(events.map((e) => e.value)).size,
        staged: 0,
      });
      // The product adopted what kills 1 and 4 left staged (the test cleaned up nothing).
      const log = await lake.log(lake.defaultBranch);
      expect(log.filter((c) => c.message.startsWith('bronze: adopt')).length).toBeGreaterThanOrEqual(2);

      // Silver: exactly the simulator's duplicates, resends and malformed events, per site too.
      const silver = await medallion.buildSilver(lake.defaultBranch);
      const r = reconcile({ in: eventsIn, silver, injected: sim.injected });
      expect(r.problems).toEqual([]);
      expect(r.balanced).toBe(true);
      expect(silver.silver).toBe(r.expected!.silver);
      expect(silver.duplicates).toBe(sim.injected.duplicates);
      expect(silver.quarantined).toBe(r.expected!.quarantined);
      expect(silver.reasons).toEqual(r.expected!.reasons);
      expect(children).toBe(6);
    } finally {
      await medallion.close();
      await lake.close();
    }
  });
});
