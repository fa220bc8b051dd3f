import { NodeTrainer, toSequences } from '@vigil/adapter-node-trainer';
import { auroc } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { temporalSet } from './testing/temporal-set.js';
import { torchUnavailable } from './testing/torch-available.js';
import { TorchTrainer } from './torch-trainer.js';

const missing = torchUnavailable();

// Per-patient sequences with a real temporal signal (a rise over the last 3 steps), split by
// patient: 600 patients × 20 days to train (12,000 rows), 150 to early-stop on, 300 held out.
const train = temporalSet(1, 600, 20);
const validation = temporalSet(2, 150, 20);
const test = temporalSet(3, 300, 20);
const params = {
  sequenceLength: 6,
  blocks: 2,
  hidden: 16,
  kernelSize: 3,
  dropout: 0.1,
  learningRate: 0.005,
  batchSize: 64,
  maxEpochs: 60,
  patience: 8,
};

describe.skipIf(missing !== undefined)(
  missing ? `torch TCN vs TS TCN (skipped: ${missing})` : 'torch TCN vs TS TCN',
  () => {
    it('same data, params and seed: held-out AUROC within 0.01 of the node trainer', async () => {
      const seq = toSequences(test, params.sequenceLength);
      const spec = { algorithm: 'tcn', params, seed: 7 };
      const results: Record<string, { auroc: number; seconds: number; epochs: number; bestEpoch: number }> =
        {};
      for (const [name, trainer] of [
        ['torch', new TorchTrainer({ device: 'cpu' })],
        ['node', new NodeTrainer()],
      ] as const) {
        const started = performance.now();
        const { artifact, metrics } = await trainer.train(train, spec, { validation });
        const seconds = (performance.now() - started) / 1000;
        const area = auroc(await trainer.predict(artifact, seq, test.y.length), test.y)!;
        results[name] = { auroc: area, seconds, epochs: metrics.epochs!, bestEpoch: metrics.best_epoch! };
        await trainer.close();
      }
      console.log(results);
      // The temporal signal is learnt (the current row alone gives far less).
      expect(results.node!.auroc).toBeGreaterThan(0.9);
      expect(Math.abs(results.torch!.auroc - results.node!.auroc)).toBeLessThanOrEqual(0.01);
    });
  },
);
