/**
 * One TCN training epoch at the size RECIPES.md measured PyTorch on: 50k sequences of 20 features ×
 * 14 steps, hidden 32, 3 blocks, kernel 3, batch 256 (PyTorch 1.13 CPU, 1 thread: about 3.2 s).
 *
 *   npx tsx --conditions=@vigil/source bench/tcn-epoch/tcn-epoch.ts [epochs]
 */

import { NodeTrainer } from '@vigil/adapter-node-trainer';
import { createRng } from '@vigil/core';

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
const epochs = Number(process.argv[2] ?? 2);
const trainer = new NodeTrainer({}, undefined);
const started = performance.now();
const result = await trainer.train(
  {
    featureNames: Array.from({ length: d }, (_, j) => `f${j}`),
    x,
    y,
    groups,
    lineage: { lakeCommit: 'bench', featureViews: [] },
  },
  {
    algorithm: 'tcn',
    params: { sequenceLength: L, hidden: 32, blocks: 3, kernelSize: 3, maxEpochs: epochs, batchSize: 256 },
    seed: 1,
  },
  {
    onProgress: (p) => {
      if (p.message?.startsWith('epoch'))
        console.log(p.message, ((performance.now() - started) / 1000).toFixed(1), 's');
    },
  },
);
const seconds = (performance.now() - started) / 1000;
console.log(
  JSON.stringify({
    rows,
    d,
    L,
    epochs,
    seconds,
    bytes: result.artifact.bytes.length,
    trainAuroc: result.metrics.train_auroc,
  }),
);
