import { describe, expect, it } from 'vitest';
import { evaluateScores } from './evaluation.js';

describe('evaluateScores', () => {
  it('is all nulls and zeros for nothing', () => {
    expect(evaluateScores([], 0.5)).toEqual({
      predictions: 0,
      labelled: 0,
      positives: 0,
      auroc: null,
      precision: null,
      recall: null,
      brier: null,
      meanScore: null,
    });
  });

  it('flags a score equal to the threshold and leaves AUROC null for one class', () => {
    const e = evaluateScores(
      [
        { score: 0.5, label: 1 },
        { score: 0.2, label: 1 },
        { score: 0.8, label: undefined },
      ],
      0.5,
    );
    expect(e).toMatchObject({
      predictions: 3,
      labelled: 2,
      positives: 2,
      auroc: null,
      precision: 1,
      recall: 0.5,
    });
    expect(e.brier).toBeCloseTo((0.25 + 0.64) / 2, 12);
    expect(e.meanScore).toBeCloseTo(0.5, 12);
  });
});
