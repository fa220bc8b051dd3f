import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { logisticRegressionOnnx } from '../logistic/logistic-regression-onnx.js';
import { NodeTrainer } from '../node-trainer.js';
import { syntheticSet } from '../testing/synthetic-set.js';

const trainSet = syntheticSet(11, 1500, 6, (r, rng) => r[0]! * r[1]! + 0.8 * r[2]! + 0.3 * rng.normal() > 0, {
  nanRate: 0.15,
});
const validationSet = syntheticSet(
  13,
  800,
  6,
  (r, rng) => r[0]! * r[1]! + 0.8 * r[2]! + 0.3 * rng.normal() > 0,
  { nanRate: 0.15 },
);
// Held-out rows (never trained or calibrated on), labelled by the same rule.
const scoreSet = syntheticSet(12, 700, 6, (r, rng) => r[0]! * r[1]! + 0.8 * r[2]! + 0.3 * rng.normal() > 0, {
  nanRate: 0.2,
});
// Values outside the training range and whole missing rows.
scoreSet.x.fill(Number.NaN, 0, 6);
scoreSet.x[6] = 1e6;
scoreSet.x[7] = -1e6;

async function runtimeScores(bytes: Uint8Array, x: Float32Array, rows: number, d: number) {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ input: new ort.Tensor('float32', x, [rows, d]) });
    return { probabilities: out.probabilities!, label: out.label! };
  } finally {
    await session.release();
  }
}

describe('predict matches onnxruntime-node to 1e-5', () => {
  const trainer = new NodeTrainer();
  const rows = scoreSet.y.length;

  const gbt = { nEstimators: 80, learningRate: 0.2, maxDepth: 4, subsample: 0.8, colsample: 0.7 };
  for (const [algorithm, params] of [
    ['gbt', gbt],
    ['logistic', { c: 0.5 }],
    ['cart', { minSamplesLeaf: 10 }],
    ['cart', { criterion: 'log_loss', maxDepth: 3 }],
    ['gbt', { ...gbt, calibration: 'platt' }],
    ['gbt', { ...gbt, calibration: 'isotonic' }],
    ['logistic', { c: 0.5, calibration: 'platt' }],
    ['logistic', { c: 0.5, calibration: 'isotonic' }],
    ['cart', { minSamplesLeaf: 10, calibration: 'platt' }],
    ['cart', { minSamplesLeaf: 10, calibration: 'isotonic' }],
  ] as const) {
    it(`${algorithm} ${JSON.stringify(params)}: probabilities, labels and shapes`, async () => {
      const calibrated = 'calibration' in params;
      const { artifact } = await trainer.train(
        trainSet,
        { algorithm, params, seed: 5 },
        calibrated ? { validation: validationSet } : {},
      );
      const ours = await trainer.predict(artifact, scoreSet.x, rows);
      const theirs = await runtimeScores(artifact.bytes, scoreSet.x, rows, 6);
      expect(theirs.probabilities.type).toBe('float32');
      expect(theirs.probabilities.dims).toEqual([rows, 2]);
      expect(theirs.label.type).toBe('int64');
      expect(theirs.label.dims).toEqual([rows]);
      const p = theirs.probabilities.data as Float32Array;
      const labels = theirs.label.data as BigInt64Array;
      let maxDiff = 0;
      for (let i = 0; i < rows; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(p[2 * i + 1]! - ours[i]!));
        expect(p[2 * i]! + p[2 * i + 1]!).toBeCloseTo(1, 6);
        expect(labels[i]).toBe(p[2 * i + 1]! > 0.5 ? 1n : 0n);
      }
      expect(maxDiff).toBeLessThanOrEqual(1e-5);
      // The scores are not trivially equal: the model separates rows (a tree has one per leaf).
      expect(new Set(ours).size).toBeGreaterThan(algorithm === 'cart' ? 5 : 20);
    });
  }

  it('scores a logisticRegressionOnnx artifact built by hand', async () => {
    const artifact = logisticRegressionOnnx({
      weights: [0.3, -1.2, 2, 0, 0.01, -0.5],
      bias: -0.25,
      featureNames: scoreSet.featureNames,
      imputeValues: [0.1, 0, -0.2, 5, 0, 1],
    });
    const ours = await trainer.predict(artifact, scoreSet.x, rows);
    const p = (await runtimeScores(artifact.bytes, scoreSet.x, rows, 6)).probabilities.data as Float32Array;
    for (let i = 0; i < rows; i++) expect(Math.abs(p[2 * i + 1]! - ours[i]!)).toBeLessThanOrEqual(1e-5);
  });
});
