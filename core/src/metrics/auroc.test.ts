import { describe, expect, it } from 'vitest';
import { auroc } from './auroc.js';

describe('auroc', () => {
  it('is 1 for a perfect ranking and 0 for a reversed one', () => {
    expect(auroc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(auroc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
  });
  it('gives ties half credit', () => {
    expect(auroc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
    // one positive tied with one negative, above another negative: (1 + 0.5) / 2
    expect(auroc([0.3, 0.7, 0.7], [0, 0, 1])).toBe(0.75);
  });
  it('matches the pairwise definition on random data', () => {
    const scores = Array.from({ length: 200 }, (_, i) => Math.round(Math.sin(i * 12.9898) * 20) / 20);
    const labels = scores.map((_, i) => (Math.cos(i * 78.233) > 0.2 ? 1 : 0));
    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < scores.length; i++)
      for (let j = 0; j < scores.length; j++)
        if (labels[i] === 1 && labels[j] === 0) {
          pairs++;
          wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
        }
    expect(auroc(scores, labels)).toBeCloseTo(wins / pairs, 12);
  });
  it('is null for a single class', () => {
    expect(auroc([0.1, 0.2], [1, 1])).toBeNull();
  });
});
