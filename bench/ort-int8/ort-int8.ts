/**
 * Float vs int8 in onnxruntime-node, in one run: the TCN and the stacked ensemble (TCN + GBT, the
 * job's default model), each quantised both ways `quantizeArtifact` offers (`qdq`: int8 weights
 * dequantised before float ops, the default; `integer`: quantize_dynamic's DynamicQuantizeLinear +
 * ConvInteger / MatMulInteger). For every pair: single-row p50/p99 latency and batch-256
 * throughput (float and int8 calls interleaved in the same process, `checkQuantized`), model size,
 * AUROC of both on the same held-out patients. Ratios are float / int8 time (above 1: int8 faster).
 *
 *   npx tsx --conditions=@vigil/source bench/ort-int8/ort-int8.ts [--runs N] [--threads N]
 *
 * See README.md.
 */
import {
  checkQuantized,
  NodeTrainer,
  type OrtLike,
  type QuantizationFormat,
  quantizeArtifact,
} from '@vigil/adapter-node-trainer';
import { createRng, type ModelArtifact, type TrainingSet, toSequences } from '@vigil/core';
import * as ort from 'onnxruntime-node';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const singleRowRuns = option('runs', 3000);
const threads = option('threads', 1);

const d = 20;
const L = 14;
const steps = 50;
/**
 * Patients of 50 daily rows, 20 features: f0 a random walk around a per-patient level, the rest
 * noise (10 % missing). The label is a rise of f0 over the last two days (a pattern across
 * steps, which the TCN sees and the current row alone barely shows) or a high f1 today (which
 * the trees see).
 */
function set(seed: number, patients: number): TrainingSet {
  const rng = createRng(seed);
  const rows = patients * steps;
  const x = new Float32Array(rows * d);
  const y = new Uint8Array(rows);
  const groups: string[] = [];
  for (let p = 0; p < patients; p++) {
    const level: number[] = [];
    for (let t = 0; t < steps; t++) {
      level.push((level.at(-1) ?? 5 * rng.normal()) + rng.normal());
      const r = p * steps + t;
      x[r * d] = level[t]!;
      for (let j = 1; j < d; j++) x[r * d + j] = rng.next() < 0.1 ? Number.NaN : rng.normal();
      const rise = level[t]! - (level[t - 2] ?? level[t]!);
      const f1 = Number.isNaN(x[r * d + 1]!) ? 0 : x[r * d + 1]!;
      y[r] = rise + 0.8 * f1 + 0.5 * rng.normal() > 1.6 ? 1 : 0;
      groups.push(`s${seed}p${p}`);
    }
  }
  return {
    featureNames: Array.from({ length: d }, (_, j) => `f${j}`),
    x,
    y,
    groups,
    lineage: { lakeCommit: 'bench', featureViews: [] },
  };
}

const train = set(1, 400);
const validation = set(2, 100);
const test = set(3, 200);
const testX = toSequences(test, L);
const tcnParams = { sequenceLength: L, hidden: 32, blocks: 3, kernelSize: 3, maxEpochs: 10, batchSize: 256 };
const trainer = new NodeTrainer();
const log = (line: string) => process.stderr.write(`${line}\n`);

log(`training the TCN (${train.y.length} rows) …`);
const tcn = (await trainer.train(train, { algorithm: 'tcn', params: tcnParams, seed: 1 }, { validation }))
  .artifact;
log('training the ensemble (TCN + GBT, 3 folds) …');
const ensembleParams: Record<string, number> = { folds: 3 };
for (const [k, v] of Object.entries(tcnParams)) ensembleParams[`tcn.${k}`] = v;
const ensemble = (
  await trainer.train(train, { algorithm: 'ensemble', params: ensembleParams, seed: 1 }, { validation })
).artifact;

const session = {
  graphOptimizationLevel: 'all' as const,
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: 'sequential' as const,
};
const rows: Record<string, unknown>[] = [];
for (const [model, float] of [
  ['tcn', tcn],
  ['ensemble', ensemble],
] as [string, ModelArtifact][]) {
  for (const format of ['qdq', 'integer'] as QuantizationFormat[]) {
    log(`${model} ${format} …`);
    const { artifact } = quantizeArtifact(float, { format });
    const c = await checkQuantized(ort as unknown as OrtLike, float, artifact, {
      x: testX,
      rows: test.y.length,
      labels: test.y,
      singleRowRuns,
      batchRuns: 100,
      session,
    });
    const row = {
      model,
      format,
      heldOutRows: c.rows,
      aurocFloat: c.auroc!.float,
      aurocInt8: c.auroc!.int8,
      aurocCost: c.auroc!.cost,
      maxAbsDiff: c.maxAbsDiff,
      p50FloatUs: c.singleRow.float.p50Ms * 1000,
      p50Int8Us: c.singleRow.int8.p50Ms * 1000,
      p50Ratio: c.singleRow.speedupP50,
      p99FloatUs: c.singleRow.float.p99Ms * 1000,
      p99Int8Us: c.singleRow.int8.p99Ms * 1000,
      p99Ratio: c.singleRow.speedupP99,
      batchFloatRowsPerSec: c.batch.floatRowsPerSec,
      batchInt8RowsPerSec: c.batch.int8RowsPerSec,
      batchRatio: c.batch.speedup,
      bytesFloat: c.bytes.float,
      bytesInt8: c.bytes.int8,
      sizeRatio: c.bytes.ratio,
    };
    rows.push(row);
    process.stdout.write(`${JSON.stringify(row)}\n`);
  }
}

const f = (v: unknown, digits: number) => (typeof v === 'number' ? v.toFixed(digits) : String(v));
process.stdout.write(
  `\n| model | int8 form | AUROC float → int8 (cost) | single-row p50 µs float → int8 (ratio) | p99 µs (ratio) | batch-256 rows/s float → int8 (ratio) | bytes float → int8 (ratio) |\n| --- | --- | --- | --- | --- | --- | --- |\n`,
);
for (const r of rows)
  process.stdout.write(
    `| ${r.model} | ${r.format} | ${f(r.aurocFloat, 4)} → ${f(r.aurocInt8, 4)} (${f(r.aurocCost, 4)}) | ${f(r.p50FloatUs, 1)} → ${f(r.p50Int8Us, 1)} (${f(r.p50Ratio, 2)}) | ${f(r.p99FloatUs, 1)} → ${f(r.p99Int8Us, 1)} (${f(r.p99Ratio, 2)}) | ${f(r.batchFloatRowsPerSec, 0)} → ${f(r.batchInt8RowsPerSec, 0)} (${f(r.batchRatio, 2)}) | ${r.bytesFloat} → ${r.bytesInt8} (${f(r.sizeRatio, 2)}) |\n`,
  );
process.stdout.write(
  `\nonnxruntime-node ${(ort as unknown as { env: { versions: { common: string } } }).env.versions.common}, level 'all', ${threads} intra-op thread(s), ${singleRowRuns} single-row calls and 100 batch calls per model, interleaved; ratios are float time / int8 time.\n`,
);
