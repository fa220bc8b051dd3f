/**
 * A worker thread of the benchmark's threaded variant: its own in-process node trainer over
 * the benchmark's data folder, scoring `{ id, params }` messages with the FoldScorer the
 * `tune` step uses and answering `{ id, value }` (or `{ id, error }`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { NodeTrainer } from '@vigil/adapter-node-trainer';
import { FoldScorer } from '../../jobs/adverse-events/src/tuning/fold-scorer.js';
import { readTuningData } from './tuning-data.js';

const { dir, seed } = workerData as { dir: string; seed: number };
const data = await readTuningData(dir);
const scorer = new FoldScorer(new NodeTrainer(), data.set, data.folds, { algorithm: 'gbt', seed });
parentPort!.on('message', async (m: { id: number; params: Record<string, number> }) => {
  try {
    parentPort!.postMessage({ id: m.id, value: await scorer.score(m.params) });
  } catch (error) {
    parentPort!.postMessage({ id: m.id, error: String((error as Error).stack ?? error) });
  }
});
parentPort!.postMessage({ ready: true });
