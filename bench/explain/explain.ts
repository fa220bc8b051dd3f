/**
 * Explanation time and exactness: our TreeSHAP (`explainArtifact`) on a 300-tree GBT against
 * shap's TreeExplainer (path-dependent, shap's C++) on the same trees and cover, plus the time of
 * the TCN and ensemble explanations (no peer: their method is ours). The GBT's trees are handed
 * to shap in its dict form straight from the ONNX artifact's attributes and its
 * `vigil.gbt.node_cover`; both sides explain the same float32 rows; the largest difference of
 * the SHAP values and of the base values is printed and must be ≤ 1e-9 (the benchmark exits
 * non-zero otherwise). The peer's venv (shap 0.51.0, the last release for Python 3.11) is made on
 * first use under ${VIGIL_CACHE:-~/.cache/vigil}/venvs/tree-shap-bench. Not part of the test suite.
 *
 *   npx tsx --conditions=@vigil/source bench/explain/explain.ts [trainRows=20000] [explainRows=2000] [rounds=3]
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type TrainingSet, toSequences } from '@vigil/core';
import { explainArtifact } from '../../adapters/node-trainer/src/explain/explain-artifact.js';
import { GBT_COVER_KEY } from '../../adapters/node-trainer/src/gbt/gbt-onnx.js';
import { NodeTrainer } from '../../adapters/node-trainer/src/node-trainer.js';
import { decodeOnnxModel } from '../../adapters/node-trainer/src/onnx/onnx-codec.js';
import { clinicalLikeSet } from '../../adapters/node-trainer/src/testing/clinical-like-set.js';
import { peerVenv } from '../../core/src/testing/pinned-venv.js';

const run = promisify(execFile);
const TRAIN_ROWS = Number(process.argv[2] ?? 20_000);
const EXPLAIN_ROWS = Number(process.argv[3] ?? 2000);
const ROUNDS = Number(process.argv[4] ?? 3);
const TOLERANCE = 1e-9;
const PINS = ['shap==0.51.0'];
const venv = peerVenv('tree-shap-bench', PINS);
const python = venv.python;
const here = dirname(fileURLToPath(import.meta.url));
const GBT = { nEstimators: 300, maxDepth: 4, learningRate: 0.05, minSamplesLeaf: 20 };

/** The peer's venv (made on first use; see core's pinnedVenv). */
async function ensureVenv(): Promise<void> {
  const why = await venv.ensure();
  if (why) throw new Error(why);
}

/** A C-order .npy file (format 1.0) of a float32 matrix. */
function npy(data: Float32Array, shape: number[]): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  header += `${' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64)}\n`;
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([
    head,
    Buffer.from(header, 'latin1'),
    Buffer.from(data.buffer, data.byteOffset, data.byteLength),
  ]);
}

/** A float64 .npy file's values. */
function readNpy64(path: string): Float64Array {
  const file = readFileSync(path);
  const length = file.readUInt16LE(8);
  if (!/'descr': '<f8'/.test(file.subarray(10, 10 + length).toString('latin1')))
    throw new Error(`${path}: not <f8`);
  const body = file.subarray(10 + length);
  return new Float64Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
}

