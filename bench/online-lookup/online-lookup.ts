/**
 * Online lookup benchmark: 1 entity × 50 features from Redis (Feast's encoding), like with like:
 *   - in process: Vigil's `getOnlineFeatures` of the online-only Redis feature store
 *     (@vigil/adapter-redis) against raw ioredis `HMGETBUFFER` of the same key and 51 fields,
 *     undecoded (the floor);
 *   - over HTTP: Vigil's feature server (`POST /get-online-features`, one Node process, the
 *     server `vigil serve` runs) against `feast serve` with one worker, over the same Redis
 *     keys, the same requests and the same number in flight.
 * Sequential requests give latency percentiles; a fixed number of requests with a fixed
 * number in flight gives throughput. Each pair alternates which side goes first, round by
 * round. Every answer of every side is checked, after the timing, against the rows pushed
 * (every feature value; raw: the same bytes as a reference read); any difference exits
 * non-zero. Talks only to 127.0.0.1; bounded in count and time.
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
import { createFeatureServer } from '@vigil/job-adverse-events';
import { FEAST_BIN, runFeast, writeFeastRepo } from '../../adapters/redis/src/testing/feast-venv.js';
import { REDIS_URL, requireRedis, uniqueProject } from '../../adapters/redis/src/testing/redis-server.js';
import { sourceColumns } from '../../adapters/redis/src/testing/source-columns.js';

const REQUESTS = Number(process.argv[2] ?? 3000);
const CONCURRENCY = Number(process.argv[3] ?? 16);
const ENTITIES = 1000;
const FEATURES = 50;
// Over HTTP both sides get the same count (Feast answers a few hundred a second on 2 cores).
const HTTP_REQUESTS = Math.min(REQUESTS, 1000);
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

/**
 * `n` sequential calls for percentiles, then `n` calls with `concurrency` in flight for
 * throughput. Every answer is kept (not inspected while timing) and handed to `check` after.
 */
async function measure<T>(
  n: number,
  concurrency: number,
  call: (i: number) => Promise<T>,
  check: (i: number, answer: T) => void,
): Promise<Timing> {
  for (let i = 0; i < Math.min(200, n); i++) check(i, await call(i)); // warm-up
  const ms: number[] = [];
  const sequential: T[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    sequential[i] = await call(i);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ms.sort((a, b) => a - b);
  let next = 0;
  const concurrent: T[] = new Array(n);
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        concurrent[i] = await call(i);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  for (let i = 0; i < n; i++) {
    check(i, sequential[i]!);
    check(i, concurrent[i]!);
  }
  return { p50: pct(ms, 0.5), p99: pct(ms, 0.99), rps: n / seconds };
}

/** Run `a` and `b` for `rounds` rounds, `a` first in even rounds and `b` first in odd ones. */
async function alternate(
  rounds: number,
  a: () => Promise<Timing>,
  b: () => Promise<Timing>,
): Promise<{ a: Timing[]; b: Timing[] }> {
  const out = { a: [] as Timing[], b: [] as Timing[] };
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      out.a.push(await a());
      out.b.push(await b());
    } else {
      out.b.push(await b());
      out.a.push(await a());
    }
  }
  return out;
}

