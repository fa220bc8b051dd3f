import {
  checkContract,
  createTestContext,
  describeContract,
  type TrainerFixture,
  trainerContract,
} from '@vigil/core/testing';
import { describe, expect, it } from 'vitest';
import { nodeTrainer } from './node-trainer.js';

function factory(algorithm: 'gbt' | 'logistic' | 'cart' | 'tcn', params: Record<string, number | string>) {
  return async (): Promise<TrainerFixture> => {
    const ctx = await createTestContext({ seed: 3 });
    const impl = await nodeTrainer.create(nodeTrainer.config.parse({}), ctx);
    return {
      impl,
      algorithm,
      params,
      async cleanup() {
        await impl.close();
        await ctx.cleanup();
      },
    };
  };
}

const gbt = factory('gbt', {
  nEstimators: 60,
  learningRate: 0.1,
  maxDepth: 3,
  subsample: 0.8,
  colsample: 0.75,
});
const logistic = factory('logistic', { c: 1 });
const cart = factory('cart', { maxDepth: 4, minSamplesLeaf: 5, criterion: 'gini' });

describeContract(trainerContract, 'node (gbt)', gbt);
describeContract(trainerContract, 'node (logistic)', logistic);
describeContract(trainerContract, 'node (cart)', cart);
// The contract's rows carry no history and its input shape is [-1, d]: the TCN with L = 1.
const tcn = factory('tcn', {
  sequenceLength: 1,
  blocks: 2,
  hidden: 8,
  maxEpochs: 30,
  batchSize: 32,
  learningRate: 0.01,
});
describeContract(trainerContract, 'node (tcn, sequenceLength 1)', tcn);

describe('trainer contract catches a bug injected into the node trainer', () => {
  it('fails the missing-values case when NaN rows score NaN', async () => {
    const report = await checkContract(trainerContract, async () => {
      const fixture = await gbt();
      const real = fixture.impl;
      fixture.impl = {
        capabilities: real.capabilities,
        train: (d, s, o) => real.train(d, s, o),
        close: () => real.close(),
        async predict(artifact, x, rows) {
          const scores = await real.predict(artifact, x, rows);
          const d = artifact.featureNames.length;
          for (let r = 0; r < rows; r++) if (Number.isNaN(x[r * d]!)) scores[r] = Number.NaN;
          return scores;
        },
      };
      return fixture;
    });
    expect(report.failed.map((f) => f.name)).toEqual([
      trainerContract.cases.find((c) => c.name.startsWith('handles missing'))!.name,
    ]);
    expect(report.passed.length).toBe(trainerContract.cases.length - 1);
  });
});
