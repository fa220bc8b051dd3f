import {
  createTestContext,
  describeContract,
  type TrainerFixture,
  trainerContract,
} from '@vigil/core/testing';
import { describe, it } from 'vitest';
import { torchUnavailable } from './testing/torch-available.js';
import { torchTrainer } from './torch-trainer.js';

const missing = torchUnavailable();

// The contract's rows carry no history and its input shape is [-1, d]: the TCN with L = 1, the
// same params as the node trainer's TCN contract run, trained by the real worker on the CPU.
if (missing) {
  describe('trainer contract: torch (tcn, sequenceLength 1)', () => {
    it.skip(`skipped: ${missing}`, () => {});
  });
} else {
  describeContract(trainerContract, 'torch (tcn, sequenceLength 1)', async (): Promise<TrainerFixture> => {
    const ctx = await createTestContext({ seed: 3 });
    const impl = await torchTrainer.create(torchTrainer.config.parse({ device: 'cpu' }), ctx);
    return {
      impl,
      algorithm: 'tcn',
      params: { sequenceLength: 1, blocks: 2, hidden: 8, maxEpochs: 30, batchSize: 32, learningRate: 0.01 },
      async cleanup() {
        await impl.close();
        await ctx.cleanup();
      },
    };
  });
}
