/**
 * Feature server benchmark: Vigil's `POST /get-online-features` (fastify over the DuckDB
 * store's embedded online side) against Feast's `feast serve` (sqlite online store), same
 * rows, same requests, sequential clients, in one run; the order alternates over rounds and
 * every answer of every round is checked equal (values per feature, by name) — the benchmark
 * fails otherwise. Needs the `feast` venv
 * (`bash scripts/services up feast`). Not part of the test suite.
 *
 *   node --conditions=@vigil/source --import tsx bench/feature-server/online-lookup.ts [requests] [entitiesPerRequest] [rounds=4]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createRng, Kernel } from '@vigil/core';
import {
  compileFeatureDefinitions,
  createFeatureServer,
  featuresConfigSchema,
} from '@vigil/job-adverse-events';
import { createDefaultRegistry } from '../../cli/src/default-registry.js';
import { resolveConfig } from '../../cli/src/load-config.js';

const REQUESTS = Number(process.argv[2] ?? 500);
const PER_REQUEST = Number(process.argv[3] ?? 10);
const ROUNDS = Number(process.argv[4] ?? 4);
const PATIENTS = 2000;
const FEAST_PORT = Number(process.env.VIGIL_FEAST_BENCH_PORT ?? 6567);
const venv = join(process.env.VIGIL_CACHE ?? join(homedir(), '.cache', 'vigil'), 'feast', 'venv');

if (!existsSync(join(venv, 'bin', 'feast'))) {
  console.error(`no Feast venv at ${venv}: run \`bash scripts/services up feast\` first`);
  process.exit(2);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

type Answer = { metadata: { feature_names: string[] }; results: { values: unknown[] }[] };
/** An answer as text: values per feature, by name, names sorted (Feast may reorder the columns). */
const canonical = (r: Answer) =>
  JSON.stringify(
    r.metadata.feature_names
      .map((n, c) => [n, r.results[c]!.values] as const)
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );

