/**
 * TCN training epochs, side by side in one run: the TS TCN (node trainer, in-process) and its
 * PyTorch peer (the torch trainer's Python worker, adapters/torch-trainer/worker/tcn-worker.py, on
 * Debian's torch at 1 CPU thread by default) on identical data and shapes: 50k sequences of
 * 20 features × 14 steps, hidden 32, 3 blocks, kernel 3, dropout 0.1, batch 256, Adam, no
 * validation set. Both sides get the same TrainingSet and spec; both build the same sequences
 * (toSequences) and the same standardiser; each times its own epochs (shuffle, batch gather,
 * forward, backward, Adam over every batch) and reports the mean, which is what is compared.
 *
 *   npx tsx --conditions=@vigil/source bench/tcn-epoch/tcn-epoch.ts [epochs] [--device cpu|auto|cuda] [--threads N]
 *
 * Prints a progress line per epoch, one JSON line per trainer, then the epoch times and the ratio
 * (TS epoch throughput / PyTorch's: above 1, the TS TCN is faster). See README.md.
 */

import { NodeTrainer } from '@vigil/adapter-node-trainer';
import { TorchTrainer } from '@vigil/adapter-torch-trainer';
import { type ComponentContext, createRng, type Logger, type Trainer, type TrainingSet } from '@vigil/core';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const epochs = Number(args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')) ?? 1);
const device = option('device', 'cpu') as 'cpu' | 'auto' | 'cuda';
const threads = Number(option('threads', '1'));

const rows = 50_000;
const d = 20;
const L = 14;
const patients = rows / 50;
const rng = createRng(1);
const x = new Float32Array(rows * d);
const y = new Uint8Array(rows);
const groups: string[] = [];
for (let r = 0; r < rows; r++) {
  for (let j = 0; j < d; j++) x[r * d + j] = rng.normal();
  y[r] = x[r * d]! + 0.5 * rng.normal() > 1 ? 1 : 0;
  groups.push(`p${Math.floor(r / (rows / patients))}`);
}
const data: TrainingSet = {
  featureNames: Array.from({ length: d }, (_, j) => `f${j}`),
  x,
  y,
  groups,
  lineage: { lakeCommit: 'bench', featureViews: [] },
};
const spec = {
  algorithm: 'tcn',
  params: { sequenceLength: L, hidden: 32, blocks: 3, kernelSize: 3, maxEpochs: epochs, batchSize: 256 },
  seed: 1,
};

/** A context whose logger keeps what the trainers log (the TS TCN logs its mean epoch time there). */
function benchContext(logged: Record<string, unknown>[]): ComponentContext {
  const logger: Logger = {
    debug: () => {},
    info: (obj) => {
      if (typeof obj === 'object') logged.push(obj);
    },
    warn: () => {},
    error: () => {},
    child: () => logger,
  };
  return {
    runId: 'bench',
    workdir: process.cwd(),
    seed: 1,
    logger,
    lineage: { record: () => {}, snapshot: () => ({}) as never },
    signal: new AbortController().signal,
    emit: async () => undefined,
    port: () => {
      throw new Error('no ports in the bench');
    },
  } as ComponentContext;
}

async function run(name: string, make: (ctx: ComponentContext) => Trainer) {
  const logged: Record<string, unknown>[] = [];
  const trainer = make(benchContext(logged));
  const started = performance.now();
  const result = await trainer.train(data, spec, {
    onProgress: (p) => {
      if (p.message?.startsWith('epoch') || p.message?.startsWith('worker'))
        console.log(`${name}: ${p.message} at ${((performance.now() - started) / 1000).toFixed(1)} s`);
    },
  });
  const seconds = (performance.now() - started) / 1000;
  await trainer.close();
  const epochSeconds = logged.map((o) => o.epochSeconds).find((s): s is number => typeof s === 'number');
  if (epochSeconds === undefined) throw new Error(`${name}: no epochSeconds logged`);
  const summary = {
    trainer: name,
    rows,
    d,
    L,
    epochs,
    epochSeconds,
    sequencesPerSecond: rows / epochSeconds,
    trainCallSeconds: seconds,
    bytes: result.artifact.bytes.length,
    trainAuroc: result.metrics.train_auroc,
    ...(name === 'torch'
      ? { device: logged.find((o) => o.device)?.device, torch: logged.find((o) => o.torch)?.torch }
      : {}),
  };
  console.log(JSON.stringify(summary));
  return summary;
}

const ts = await run('ts', (ctx) => new NodeTrainer({}, ctx));
const torch = await run('torch', (ctx) => new TorchTrainer({ device, threads }, ctx));
console.log(
  `epoch (${rows} sequences × ${L} steps × ${d} features): TS ${ts.epochSeconds.toFixed(2)} s, PyTorch ${torch.epochSeconds.toFixed(2)} s (${torch.device}, ${threads} thread${threads === 1 ? '' : 's'}, torch ${torch.torch}); ratio TS/PyTorch throughput = ${(ts.sequencesPerSecond / torch.sequencesPerSecond).toFixed(3)}`,
);
