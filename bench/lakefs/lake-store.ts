/**
 * Benchmark: the same lake workload through Vigil's lakeFS LakeStore, through lakeFS's REST
 * API called directly with fetch (the peer: what any lakeFS client pays), and through Vigil's
 * embedded local lake. Prints milliseconds per phase and the ratios.
 *
 *   bash scripts/services up lakefs
 *   node --conditions=@vigil/source --import tsx bench/lakefs/lake-store.ts [objects] [bytes] [rounds]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LakeFsClient, lakefsLake } from '@vigil/adapter-lakefs';
import { lakefsTestNamespace, requireLakeFs } from '@vigil/adapter-lakefs/testing';
import { localLake } from '@vigil/adapter-local-lake';
import {
  type ComponentContext,
  createLineageRecorder,
  createLogger,
  createRng,
  type LakeStore,
} from '@vigil/core';

const objects = Number(process.argv[2] ?? 200);
const size = Number(process.argv[3] ?? 4096);
const concurrency = 8;

const rng = createRng(7);
const payloads = Array.from({ length: objects }, () => {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = rng.int(256);
  return data;
});
const pathOf = (i: number) => `bench/part-${String(i).padStart(5, '0')}.bin`;

/** The operations of one workload, implemented by each contender. */
interface Contender {
  name: string;
  put(branch: string, path: string, data: Uint8Array): Promise<unknown>;
  get(ref: string, path: string): Promise<Uint8Array | null>;
  list(ref: string, prefix: string): Promise<unknown[]>;
  commit(branch: string, message: string): Promise<unknown>;
  createBranch(name: string, from: string): Promise<unknown>;
  merge(source: string, into: string): Promise<unknown>;
  close(): Promise<void>;
}

async function pool(n: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await work(next++);
    }),
  );
}

const fail = (what: string): never => {
  throw new Error(`output check failed: ${what}`);
};
const sameBytes = (a: Uint8Array | null | undefined, b: Uint8Array) =>
  a != null &&
  a.byteLength === b.byteLength &&
  Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b)) === 0;
const pathsOf = (listed: unknown[]) => listed.map((o) => String((o as { path: string }).path)).sort();
const expectedPaths = Array.from({ length: objects }, (_, i) => pathOf(i));

async function run(c: Contender): Promise<Record<string, number>> {
  const times: Record<string, number> = {};
  const time = async (phase: string, work: () => Promise<unknown>) => {
    const t0 = performance.now();
    await work();
    times[phase] = performance.now() - t0;
  };
  // Outputs are collected inside the timed phases and checked in full outside them.
  await time('put', () => pool(objects, (i) => c.put('main', pathOf(i), payloads[i]!)));
  await time('commit', () => c.commit('main', 'bench objects'));
  let listed: unknown[] = [];
  await time('list', async () => {
    listed = await c.list('main', 'bench/');
  });
  if (pathsOf(listed).join('\n') !== expectedPaths.join('\n')) {
    fail(`${c.name}: listed ${listed.length} paths, not exactly the ${objects} put`);
  }
  const read: (Uint8Array | null)[] = [];
  await time('get', () =>
    pool(objects, async (i) => {
      read[i] = await c.get('main', pathOf(i));
    }),
  );
  for (let i = 0; i < objects; i++) {
    if (!sameBytes(read[i], payloads[i]!))
      fail(`${c.name}: ${pathOf(i)} read back differs from what was put`);
  }
  const updates = Math.max(1, Math.floor(objects / 4));
  await time('branch+put+commit+merge', async () => {
    await c.createBranch('work', 'main');
    await pool(updates, (i) => c.put('work', pathOf(i), payloads[(i + 1) % objects]!));
    await c.commit('work', 'bench update');
    await c.merge('work', 'main');
  });
  // After the merge, main holds the updates and the untouched objects, and nothing else (untimed).
  if (pathsOf(await c.list('main', 'bench/')).join('\n') !== expectedPaths.join('\n')) {
    fail(`${c.name}: main after the merge does not list exactly the ${objects} objects`);
  }
  await pool(objects, async (i) => {
    const want = i < updates ? payloads[(i + 1) % objects]! : payloads[i]!;
    if (!sameBytes(await c.get('main', pathOf(i)), want))
      fail(`${c.name}: ${pathOf(i)} on main after the merge differs`);
  });
  times.total = Object.values(times).reduce((a, b) => a + b, 0);
  return times;
}

const ctxFor = (workdir: string): ComponentContext => ({
  runId: 'bench',
  workdir,
  seed: 7,
  logger: createLogger({ level: 'silent' }),
  lineage: createLineageRecorder('bench'),
  signal: new AbortController().signal,
  emit: async () => undefined,
  port: () => {
    throw new Error('no ports in the benchmark');
  },
});