/** shap's dict form of the artifact's trees, read from the ONNX attributes and the stored cover. */
function shapModel(bytes: Uint8Array): unknown {
  const model = decodeOnnxModel(bytes);
  const node = model.nodes.find((n) => n.opType === 'TreeEnsembleRegressor')!;
  const attr = (name: string) => node.attributes.get(name)!;
  const cover = JSON.parse(model.metadata.get(GBT_COVER_KEY)!) as number[][];
  const trees = cover.map((c) => ({
    children_left: new Array<number>(c.length).fill(-1),
    children_right: new Array<number>(c.length).fill(-1),
    children_default: new Array<number>(c.length).fill(-1),
    features: new Array<number>(c.length).fill(-2),
    thresholds: new Array<number>(c.length).fill(0),
    values: new Array<number>(c.length).fill(0),
    node_sample_weight: c,
  }));
  const treeIds = attr('nodes_treeids').ints!;
  treeIds.forEach((t, i) => {
    const id = attr('nodes_nodeids').ints![i]!;
    const tree = trees[t]!;
    if (attr('nodes_modes').strings![i] === 'LEAF') return;
    tree.children_left[id] = attr('nodes_truenodeids').ints![i]!;
    tree.children_right[id] = attr('nodes_falsenodeids').ints![i]!;
    tree.children_default[id] = attr('nodes_missing_value_tracks_true').ints![i]
      ? tree.children_left[id]!
      : tree.children_right[id]!;
    tree.features[id] = attr('nodes_featureids').ints![i]!;
    tree.thresholds[id] = attr('nodes_values').floats![i]!;
  });
  attr('target_nodeids').ints!.forEach((id, k) => {
    const tree = trees[attr('target_treeids').ints![k]!]!;
    tree.values[id] = Math.fround(tree.values[id]! + attr('target_weights').floats![k]!);
  });
  return { trees, base_offset: attr('base_values').floats![0]! };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median wall and CPU µs per row of `explain` over all rows, and per call of one row at a time. */
function time(
  explain: (x: Float32Array, rows: number) => unknown,
  x: Float32Array,
  rows: number,
  rounds: number,
) {
  const width = x.length / rows;
  explain(x.subarray(0, 10 * width), 10);
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let k = 0; k < rounds; k++) {
    const cpu = process.cpuUsage();
    const wall = performance.now();
    explain(x, rows);
    walls.push(((performance.now() - wall) * 1000) / rows);
    const used = process.cpuUsage(cpu);
    cpus.push((used.user + used.system) / rows);
  }
  const single: number[] = [];
  for (let r = 0; r < Math.min(200, rows); r++) {
    const wall = performance.now();
    explain(x.subarray(r * width, (r + 1) * width), 1);
    single.push((performance.now() - wall) * 1000);
  }
  return { wall: median(walls), cpu: median(cpus), single: median(single) };
}

/** Rows regrouped as patients of 20 consecutive days, so the sequences have real history. */
function asPatients(set: TrainingSet): TrainingSet {
  return { ...set, groups: set.groups.map((_, r) => `p${Math.floor(r / 20)}`) };
}

