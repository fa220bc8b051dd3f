/**
 * Fit time of our histogram GBT (`trainGbt`) against scikit-learn's HistGradientBoostingClassifier
 * and LightGBM on the same rows with matching parameters and no early stopping: the clinical-like
 * set is written once as .npy files that both sides read; held-out AUROCs are printed and must
 * agree within 0.005 (the benchmark exits non-zero otherwise). Ours runs on one thread (the main
 * thread); each peer runs at 1 thread and at every core. Rounds alternate the order; medians.
 * The peers' venv (pinned scikit-learn, numpy, LightGBM) is made on first use under
 * ${VIGIL_CACHE:-~/.cache/vigil}/venvs/gbt-bench. Not part of the test suite.
 *
 *   npx tsx --conditions=@vigil/source bench/gbt-fit/gbt-fit.ts [rows=100000] [noiseFeatures=28] [rounds=3]
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { auroc, type TrainingSet } from '@vigil/core';
import { trainGbt } from '../../adapters/node-trainer/src/gbt/train-gbt.js';
import { compileArtifact } from '../../adapters/node-trainer/src/scoring/compile-artifact.js';
import { type GbtParams, resolveSpec } from '../../adapters/node-trainer/src/spec/train-params.js';
import { clinicalLikeSet } from '../../adapters/node-trainer/src/testing/clinical-like-set.js';
import { RunControl } from '../../adapters/node-trainer/src/training/run-control.js';
import { peerVenv } from '../../core/src/testing/pinned-venv.js';

const run = promisify(execFile);
const ROWS = Number(process.argv[2] ?? 100_000);
const NOISE = Number(process.argv[3] ?? 28);
const ROUNDS = Number(process.argv[4] ?? 3);
const TOLERANCE = 0.005;
const PINS = ['scikit-learn==1.9.1', 'numpy==2.4.6', 'lightgbm==4.7.0', 'threadpoolctl==3.8.0'];
const venv = peerVenv('gbt-bench', PINS);
const python = venv.python;
const here = dirname(fileURLToPath(import.meta.url));

/** Matching parameters; the peers map them in peers.py (README: "Parameters"). */
const { params } = resolveSpec({
  algorithm: 'gbt',
  params: {
    nEstimators: 200,
    learningRate: 0.1,
    maxDepth: 4,
    lambda: 1,
    minSamplesLeaf: 20,
    minChildWeight: 1e-3,
  },
  seed: 1,
}) as { params: GbtParams };

/** The peer's venv (made on first use; see core's pinnedVenv). */
async function ensureVenv(): Promise<void> {
  const why = await venv.ensure();
  if (why) throw new Error(why);
}

/** A C-order .npy file (format 1.0) of a float32 matrix or a uint8 vector. */
function npy(data: Float32Array | Uint8Array, shape: number[]): Buffer {
  const descr = data instanceof Float32Array ? '<f4' : '|u1';
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
  header += `${' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64)}\n`;
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([
    head,
    Buffer.from(header, 'latin1'),
    Buffer.from(data.buffer, data.byteOffset, data.byteLength),
  ]);
}

function readNpy(path: string): { data: Buffer; shape: number[] } {
  const file = readFileSync(path);
  const length = file.readUInt16LE(8);
  const header = file.subarray(10, 10 + length).toString('latin1');
  const shape = /'shape': \(([^)]*)\)/
    .exec(header)![1]!
    .split(',')
    .filter((s) => s.trim() !== '')
    .map(Number);
  return { data: Buffer.from(file.subarray(10 + length)), shape };
}

/** The training set ours fits on, read back from the files the peers read. */
function readSet(dir: string, prefix: string, featureNames: string[]): TrainingSet {
  const x = readNpy(join(dir, `${prefix}-x.npy`));
  const y = readNpy(join(dir, `${prefix}-y.npy`));
  const rows = x.shape[0]!;
  return {
    featureNames,
    x: new Float32Array(x.data.buffer, x.data.byteOffset, rows * x.shape[1]!),
    y: new Uint8Array(y.data.buffer, y.data.byteOffset, rows),
    groups: Array.from({ length: rows }, (_, r) => `p${r}`),
    lineage: { lakeCommit: 'bench', featureViews: [] },
  };
}

interface Timing {
  wall: number;
  cpu: number;
  auroc: number;
  version?: string;
}

async function fitOurs(train: TrainingSet, test: TrainingSet, threads: number): Promise<Timing> {
  const control = new RunControl({ signals: [], yieldIntervalMs: 25 });
  const cpu = process.cpuUsage();
  const wall = performance.now();
  const outcome = await trainGbt(train, params, 1, undefined, control, { threads });
  if (outcome.threads !== threads) throw new Error(`asked for ${threads} threads, got ${outcome.threads}`);
  const seconds = (performance.now() - wall) / 1000;
  const used = process.cpuUsage(cpu);
  const scores = compileArtifact(outcome.artifact).rawScore(test.x, test.y.length);
  return { wall: seconds, cpu: (used.user + used.system) / 1e6, auroc: auroc(scores, test.y)! };
}

