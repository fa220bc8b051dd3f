import { describe, expect, it } from 'vitest';
import { averagePrecision } from './average-precision.js';
import { brierScore } from './brier-score.js';
import { calibrationCurve, expectedCalibrationError } from './calibration.js';
import { precisionRecallAt, thresholdForRecall } from './operating-threshold.js';

// Hand-worked examples; the same functions are checked against scikit-learn in sklearn-parity.test.ts.
describe('averagePrecision', () => {
  it('matches the worked example of sklearn’s documentation', () => {
    // y = [0, 0, 1, 1], scores [0.1, 0.4, 0.35, 0.8]: 0.5·1 + 0.5·(2/3) = 0.8333…
    expect(averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(5 / 6, 15);
  });
  it('counts a tie as one step', () => {
    // all tied: one threshold, recall 1 at precision 1/2
    expect(averagePrecision([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
  });
  it('is null without a positive', () => {
    expect(averagePrecision([0.1, 0.2], [0, 0])).toBeNull();
  });
});

describe('operating threshold', () => {
  const scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05];
  const labels = [1, 1, 0, 1, 0, 1, 0, 1, 0, 0];

  it('counts score ≥ threshold as positive', () => {
    expect(precisionRecallAt(scores, labels, 0.6)).toEqual({
      threshold: 0.6,
      tp: 3,
      fp: 1,
      tn: 4,
      fn: 2,
      precision: 0.75,
      recall: 0.6,
      specificity: 0.8,
    });
    expect(precisionRecallAt(scores, labels, 0.95).precision).toBeNull();
  });

  it('chooses the highest threshold that reaches the target recall', () => {
    // 5 positives: recall 0.8 needs 4 of them, first reached at 0.4
    const chosen = thresholdForRecall(scores, labels, 0.8)!;
    expect(chosen.threshold).toBe(0.4);
    expect(chosen.recall).toBe(0.8);
    expect(chosen.precision).toBe(4 / 6);
    expect(thresholdForRecall(scores, labels, 1)!.threshold).toBe(0.2);
    expect(thresholdForRecall(scores, labels, 0.1)!.threshold).toBe(0.9);
    // applied to the same rows it gives the same counts
    expect(precisionRecallAt(scores, labels, chosen.threshold)).toEqual(chosen);
    expect(() => thresholdForRecall(scores, labels, 0)).toThrow(/targetRecall/);
    expect(thresholdForRecall([0.1], [0], 0.8)).toBeNull();
  });
});

describe('Brier, calibration curve and ECE', () => {
  it('Brier is the mean squared error of the probabilities', () => {
    expect(brierScore([0.1, 0.9, 0.8, 0.3], [0, 1, 1, 0])).toBeCloseTo((0.01 + 0.01 + 0.04 + 0.09) / 4, 15);
    expect(() => brierScore([1.2], [1])).toThrow(/scores\[0\] is 1.2; probabilities must lie in \[0, 1\]/);
  });

  it('bins like sklearn: a score on an inner edge goes to the lower bin; empty bins are left out', () => {
    const curve = calibrationCurve([0, 0.1, 0.15, 0.3, 1], [0, 0, 1, 1, 1], { bins: 10 });
    expect(curve.map((b) => [b.lower, b.count])).toEqual([
      [0, 2],
      [0.1, 1],
      [0.2, 1],
      [0.9, 1],
    ]);
    expect(curve[0]).toMatchObject({ meanPredicted: 0.05, observedRate: 0 });
  });

  it('ECE weighs each bin’s gap by its share of rows', () => {
    // bin [0, 0.5]: mean 0.2, rate 0.5 (2 rows); bin (0.5, 1]: mean 0.9, rate 1 (2 rows)
    const ece = expectedCalibrationError([0.1, 0.3, 0.8, 1], [0, 1, 1, 1], { bins: 2 });
    expect(ece).toBeCloseTo(0.5 * 0.3 + 0.5 * 0.1, 15);
    expect(expectedCalibrationError([0, 1], [0, 1])).toBe(0);
  });
});