await ensureVenv();
const dir = await mkdtemp(join(tmpdir(), 'vigil-explain-'));
const trainer = new NodeTrainer({ threads: 1 });
try {
  const train = clinicalLikeSet(1, TRAIN_ROWS, { noiseFeatures: 8 });
  const test = clinicalLikeSet(2, EXPLAIN_ROWS, { noiseFeatures: 8 });
  const d = train.featureNames.length;
  let nan = 0;
  for (const v of test.x) if (Number.isNaN(v)) nan++;
  const { artifact } = await trainer.train(train, { algorithm: 'gbt', params: GBT, seed: 1 });
  await writeFile(join(dir, 'model.json'), JSON.stringify(shapModel(artifact.bytes)));
  await writeFile(join(dir, 'x.npy'), npy(test.x, [EXPLAIN_ROWS, d]));

  const explainer = explainArtifact(artifact);
  const ours = time((x, rows) => explainer.explain(x, rows), test.x, EXPLAIN_ROWS, ROUNDS);
  const { stdout } = await run(python, [join(here, 'peer.py'), dir, String(ROUNDS)], {
    env: { ...process.env, OMP_NUM_THREADS: '1' },
    maxBuffer: 1 << 20,
  });
  const peer = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    expected: number;
    wall: number;
    cpu: number;
    single: number;
    version: string;
  };
  const theirs = readNpy64(join(dir, 'shap.npy'));
  const e = explainer.explain(test.x, EXPLAIN_ROWS);
  let gap = 0;
  let largest = 0;
  for (let i = 0; i < e.values.length; i++) {
    gap = Math.max(gap, Math.abs(e.values[i]! - theirs[i]!));
    largest = Math.max(largest, Math.abs(e.values[i]!));
  }
  let sumGap = 0;
  for (let r = 0; r < EXPLAIN_ROWS; r++) {
    let sum = e.base;
    for (let j = 0; j < d; j++) sum += e.values[r * d + j]!;
    sumGap = Math.max(sumGap, Math.abs(sum - e.raw[r]!));
  }
  const baseGap = Math.abs(e.base - peer.expected);
  console.log(
    `TreeSHAP: gbt ${GBT.nEstimators} trees, depth ${GBT.maxDepth}, trained on ${TRAIN_ROWS} rows × ${d} features; ` +
      `explaining ${EXPLAIN_ROWS} rows (${nan} NaN values); ${ROUNDS} rounds, medians; 1 thread each`,
  );
  console.log(
    `  vigil   batch ${ours.wall.toFixed(0)} µs/row wall, ${ours.cpu.toFixed(0)} µs/row cpu; one row per call ${ours.single.toFixed(0)} µs`,
  );
  console.log(
    `  shap    batch ${((peer.wall * 1e6) / EXPLAIN_ROWS).toFixed(0)} µs/row wall, ${((peer.cpu * 1e6) / EXPLAIN_ROWS).toFixed(0)} µs/row cpu; one row per call ${(peer.single * 1e6).toFixed(0)} µs` +
      `  ours/peer batch wall ${((ours.wall * EXPLAIN_ROWS) / 1e6 / peer.wall).toFixed(2)}× cpu ${((ours.cpu * EXPLAIN_ROWS) / 1e6 / peer.cpu).toFixed(2)}×, one row ${(ours.single / 1e6 / peer.single).toFixed(2)}×`,
  );
  console.log(
    `  max |ours − shap| ${gap.toExponential(2)} (largest |SHAP| ${largest.toFixed(3)}), base ${baseGap.toExponential(2)}; ` +
      `max |base + Σ − logit| ${sumGap.toExponential(2)}; peer: ${peer.version}; node ${process.versions.node}`,
  );
  if (!(gap <= TOLERANCE && baseGap <= TOLERANCE)) process.exitCode = 1;

  // The sequence models: default TCN architecture (L 14, 3 blocks, kernel 3, hidden 32), one
  // epoch (the explanation's cost does not depend on how well it trained).
  const patients = asPatients(train);
  const tcnParams = { maxEpochs: 1 };
  const tcn = await trainer.train(patients, { algorithm: 'tcn', params: tcnParams, seed: 1 });
  const held = asPatients(test);
  const L = 14;
  const seq = toSequences(held, L);
  const tcnExplainer = explainArtifact(tcn.artifact);
  const t = time((x, rows) => tcnExplainer.explain(x, rows), seq, EXPLAIN_ROWS, ROUNDS);
  console.log(
    `sequence Shapley: tcn L ${L}, ${d} features (2d + 1 = ${2 * d + 1} forward passes per row): batch ${t.wall.toFixed(0)} µs/row wall, ${t.cpu.toFixed(0)} µs/row cpu; one row per call ${t.single.toFixed(0)} µs`,
  );
  const params: Record<string, number> = { folds: 2 };
  for (const [k, v] of Object.entries(GBT)) params[`gbt.${k}`] = v;
  for (const [k, v] of Object.entries(tcnParams)) params[`tcn.${k}`] = v;
  const ensemble = await trainer.train(patients, { algorithm: 'ensemble', params, seed: 1 });
  const ensembleExplainer = explainArtifact(ensemble.artifact);
  const s = time((x, rows) => ensembleExplainer.explain(x, rows), seq, EXPLAIN_ROWS, ROUNDS);
  console.log(
    `stacked: ensemble (the GBT above + that TCN): batch ${s.wall.toFixed(0)} µs/row wall, ${s.cpu.toFixed(0)} µs/row cpu; one row per call ${s.single.toFixed(0)} µs`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
