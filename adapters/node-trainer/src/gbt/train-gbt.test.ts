import { auroc } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { NodeTrainer } from '../node-trainer.js';
import { clinicalLikeSet } from '../testing/clinical-like-set.js';
import { syntheticSet } from '../testing/synthetic-set.js';

const trainer = new NodeTrainer();
const xor = (r: number[]) => r[0]! > 0 !== r[1]! > 0;

describe('gbt', () => {
  it('beats logistic regression on a non-linear (XOR) signal', async () => {
    const train = syntheticSet(21, 2000, 5, xor);
    const val = syntheticSet(22, 800, 5, xor);
    const gbt = await trainer.train(train, {
      algorithm: 'gbt',
      params: { nEstimators: 100, learningRate: 0.2 },
      seed: 1,
    });
    const lr = await trainer.train(train, { algorithm: 'logistic', params: {}, seed: 1 });
    const gbtAuroc = auroc(await trainer.predict(gbt.artifact, val.x, val.y.length), val.y)!;
    const lrAuroc = auroc(await trainer.predict(lr.artifact, val.x, val.y.length), val.y)!;
    expect(gbtAuroc).toBeGreaterThan(0.95);
    expect(lrAuroc).toBeLessThan(0.65);
  });

  it('stops early on validation logloss and keeps the best round', async () => {
    // Labels independent of the features: validation loss stops improving almost at once.
    const noise = (_: number[], rng: { normal(): number }) => rng.normal() > 0;
    const train = syntheticSet(31, 600, 4, noise);
    const val = syntheticSet(32, 300, 4, noise);
    const fractions: number[] = [];
    const result = await trainer.train(
      train,
      { algorithm: 'gbt', params: { nEstimators: 300, learningRate: 0.3, earlyStoppingRounds: 10 }, seed: 1 },
      { validation: val, onProgress: (p) => fractions.push(p.fraction) },
    );
    const best = result.metrics.best_iteration!;
    expect(best).toBeGreaterThanOrEqual(1);
    expect(best).toBeLessThan(100);
    expect(result.metrics.n_trees).toBe(best);
    // Trained best + 10 rounds, then stopped; progress still ends at 1.
    expect(fractions.length).toBe(best + 10 + 1);
    expect(fractions.at(-1)).toBe(1);
    expect(result.params.earlyStoppingRounds).toBe(10);
  });

  it('learns a default direction for missing values', async () => {
    // Missingness itself is the signal: rows with f0 missing are positive.
    const base = syntheticSet(41, 1000, 3, () => false);
    const d = 3;
    for (let r = 0; r < 1000; r++) {
      const missing = r % 3 === 0;
      if (missing) base.x[r * d] = Number.NaN;
      base.y[r] = missing ? 1 : 0;
    }
    const { artifact } = await trainer.train(base, {
      algorithm: 'gbt',
      params: { nEstimators: 30, learningRate: 0.3 },
      seed: 1,
    });
    const scores = await trainer.predict(artifact, new Float32Array([Number.NaN, 0, 0, 0.5, 0, 0]), 2);
    expect(scores[0]).toBeGreaterThan(0.9);
    expect(scores[1]).toBeLessThan(0.1);
  });

  it('uses the seed for row and column sampling, and only then', async () => {
    const train = syntheticSet(51, 500, 6, xor);
    const sampled = { nEstimators: 20, subsample: 0.7, colsample: 0.5 };
    const a = await trainer.train(train, { algorithm: 'gbt', params: sampled, seed: 1 });
    const b = await trainer.train(train, { algorithm: 'gbt', params: sampled, seed: 1 });
    const c = await trainer.train(train, { algorithm: 'gbt', params: sampled, seed: 2 });
    expect(a.artifact.sha256).toBe(b.artifact.sha256);
    expect(c.artifact.sha256).not.toBe(a.artifact.sha256);
    const full = { nEstimators: 20 };
    const d = await trainer.train(train, { algorithm: 'gbt', params: full, seed: 1 });
    const e = await trainer.train(train, { algorithm: 'gbt', params: full, seed: 2 });
    expect(d.artifact.sha256).toBe(e.artifact.sha256);
  });

  it('gives the same bytes on one thread and with histogram worker threads', async () => {
    // 30k rows × 36 features: large enough (≥ 2^20 values) for worker threads to start.
    const train = clinicalLikeSet(12, 30_000, { noiseFeatures: 24 });
    const spec = { algorithm: 'gbt', params: { nEstimators: 6, maxDepth: 5, minSamplesLeaf: 20 }, seed: 1 };
    const one = await new NodeTrainer({ threads: 1 }).train(train, spec);
    const three = await new NodeTrainer({ threads: 3 }).train(train, spec);
    expect(three.artifact.sha256).toBe(one.artifact.sha256);
  });

  it('fills in default parameters and reports training metrics', async () => {
    const train = syntheticSet(61, 300, 3, xor);
    const result = await trainer.train(train, { algorithm: 'gbt', params: { nEstimators: 5 }, seed: 1 });
    expect(result.params).toEqual({
      nEstimators: 5,
      learningRate: 0.05,
      maxDepth: 4,
      minChildWeight: 1,
      minSamplesLeaf: 1,
      lambda: 1,
      subsample: 1,
      colsample: 1,
      earlyStoppingRounds: 30,
      calibration: 'none',
    });
    expect(result.metrics.train_auroc).toBeGreaterThan(0.5);
    expect(result.metrics.n_trees).toBe(5);
    expect(result.metrics.best_iteration).toBeUndefined();
  });
});
