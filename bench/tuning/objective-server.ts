/**
 * Optuna's objective, served by Node: reads the benchmark's data folder, then answers one
 * JSON line per trial on stdin (`{"params": {...}}`) with `{"value": <mean AUROC>}` on stdout —
 * our GBT (in-process node trainer) scored on the same grouped folds by the same FoldScorer the
 * `tune` step uses. Prints `{"ready": true}` once the data is loaded.
 *
 *   node --conditions=@vigil/source --import tsx bench/tuning/objective-server.ts <data-dir> <seed>
 */
import { createInterface } from 'node:readline';
import { NodeTrainer } from '@vigil/adapter-node-trainer';
import { FoldScorer } from '../../jobs/adverse-events/src/tuning/fold-scorer.js';
import { readTuningData } from './tuning-data.js';

const [dir, seedArg] = process.argv.slice(2);
if (!dir || !seedArg) {
  console.error('usage: objective-server.ts <data-dir> <seed>');
  process.exit(2);
}
const data = await readTuningData(dir);
const scorer = new FoldScorer(new NodeTrainer(), data.set, data.folds, {
  algorithm: 'gbt',
  seed: Number(seedArg),
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const { params } = JSON.parse(line) as { params: Record<string, number> };
  const value = await scorer.score(params);
  process.stdout.write(`${JSON.stringify({ value })}\n`);
}
