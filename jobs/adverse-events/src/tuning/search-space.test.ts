import { createRng } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { paramRangeSchema, sampleConfigurations, sampleParams } from './search-space.js';

describe('search space', () => {
  const space = {
    learningRate: paramRangeSchema.parse({ low: 0.01, high: 0.3, log: true }),
    maxDepth: paramRangeSchema.parse({ low: 2, high: 6, integer: true }),
    colsample: paramRangeSchema.parse({ values: [0.6, 0.8, 1] }),
  };

  it('draws every value inside its range, integers as integers, choices from the list', () => {
    const rng = createRng(1);
    for (let i = 0; i < 500; i++) {
      const p = sampleParams(space, rng);
      expect(p.learningRate as number).toBeGreaterThanOrEqual(0.01);
      expect(p.learningRate as number).toBeLessThanOrEqual(0.3);
      expect(Number.isInteger(p.maxDepth)).toBe(true);
      expect([0.6, 0.8, 1]).toContain(p.colsample);
    }
  });

  it('samples a log range evenly in log space (median near the geometric mean)', () => {
    const xs = sampleConfigurations(space, 4001, 3)
      .map((p) => p.learningRate as number)
      .sort((a, b) => a - b);
    expect(xs[2000]!).toBeCloseTo(Math.sqrt(0.01 * 0.3), 2);
  });

  it('is seeded: same seed, same configurations; another seed, others', () => {
    expect(sampleConfigurations(space, 5, 7)).toEqual(sampleConfigurations(space, 5, 7));
    expect(sampleConfigurations(space, 5, 7)).not.toEqual(sampleConfigurations(space, 5, 8));
  });

  it('refuses an empty range and a log range reaching 0', () => {
    expect(paramRangeSchema.safeParse({ low: 1, high: 1 }).success).toBe(false);
    expect(paramRangeSchema.safeParse({ low: 0, high: 1, log: true }).success).toBe(false);
  });
});
