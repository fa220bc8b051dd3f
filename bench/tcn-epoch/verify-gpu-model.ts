/**
 * Check a TCN the PyTorch worker trained on a GPU machine (bench/tcn-epoch/gpu-epoch.py writes
 * cuda-model.onnx): the adapter turns it into a Vigil artifact, onnxruntime-node and the node
 * trainer's own scorer agree on it, and it scores the bench task (AUROC on fresh rows).
 *
 *   npx tsx --conditions=@vigil/source bench/tcn-epoch/verify-gpu-model.ts cuda-model.onnx
 */
import { readFileSync } from 'node:fs';
import { compileArtifact } from '@vigil/adapter-node-trainer';
import { torchTcnArtifact } from '@vigil/adapter-torch-trainer';
import { auroc, createRng, toSequences } from '@vigil/core';
import * as ort from 'onnxruntime-node';

const d = 20;
const L = 14;
const rows = 20_000;
const rng = createRng(99);
const x = new Float32Array(rows * d);
const y = new Uint8Array(rows);
const groups: string[] = [];
for (let r = 0; r < rows; r++) {
  for (let j = 0; j < d; j++) x[r * d + j] = rng.normal();
  y[r] = x[r * d]! + 0.5 * rng.normal() > 1 ? 1 : 0;
  groups.push(`p${Math.floor(r / 50)}`);
}
const featureNames = Array.from({ length: d }, (_, j) => `f${j}`);
const artifact = torchTcnArtifact({
  torchOnnx: new Uint8Array(readFileSync(process.argv[2]!)),
  architecture: {
    sequenceLength: L,
    features: d,
    blocks: 3,
    kernelSize: 3,
    hidden: 32,
    dilations: [1, 2, 4],
  },
  featureNames,
  docString: 'trained on CUDA by bench/tcn-epoch/gpu-epoch.py',
});
const seq = toSequences({ featureNames, x, groups }, L);
const ours = compileArtifact(artifact).score(seq, rows);
const session = await ort.InferenceSession.create(artifact.bytes);
const out = await session.run({ input: new ort.Tensor('float32', seq, [rows, L * d]) });
const p = out.probabilities!.data as Float32Array;
let worst = 0;
for (let r = 0; r < rows; r++) worst = Math.max(worst, Math.abs(p[2 * r + 1]! - ours[r]!));
console.log(
  JSON.stringify({ rows, auroc: auroc(ours, y), maxAbsDiffOrtVsTs: worst, bytes: artifact.bytes.length }),
);