const fromStore = (name: string, lake: LakeStore): Contender => ({
  name,
  put: (b, p, d) => lake.put(b, p, d),
  get: (r, p) => lake.get(r, p),
  list: (r, p) => lake.list(r, p),
  commit: (b, m) => lake.commit(b, m),
  createBranch: (n, f) => lake.createBranch(n, f),
  merge: (s, i) => lake.merge(s, i),
  close: () => lake.close(),
});

/** lakeFS's REST API called directly: the requests a hand-written client would send. */
function rawLakeFs(client: LakeFsClient, repository: string): Contender {
  const repo = `/repositories/${repository}`;
  return {
    name: 'lakeFS REST API (direct fetch)',
    put: (b, path, bytes) => client.send('POST', `${repo}/branches/${b}/objects`, { query: { path }, bytes }),
    get: async (r, path) =>
      new Uint8Array(
        await (await client.request('GET', `${repo}/refs/${r}/objects`, { query: { path } })).arrayBuffer(),
      ),
    list: (r, prefix) => client.all(`${repo}/refs/${r}/objects/ls`, { prefix, user_metadata: false }),
    commit: (b, message) => client.send('POST', `${repo}/branches/${b}/commits`, { json: { message } }),
    createBranch: (name, source) => client.send('POST', `${repo}/branches`, { json: { name, source } }),
    merge: (s, i) => client.send('POST', `${repo}/refs/${s}/merge/${i}`, { json: {} }),
    close: async () => undefined,
  };
}

const server = await requireLakeFs();
const admin = new LakeFsClient(server);
const workdir = await mkdtemp(join(tmpdir(), 'vigil-bench-lakefs-'));
const stamp = `${process.pid}-${Date.now().toString(36)}`;
const created: string[] = [];
async function lakefsRepo(tag: string): Promise<LakeStore> {
  const repository = `vigil-bench-${tag}-${stamp}`;
  created.push(repository);
  const config = lakefsLake.config.parse({
    ...server,
    repository,
    createRepository: true,
    storageNamespace: lakefsTestNamespace(`vigil-bench/${repository}`),
  });
  return lakefsLake.create(config, ctxFor(workdir));
}

const rounds = Number(process.argv[4] ?? 3);
const names = ['Vigil lakeFS LakeStore', 'lakeFS REST API (direct fetch)', 'Vigil local lake (embedded)'];
const samples = new Map<string, Record<string, number>[]>(names.map((n) => [n, []]));
async function once(name: string, round: number): Promise<Record<string, number>> {
  if (name === names[0]) {
    const vigil = await lakefsRepo(`v${round}`);
    try {
      return await run(fromStore(name, vigil));
    } finally {
      await vigil.close();
    }
  }
  if (name === names[1]) {
    const store = await lakefsRepo(`r${round}`); // creates the repository; the raw contender talks to it directly
    await store.close();
    return run(rawLakeFs(admin, created.at(-1)!));
  }
  const local = await localLake.create(
    localLake.config.parse({ dir: join(workdir, `lake-${round}`) }),
    ctxFor(workdir),
  );
  try {
    return await run(fromStore(name, local));
  } finally {
    await local.close();
  }
}
try {
  // Round 0 warms up connections and the JIT and is not counted; the order rotates each round.
  for (let round = 0; round <= rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + round) % names.length]!;
      const times = await once(name, round);
      if (round > 0) samples.get(name)!.push(times);
    }
  }
} finally {
  for (const repository of created)
    await admin
      .send('DELETE', `/repositories/${repository}`, { query: { force: true } })
      .catch(() => undefined);
  await rm(workdir, { recursive: true, force: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results: [string, Record<string, number>][] = names.map((name) => {
  const runs = samples.get(name)!;
  const phaseNames = Object.keys(runs[0]!);
  return [name, Object.fromEntries(phaseNames.map((p) => [p, median(runs.map((r) => r[p]!))]))];
});

const phases = Object.keys(results[0]![1]);
const raw = results[1]![1];
console.log(
  `lake workload: ${objects} objects x ${size} B, concurrency ${concurrency}; median of ${rounds} rounds after a warm-up (ms); outputs checked: yes (listings, every object read back byte for byte, main after the merge; every contender, every round)`,
);
console.log(['contender'.padEnd(32), ...phases.map((p) => p.padStart(24))].join(''));
for (const [name, times] of results)
  console.log([name.padEnd(32), ...phases.map((p) => times[p]!.toFixed(1).padStart(24))].join(''));
for (const [name, times] of results.filter((r) => r[1] !== raw)) {
  console.log(
    [
      `${name} / direct`.padEnd(32),
      ...phases.map((p) => `${(times[p]! / raw[p]!).toFixed(2)}x`.padStart(24)),
    ].join(''),
  );
}
