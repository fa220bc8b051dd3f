/**
 * Acceptance: ≥ 200k simulated trial events go through Kafka into bronze while the consumer
 * process is SIGKILLed three times and the broker is restarted once; silver then reconciles
 * exactly — every produced record is in bronze once, and silver's duplicates and quarantine
 * are exactly the simulator's own (no loss, no duplicate from re-delivery).
 *
 * The consumer is the job's `drainToBronze` in a child process (kafka-consumer-crash-child.ts):
 * poll → writeBronze → lake commit → offset commit. Needs `bash scripts/services up kafka`;
 * restarts that broker through scripts/services. Bounded: about two to three minutes.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { kafkaSource } from '@vigil/adapter-kafka';
import { requireKafkaBroker, testBrokers } from '@vigil/adapter-kafka/testing';
import { localLake } from '@vigil/adapter-local-lake';
import { createRng, type LakeStore, type Source } from '@vigil/core';
import { createTestContext, type TestContext } from '@vigil/core/testing';
import {
  createMedallion,
  MALFORMED_KIND_NAMES,
  MALFORMED_KINDS,
  type SimulationResult,
  simulateTrial,
} from '@vigil/job-adverse-events';
import { afterAll, describe, expect, it } from 'vitest';
import type { CrashChildArgs } from './kafka-consumer-crash-child.js';

const childFile = fileURLToPath(new URL('./kafka-consumer-crash-child.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const readParquet = (files: readonly string[]) =>
  `read_parquet([${files.map((f) => `'${f.replaceAll("'", "''")}'`).join(', ')}], union_by_name = true)`;
const brokers = testBrokers();

interface Child {
  proc: ChildProcess;
  /** Records committed so far (the last progress line). */
  consumed(): number;
  /** Resolves once the child has committed `batches` more batches after this call. */
  batches(batches: number, timeoutMs: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

function startChild(args: CrashChildArgs): Child {
  const proc = spawn(
    process.execPath,
    ['--conditions=@vigil/source', '--import', 'tsx', childFile, JSON.stringify(args)],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let consumed = 0;
  let commits = 0;
  const listeners = new Set<() => void>();
  proc.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const lines = out.split('\n');
    commits = 0;
    for (const line of lines) {
      if (!line.startsWith('{"consumed"')) continue;
      commits++;
      consumed = (JSON.parse(line) as { consumed: number }).consumed;
    }
    for (const l of listeners) l();
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    proc,
    consumed: () => consumed,
    output: () => out.slice(-4000),
    exited,
    batches(more, timeoutMs) {
      const target = commits + more;
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (commits >= target) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(
            new Error(
              `child committed ${commits}/${target} batches in ${timeoutMs} ms:\n${out.slice(-3000)}`,
            ),
          );
        }, timeoutMs);
        listeners.add(check);
        void exited.then(({ code, signal }) => {
          if (commits < target) {
            listeners.delete(check);
            clearTimeout(timer);
            reject(
              new Error(
                `child exited (${code ?? signal}) after ${commits}/${target} batches:\n${out.slice(-3000)}`,
              ),
            );
          }
        });
        check();
      });
    },
  };
}

async function sigkill(child: Child): Promise<void> {
  child.proc.kill('SIGKILL');
  const { signal } = await child.exited;
  expect(signal).toBe('SIGKILL');
}

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
    const branch = 'ingest';
    const lake: LakeStore = await localLake.create(localLake.config.parse({ dir: lakeDir }), ctx);
    await lake.createBranch(branch, lake.defaultBranch);
    await lake.close();

    let children = 0;
    const child = () =>
      startChild({
        brokers,
        topics,
        group: `${prefix}-bronze`,
        lakeDir,
        branch,
        workdir: join(workdir, `child-${++children}`),
        batchSize: 5_000,
      });

    // Kills 1 and 2: after a couple of committed batches, at a random moment of the next one.
    for (let kill = 1; kill <= 2; kill++) {
      const c = child();
      await c.batches(2, 90_000);
      await new Promise((resolve) => setTimeout(resolve, rng.int(900)));
      await sigkill(c);
    }

    // The broker restarts under a running consumer, which carries on afterwards; then kill 3.
    const c3 = child();
    await c3.batches(1, 90_000);
    await restartBroker();
    expect(await brokerPid()).not.toBe(pidBefore);
    await c3.batches(2, 120_000);
    await produce(split, events.length);
    await new Promise((resolve) => setTimeout(resolve, rng.int(900)));
    await sigkill(c3);

    // The last consumer drains everything that is left.
    const last = child();
    const exit = await last.exited;
    expect(exit, last.output()).toEqual({ code: 0, signal: null });
    expect(last.output()).toContain('"done"');
    const ends = await Promise.all(topics.map((t) => source!.describeTopic(t)));
    expect(ends.flatMap((i) => i.endOffsets).reduce((a, b) => a + Number(b), 0)).toBe(events.length);

    // Bronze holds every produced record exactly once, payloads intact.
    const reopened = await localLake.create(localLake.config.parse({ dir: lakeDir }), ctx);
    const medallion = await createMedallion({ lake: reopened, workdir: join(workdir, 'check') });
    const db = await DuckDBInstance.create(':memory:', { threads: '2' });
    try {
      const bronzeFiles = await Promise.all(
        (await reopened.list(branch, 'bronze/'))
          .filter((o) => o.path.endsWith('.parquet'))
          .map((o) => reopened.locate(branch, o.path)),
      );
      const conn = await db.connect();
      const [row] = (
        await conn.runAndReadAll(
          `SELECT count(*) AS n, count(DISTINCT (topic, "partition", "offset")) AS keys,
             count(DISTINCT payload) AS payloads FROM ${readParquet(bronzeFiles)}`,
        )
      ).getRowObjectsJS() as { n: bigint; keys: bigint; payloads: bigint }[];
      conn.closeSync();
      expect(Number(row?.n)).toBe(events.length);
      expect(Number(row?.keys)).toBe(events.length);
      expect(Number(row?.payloads)).toBe(new Set(events.map((e) => e.value)).size);

      // Silver: the simulator's duplicates and malformed events, nothing more, nothing less.
      const silver = await medallion.buildSilver(branch);
      expect(silver.bronze).toBe(events.length);
      expect(silver.silver + silver.duplicates + silver.quarantined).toBe(events.length);
      expect(silver.reasons.duplicate_event_id ?? 0).toBe(sim.stats.resent);
      expect(silver.duplicates).toBe(sim.stats.duplicates);
      for (const kind of MALFORMED_KIND_NAMES) {
        expect(silver.reasons[MALFORMED_KINDS[kind].reason], kind).toBeGreaterThanOrEqual(
          sim.stats.malformedByKind[kind],
        );
      }
      expect(children).toBe(4);
    } finally {
      db.closeSync();
      await medallion.close();
      await reopened.close();
    }
  });
});