async function time(url: string, bodies: string[]) {
  const latencies: number[] = [];
  const answers: string[] = [];
  const began = performance.now();
  for (const body of bodies) {
    const t = performance.now();
    const res = await fetch(`${url}/get-online-features`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
    const answer = (await res.json()) as Answer;
    latencies.push(performance.now() - t);
    answers.push(canonical(answer));
  }
  const seconds = (performance.now() - began) / 1000;
  return {
    p50: quantile(latencies, 0.5),
    p90: quantile(latencies, 0.9),
    p99: quantile(latencies, 0.99),
    rps: bodies.length / seconds,
    answers,
  };
}

const rng = createRng(11);
const window = (name: string, of: string, fn: string, w: string) => ({
  name,
  transform: { kind: 'window', of, fn, window: w },
});
const definitions = compileFeatureDefinitions(
  featuresConfigSchema.parse({
    entities: [{ name: 'patient', joinKey: 'patient_id' }],
    views: [
      {
        name: 'vitals_window',
        entities: ['patient'],
        ttl: '7d',
        version: 1,
        input: {},
        features: [
          window('hr_mean_24h', 'heart_rate', 'mean', '24h'),
          window('hr_var_24h', 'heart_rate', 'variance', '24h'),
          window('hr_count_24h', 'heart_rate', 'count', '24h'),
          window('spo2_min_24h', 'spo2', 'min', '24h'),
          window('temp_max_48h', 'temperature', 'max', '48h'),
        ],
      },
    ],
  }),
);
const names = definitions.views[0]!.features.map((f) => f.name);
const rows = Array.from({ length: PATIENTS }, (_, i) => {
  const row: Record<string, string | number | Date> = {
    patient_id: `P-${String(i + 1).padStart(6, '0')}`,
    event_timestamp: new Date(Date.now() - rng.int(3_600_000)),
  };
  for (const n of names) row[n] = n.endsWith('count_24h') ? rng.int(20) : Math.round(rng.next() * 1e4) / 100;
  return row;
});
const bodies = Array.from({ length: REQUESTS }, () =>
  JSON.stringify({
    features: names.map((n) => `vitals_window:${n}`),
    entities: {
      patient_id: Array.from(
        { length: PER_REQUEST },
        () => `P-${String(1 + rng.int(PATIENTS)).padStart(6, '0')}`,
      ),
    },
  }),
);

const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-fs-'));
const registry = createDefaultRegistry();
const kernel = new Kernel({
  registry,
  config: await resolveConfig(registry, undefined, { workdir: join(dir, 'vigil') }),
  logger: createLogger({ level: 'silent' }),
});
await kernel.start();
const store = kernel.port('feature-store');
let feast: ChildProcess | undefined;
try {
  await store.apply(definitions.views);
  await store.push('vitals_window', rows);
  const app = await createFeatureServer({ store, services: definitions.services });
  const vigilUrl = await app.listen({ host: '127.0.0.1', port: 0 });

  await writeFile(join(dir, 'rows.json'), JSON.stringify(rows));
  execFileSync(
    join(venv, 'bin', 'python'),
    [join(import.meta.dirname, 'feast-repo.py'), join(dir, 'repo'), join(dir, 'rows.json')],
    { stdio: 'inherit' },
  );
  feast = spawn(
    join(venv, 'bin', 'feast'),
    ['serve', '-h', '127.0.0.1', '-p', String(FEAST_PORT), '--no-access-log', '-w', '1'],
    { cwd: join(dir, 'repo'), stdio: 'ignore' },
  );
  const feastUrl = `http://127.0.0.1:${FEAST_PORT}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${feastUrl}/health`)).ok) break;
    } catch {}
    if (i > 600) throw new Error('feast serve did not come up in 60 s');
    await sleep(100);
  }
  // Warm-up, then rounds with the order alternated; every answer of every round is checked.
  await time(vigilUrl, bodies.slice(0, 50));
  await time(feastUrl, bodies.slice(0, 50));
  type Timing = Awaited<ReturnType<typeof time>>;
  const vigilRounds: Timing[] = [];
  const feastRounds: Timing[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      vigilRounds.push(await time(vigilUrl, bodies));
      feastRounds.push(await time(feastUrl, bodies));
    } else {
      feastRounds.push(await time(feastUrl, bodies));
      vigilRounds.push(await time(vigilUrl, bodies));
    }
  }
  const reference = feastRounds[0]!.answers;
  for (const [who, rounds] of [
    ['vigil', vigilRounds],
    ['feast', feastRounds],
  ] as const) {
    rounds.forEach((r, round) => {
      if (r.answers.length !== bodies.length) {
        throw new Error(
          `output check failed: ${who} round ${round} answered ${r.answers.length} of ${bodies.length}`,
        );
      }
      r.answers.forEach((a, i) => {
        if (a !== reference[i]) {
          throw new Error(
            `output check failed: ${who} round ${round} request ${i} differs:\n${a}\n${reference[i]}`,
          );
        }
      });
    });
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const summary = (rounds: Timing[]) => ({
    p50: median(rounds.map((r) => r.p50)),
    p90: median(rounds.map((r) => r.p90)),
    p99: median(rounds.map((r) => r.p99)),
    rps: median(rounds.map((r) => r.rps)),
  });
  const vigil = summary(vigilRounds);
  const peer = summary(feastRounds);
  await app.close();
  console.log(
    `online lookup over HTTP: ${REQUESTS} sequential requests × ${PER_REQUEST} entities × ${names.length} features ; ${ROUNDS} rounds, order alternated, medians; outputs checked: yes (${ROUNDS * 2 * bodies.length} answers equal)`,
  );
  console.log(
    `  vigil  p50 ${vigil.p50.toFixed(2)} ms  p90 ${vigil.p90.toFixed(2)} ms  p99 ${vigil.p99.toFixed(2)} ms  ${vigil.rps.toFixed(0)} req/s`,
  );
  console.log(
    `  feast  p50 ${peer.p50.toFixed(2)} ms  p90 ${peer.p90.toFixed(2)} ms  p99 ${peer.p99.toFixed(2)} ms  ${peer.rps.toFixed(0)} req/s`,
  );
  console.log(
    `  ratio  p50 feast/vigil ${(peer.p50 / vigil.p50).toFixed(2)}×  throughput vigil/feast ${(vigil.rps / peer.rps).toFixed(2)}×`,
  );
} finally {
  feast?.kill('SIGTERM');
  await kernel.close();
  await rm(dir, { recursive: true, force: true });
}
