/**
 * Online lookup benchmark: 1 entity × 50 features from Redis (Feast's encoding), measured
 * side by side in one run:
 *   - Vigil: `getOnlineFeatures` of the online-only Redis feature store (@vigil/adapter-redis);
 *   - raw ioredis: `HMGETBUFFER` of the same key and the same 51 fields, undecoded (the floor);
 *   - Feast: `feast serve` (HTTP `POST /get-online-features`) over the same Redis keys.
 * Sequential requests give latency percentiles; a fixed number of requests with a fixed
 * number in flight gives throughput. Talks only to 127.0.0.1; bounded in count and time.
 * Needs `bash scripts/services up redis feast` (Feast is skipped, with a note, without its venv).
 *
 *   node --conditions=@vigil/source --import tsx bench/online-lookup/online-lookup.ts [requests] [concurrency]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetFromRows } from '@vigil/adapter-duckdb';
import { type RedisFeatureStore, redisFeatureStore } from '@vigil/adapter-redis';
import {
  type ComponentContext,
  createLineageRecorder,
  createLogger,
  createRng,
  type FeatureRef,
  type FeatureView,
} from '@vigil/core';
import { FEAST_BIN, runFeast, writeFeastRepo } from '../../adapters/redis/src/testing/feast-venv.js';
import { REDIS_URL, requireRedis, uniqueProject } from '../../adapters/redis/src/testing/redis-server.js';
import { sourceColumns } from '../../adapters/redis/src/testing/source-columns.js';

const REQUESTS = Number(process.argv[2] ?? 3000);
const CONCURRENCY = Number(process.argv[3] ?? 16);
const ENTITIES = 1000;
const FEATURES = 50;
const FEAST_REQUESTS = Math.min(REQUESTS, 500);
const ROUNDS = 3;

const view: FeatureView = {
  name: 'driver_stats',
  entities: ['driver_id'],
  entityDtypes: { driver_id: 'int64' },
  features: Array.from({ length: FEATURES }, (_, i) => ({ name: `f${i}`, dtype: 'float64' as const })),
  ttlSeconds: 0,
  source: { path: 'bench/driver_stats', timestampField: 'event_ts' },
  version: 1,
};
const refs = view.features.map((f) => `${view.name}:${f.name}` as FeatureRef);

interface Timing {
  p50: number;
  p99: number;
  rps: number;
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

/** `n` sequential calls for percentiles, then `n` calls with `concurrency` in flight for throughput. */
async function measure(
  n: number,
  concurrency: number,
  call: (i: number) => Promise<unknown>,
): Promise<Timing> {
  for (let i = 0; i < Math.min(200, n); i++) await call(i); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await call(i);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ms.sort((a, b) => a - b);
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await call(next++);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { p50: pct(ms, 0.5), p99: pct(ms, 0.99), rps: n / seconds };
}

