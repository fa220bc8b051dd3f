import { createTestContext } from '@vigil/core/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { nodeTrainer } from './node-trainer.js';
import { syntheticSet } from './testing/synthetic-set.js';

const set = syntheticSet(71, 300, 3, (r) => r[0]! > 0);

describe('nodeTrainer descriptor', () => {
  it('describes the adapter and every config field', () => {
    expect(nodeTrainer.port).toBe('trainer');
    expect(nodeTrainer.name).toBe('node');
    expect(nodeTrainer.capabilities).toEqual({
      gpu: false,
      algorithms: ['gbt', 'logistic', 'cart', 'tcn', 'ensemble'],
      cancellable: true,
      explain: true,
    });
    const schema = z.toJSONSchema(nodeTrainer.config) as {
      properties: Record<string, { description?: string }>;
    };
    for (const [key, field] of Object.entries(schema.properties)) {
      expect(field.description, key).toBeTruthy();
    }
    expect(nodeTrainer.config.parse({})).toEqual({ yieldIntervalMs: 25, scorerCacheSize: 16 });
    expect(() => nodeTrainer.config.parse({ workers: 4 })).toThrow();
    // threads: TCN training threads (bytes do not depend on it); default left to the trainer.
    expect(nodeTrainer.config.parse({ threads: 3 }).threads).toBe(3);
    expect(() => nodeTrainer.config.parse({ threads: 0 })).toThrow();
  });

  it('stops training when the kernel aborts the context signal, and refuses use after close', async () => {
    const ctx = await createTestContext();
    const trainer = await nodeTrainer.create(nodeTrainer.config.parse({ yieldIntervalMs: 0 }), ctx);
    const running = trainer.train(set, { algorithm: 'gbt', params: { nEstimators: 1000 }, seed: 1 });
    setTimeout(() => void ctx.cleanup(), 20);
    await expect(running).rejects.toMatchObject({ code: 'VIGIL_TRAINER_CANCELLED' });
    await trainer.close();
    await expect(trainer.train(set, { algorithm: 'gbt', params: {}, seed: 1 })).rejects.toMatchObject({
      code: 'VIGIL_KERNEL_CLOSED',
    });
  });

  it('rejects predict input that does not match the artifact', async () => {
    const ctx = await createTestContext();
    const trainer = await nodeTrainer.create(nodeTrainer.config.parse({}), ctx);
    const { artifact } = await trainer.train(set, { algorithm: 'logistic', params: {}, seed: 1 });
    await expect(trainer.predict(artifact, new Float32Array(5), 2)).rejects.toMatchObject({
      code: 'VIGIL_TRAINER_INVALID_DATASET',
      message: expect.stringMatching(/x has 5 values/),
    });
    const tampered = { ...artifact, bytes: new Uint8Array([1, 2, 3]), sha256: 'other' };
    await expect(trainer.predict(tampered, new Float32Array(3), 1)).rejects.toMatchObject({
      code: 'VIGIL_TRAINER_INVALID_DATASET',
    });
    await trainer.close();
    await ctx.cleanup();
  });
});