let checked = 0;
function expectEqual(what: string, got: unknown, want: unknown): void {
  checked++;
  if (got !== want) throw new Error(`${what}: got ${String(got)}, expected ${String(want)}`);
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
  const byId = new Map(rows.map((r) => [r.driver_id, r as Record<string, unknown>]));
  const vigilCall = (i: number) =>
    store.getOnlineFeatures({ features: refs, entityRows: [{ driver_id: ids[i]! }] });
  const vigilCheck = (i: number, answer: Awaited<ReturnType<typeof vigilCall>>) => {
    expectEqual(`vigil request ${i}: rows`, answer.rows.length, 1);
    const want = byId.get(ids[i]!)!;
    for (const f of view.features) {
      const got = answer.rows[0]![`${view.name}__${f.name}`] ?? answer.rows[0]![f.name];
      expectEqual(`vigil request ${i} ${f.name}`, got, want[f.name]);
    }
  };
  const rawCall = (i: number) => redis.client.hmgetBuffer(keys[i]!, ...fields);
  // Raw answers are compared byte for byte with one reference read per key, made before timing.
  const keyId = (key: unknown) => (Buffer.isBuffer(key) ? key.toString('hex') : String(key));
  const rawReference = new Map<string, (Buffer | null)[]>();
  for (const key of keys) {
    if (!rawReference.has(keyId(key)))
      rawReference.set(keyId(key), await redis.client.hmgetBuffer(key, ...fields));
  }
  const rawCheck = (i: number, answer: (Buffer | null)[]) => {
    const want = rawReference.get(keyId(keys[i]!))!;
    expectEqual(`raw request ${i}: fields`, answer.length, want.length);
    for (let f = 0; f < want.length; f++) {
      expectEqual(`raw request ${i} field ${f}`, answer[f] !== null && answer[f]!.equals(want[f]!), true);
    }
  };
  // Alternate rounds so a burst of load on the shared machine hits both sides alike; report medians.
  const inProcess = await alternate(
    ROUNDS,
    () => measure(REQUESTS, CONCURRENCY, vigilCall, vigilCheck),
    () => measure(REQUESTS, CONCURRENCY, rawCall, rawCheck),
  );
  const vigil = median(inProcess.a);
  const raw = median(inProcess.b);
  console.log(
    `online lookup, 1 entity × ${FEATURES} float64 features, ${ENTITIES} entities in Redis, ${REQUESTS} requests × ${ROUNDS} alternating rounds, medians (throughput: ${CONCURRENCY} in flight)`,
  );
  console.log('in process:');
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
    // One worker, like Vigil's one process; no worker recycling (Feast's default restarts the
    // worker every ~1000 requests, dropping its connections mid-run), as Vigil never restarts.
    const serveArgs = ['serve', '-h', '127.0.0.1', '-p', String(port), '--no-access-log', '-w', '1'];
    feast = spawn(FEAST_BIN, [...serveArgs, '--max-requests', '0', '--max-requests-jitter', '0'], {
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
    type Answer = { metadata: { feature_names: string[] }; results: { values: unknown[] }[] };
    const resent = new Map<string, number>();
    const post = (url: string) => async (i: number) => {
      const send = () =>
        fetch(`${url}/get-online-features`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ features: refs, entities: { driver_id: [ids[i]!] } }),
        });
      // A kept-alive connection the server closed while idle fails before any answer: resend
      // once — a lookup is idempotent — and count it, for both sides.
      const res = await send().catch((first: Error) => {
        resent.set(url, (resent.get(url) ?? 0) + 1);
        return send().catch((error: Error) => {
          throw new Error(
            `${url} request ${i}: ${error.message} (${String((error.cause as Error)?.message)}; first try: ${String((first.cause as Error)?.message)})`,
          );
        });
      });
      if (!res.ok) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as Answer;
    };
    const httpCheck = (side: string) => (i: number, answer: Answer) => {
      const want = byId.get(ids[i]!)!;
      const names = answer.metadata.feature_names;
      for (const f of view.features) {
        const c = names.indexOf(f.name);
        expectEqual(
          `${side} request ${i} ${f.name}`,
          c >= 0 ? answer.results[c]!.values[0] : undefined,
          want[f.name],
        );
      }
    };
    const askFeast = post(url);
    // The first answer may race the worker's start-up: retry it a few times.
    for (let attempt = 1; ; attempt++) {
      try {
        httpCheck('feast')(0, await askFeast(0));
        break;
      } catch (error) {
        if (attempt >= 5) throw error;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    // Vigil over HTTP: the feature server `vigil serve` runs, one Node process like Feast's one worker.
    const app = await createFeatureServer({ store });
    const vigilUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const askVigil = post(vigilUrl);
      const overHttp = await alternate(
        ROUNDS,
        () => measure(HTTP_REQUESTS, CONCURRENCY, askVigil, httpCheck('vigil http')),
        () => measure(HTTP_REQUESTS, CONCURRENCY, askFeast, httpCheck('feast')),
      );
      const vigilHttp = median(overHttp.a);
      const peer = median(overHttp.b);
      console.log(
        `over HTTP (${HTTP_REQUESTS} requests × ${ROUNDS} alternating rounds, ${CONCURRENCY} in flight for both; one Vigil process, feast serve -w 1):`,
      );
      console.log(line('vigil', vigilHttp));
      console.log(line('feast', peer));
      console.log(
        `  connection resets resent: vigil ${resent.get(vigilUrl) ?? 0}, feast ${resent.get(url) ?? 0}`,
      );
      console.log(
        `  vigil/feast over HTTP: throughput ${(vigilHttp.rps / peer.rps).toFixed(1)}× (target ≥ 10×), p99 ${(peer.p99 / vigilHttp.p99).toFixed(1)}×`,
      );
    } finally {
      await app.close();
    }
  }
  console.log(`outputs: ${checked} values checked, every answer of every side equal to the rows pushed`);
  console.log(`  (node ${process.version}; 2 shared cores: numbers move with the machine's load)`);
} finally {
  feast?.kill('SIGTERM');
  await store.redis.deleteProject();
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