/** Per-field medians over rounds. */
function median(timings: Timing[]): Timing {
  const mid = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return {
    p50: mid(timings.map((t) => t.p50)),
    p99: mid(timings.map((t) => t.p99)),
    rps: mid(timings.map((t) => t.rps)),
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const line = (name: string, t: Timing) =>
  `  ${name.padEnd(8)} p50 ${t.p50.toFixed(3)} ms  p99 ${t.p99.toFixed(3)} ms  ${t.rps.toFixed(0)} lookups/s`;

await requireRedis();
const project = uniqueProject('bench_online');
const dir = await mkdtemp(join(tmpdir(), 'vigil-online-bench-'));
const ctx = {
  runId: 'bench',
  workdir: dir,
  seed: 7,
  logger: createLogger({ level: 'silent' }),
  lineage: createLineageRecorder('bench'),
  signal: new AbortController().signal,
  port: () => {
    throw new Error('no ports');
  },
} as unknown as ComponentContext;
const store = (await redisFeatureStore.create(
  redisFeatureStore.config.parse({ url: REDIS_URL, project }),
  ctx,
)) as RedisFeatureStore;
let feast: ChildProcess | undefined;
try {
  await store.apply([view]);
  const rng = createRng(7);
  const rows = Array.from({ length: ENTITIES }, (_, e) => ({
    driver_id: 1000 + e,
    event_ts: new Date(Date.UTC(2024, 0, 1, 12)),
    ...Object.fromEntries(view.features.map((f) => [f.name, Math.round(rng.next() * 1e6) / 1e3])),
  }));
  await store.push(view.name, rows);
  const ids = Array.from({ length: REQUESTS }, () => 1000 + Math.floor(rng.next() * ENTITIES));

  const redis = store.redis;
  const fields = [...redis.fields(view), Buffer.from(`_ts:${view.name}`)];
  const keys = ids.map((id) => redis.key(view, [id]));
  const vigilCall = (i: number) =>
    store.getOnlineFeatures({ features: refs, entityRows: [{ driver_id: ids[i]! }] });
  const rawCall = (i: number) => redis.client.hmgetBuffer(keys[i]!, ...fields);
  // Alternate rounds so a burst of load on the shared machine hits both sides alike; report medians.
  const rounds: { vigil: Timing[]; raw: Timing[] } = { vigil: [], raw: [] };
  for (let r = 0; r < ROUNDS; r++) {
    rounds.vigil.push(await measure(REQUESTS, CONCURRENCY, vigilCall));
    rounds.raw.push(await measure(REQUESTS, CONCURRENCY, rawCall));
  }
  const vigil = median(rounds.vigil);
  const raw = median(rounds.raw);
  console.log(
    `online lookup, 1 entity × ${FEATURES} float64 features, ${ENTITIES} entities in Redis, ${REQUESTS} requests × ${ROUNDS} alternating rounds, medians (throughput: ${CONCURRENCY} in flight)`,
  );
  console.log(line('vigil', vigil));
  console.log(line('raw', raw));
  console.log(
    `  vigil/raw: throughput ${(vigil.rps / raw.rps).toFixed(2)} (target ≥ 0.8), p99 ${(raw.p99 / vigil.p99).toFixed(2)}`,
  );

  if (!existsSync(FEAST_BIN)) {
    console.log('  feast: skipped (no venv; run `bash scripts/services up feast`)');
  } else {
    const repo = join(dir, 'repo');
    await mkdir(repo);
    await writeFeastRepo(repo, project);
    const source = join(dir, 'driver_stats.parquet');
    await writeFile(source, await parquetFromRows(sourceColumns(view, rows.slice(0, 1)), rows.slice(0, 1)));
    await runFeast({ views: [view], sources: { [view.name]: source }, steps: [{ op: 'apply', repo }] });
    const port = await freePort();
    feast = spawn(FEAST_BIN, ['serve', '-h', '127.0.0.1', '-p', String(port), '--no-access-log', '-w', '1'], {
      cwd: repo,
      env: { ...process.env, FEAST_USAGE: 'False' },
      stdio: 'ignore',
    });
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (feast.exitCode !== null) throw new Error(`feast serve exited with ${feast.exitCode}`);
      if (Date.now() > deadline) throw new Error('feast serve did not answer /health within 120 s');
      const ok = await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const ask = async (i: number) => {
      const res = await fetch(`${url}/get-online-features`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ features: refs, entities: { driver_id: [ids[i]!] } }),
      });
      if (!res.ok) throw new Error(`feast serve answered ${res.status}: ${await res.text()}`);
      return res.json();
    };
    // The first answer may race the worker's start-up: retry it a few times.
    const askFirst = async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await ask(0);
        } catch (error) {
          if (attempt >= 5) throw error;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    };
    // Same values from both (a check that Feast reads what Vigil wrote).
    const theirs = (await askFirst()) as {
      metadata: { feature_names: string[] };
      results: { values: unknown[] }[];
    };
    const ours = await store.getOnlineFeatures({
      features: refs,
      entityRows: [{ driver_id: ids[0]! }],
      fullFeatureNames: false,
    });
    const names = theirs.metadata.feature_names;
    const mismatched = view.features.filter(
      (f) => theirs.results[names.indexOf(f.name)]?.values[0] !== ours.rows[0]![f.name],
    );
    if (mismatched.length > 0) {
      const f = mismatched[0]!.name;
      console.log(
        `  feast differs on ${mismatched.length} features, e.g. ${f}: feast ${JSON.stringify(theirs.results[names.indexOf(f)])} vigil ${ours.rows[0]![f]}`,
      );
    }
    const same = mismatched.length === 0;
    const peer = await measure(FEAST_REQUESTS, Math.min(CONCURRENCY, 8), ask);
    console.log(
      line('feast', peer) +
        `  (${FEAST_REQUESTS} requests, ${Math.min(CONCURRENCY, 8)} in flight; values equal: ${same})`,
    );
    console.log(
      `  vigil/feast: throughput ${(vigil.rps / peer.rps).toFixed(1)}× (target ≥ 10×), p99 ${(peer.p99 / vigil.p99).toFixed(1)}×`,
    );
  }
  console.log(`  (node ${process.version}; 2 shared cores: numbers move with the machine's load)`);
} finally {
  feast?.kill('SIGTERM');
  await store.redis.deleteProject();
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