async function fitPeer(dir: string, peer: string, threads: number): Promise<Timing> {
  const { stdout } = await run(
    python,
    [join(here, 'peers.py'), dir, peer, String(threads), JSON.stringify(params)],
    {
      // Passive OpenMP waiting: on a shared, oversubscribed machine spinning workers wait on
      // each other's preempted threads at every barrier (tens of seconds per fit here).
      env: { ...process.env, OMP_NUM_THREADS: String(threads), OMP_WAIT_POLICY: 'PASSIVE' },
      maxBuffer: 1 << 20,
    },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Timing;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

await ensureVenv();
const cores = availableParallelism();
const dir = await mkdtemp(join(tmpdir(), 'vigil-gbt-fit-'));
try {
  const train = clinicalLikeSet(1, ROWS, { noiseFeatures: NOISE });
  const test = clinicalLikeSet(2, Math.min(ROWS, 50_000), { noiseFeatures: NOISE });
  const d = train.featureNames.length;
  await writeFile(join(dir, 'train-x.npy'), npy(train.x, [ROWS, d]));
  await writeFile(join(dir, 'train-y.npy'), npy(train.y, [ROWS]));
  await writeFile(join(dir, 'test-x.npy'), npy(test.x, [test.y.length, d]));
  await writeFile(join(dir, 'test-y.npy'), npy(test.y, [test.y.length]));
  const ourTrain = readSet(dir, 'train', train.featureNames);
  const ourTest = readSet(dir, 'test', train.featureNames);
  let positives = 0;
  for (const v of ourTrain.y) positives += v;
  let nanColumns = 0;
  for (let j = 0; j < d; j++) {
    for (let r = 0; r < ROWS; r++) {
      if (Number.isNaN(ourTrain.x[r * d + j]!)) {
        nanColumns++;
        break;
      }
    }
  }

  const sides: { name: string; threads: number; fit: () => Promise<Timing> }[] = [
    { name: 'vigil gbt', threads: 1, fit: () => fitOurs(ourTrain, ourTest, 1) },
    { name: 'sklearn HGB', threads: 1, fit: () => fitPeer(dir, 'sklearn', 1) },
    { name: 'lightgbm', threads: 1, fit: () => fitPeer(dir, 'lightgbm', 1) },
  ];
  if (cores > 1) {
    sides.push(
      { name: 'vigil gbt', threads: cores, fit: () => fitOurs(ourTrain, ourTest, cores) },
      { name: 'sklearn HGB', threads: cores, fit: () => fitPeer(dir, 'sklearn', cores) },
      { name: 'lightgbm', threads: cores, fit: () => fitPeer(dir, 'lightgbm', cores) },
    );
  }
  // Warm-up: JIT for ours, imports and page cache for the peers; not timed.
  await fitOurs(ourTrain, ourTest, 1);
  const results = sides.map(() => [] as Timing[]);
  for (let round = 0; round < ROUNDS; round++) {
    const order = sides.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) results[i]!.push(await sides[i]!.fit());
  }

  console.log(
    `gbt fit: ${ROWS} rows × ${d} features (${((positives / ROWS) * 100).toFixed(1)} % positive, NaN in ${nanColumns} columns, ${NOISE} of them noise), ` +
      `${params.nEstimators} trees, depth ${params.maxDepth}, learning rate ${params.learningRate}, λ ${params.lambda}, ` +
      `min ${params.minSamplesLeaf} rows per leaf, 255 bins, no early stopping; held-out ${test.y.length} rows; ` +
      `${ROUNDS} rounds, order alternated, medians; ${cores} cores`,
  );
  const medians = sides.map((_, i) => ({
    wall: median(results[i]!.map((t) => t.wall)),
    cpu: median(results[i]!.map((t) => t.cpu)),
  }));
  const base = results[0]![0]!.auroc;
  let aurocOk = true;
  sides.forEach((side, i) => {
    const { wall, cpu } = medians[i]!;
    const a = results[i]![0]!.auroc;
    if (Math.abs(a - base) > TOLERANCE) aurocOk = false;
    // Ours at the same thread count against this peer.
    const oursAt = sides.findIndex((s) => s.name === 'vigil gbt' && s.threads === side.threads);
    const ours = medians[oursAt]!;
    const ratio =
      side.name === 'vigil gbt'
        ? ''
        : `  ours/peer wall ${(ours.wall / wall).toFixed(2)}× cpu ${(ours.cpu / cpu).toFixed(2)}×`;
    console.log(
      `  ${side.name.padEnd(12)} ${String(side.threads).padStart(2)} thread${side.threads > 1 ? 's' : ' '}  fit ${wall.toFixed(2)} s wall ${cpu.toFixed(2)} s cpu  AUROC ${a.toFixed(4)}${ratio}`,
    );
  });
  console.log(`  AUROCs within ${TOLERANCE} of ours: ${aurocOk ? 'yes' : 'NO'}`);
  const versions = new Set(results.flatMap((r) => r.map((t) => t.version ?? '')).filter(Boolean));
  console.log(`  peers: ${[...versions].join(', ')}; node ${process.versions.node}`);
  if (!aurocOk) process.exitCode = 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
