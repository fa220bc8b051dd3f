import { describe, expect, it } from 'vitest';
import { linearQuantileSorted, nearestRankQuantileSorted } from './quantile.js';

describe('nearestRankQuantileSorted', () => {
  const seven = [10, 20, 30, 40, 50, 60, 70];
  it('is the ⌈q·n⌉-th smallest', () => {
    expect(nearestRankQuantileSorted(seven, 0.5)).toBe(40); // ⌈3.5⌉ = 4
    expect(nearestRankQuantileSorted(seven, 0.99)).toBe(70); // ⌈6.93⌉ = 7
    expect(nearestRankQuantileSorted(seven, 0.01)).toBe(10); // ⌈0.07⌉ = 1
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(nearestRankQuantileSorted(hundred, 0.5)).toBe(50);
    expect(nearestRankQuantileSorted(hundred, 0.99)).toBe(99);
    expect(
      nearestRankQuantileSorted(
        Float64Array.from({ length: 200 }, (_, i) => i + 1),
        0.99,
      ),
    ).toBe(198);
  });
  it('takes the smallest at q = 0 and the largest at q = 1 (rank clamped to [1, n])', () => {
    expect(nearestRankQuantileSorted(seven, 0)).toBe(10);
    expect(nearestRankQuantileSorted(seven, 1)).toBe(70);
    expect(nearestRankQuantileSorted(seven, 1.5)).toBe(70);
    expect(nearestRankQuantileSorted([5], 0.99)).toBe(5);
  });
  it('returns an observed value across ties', () => {
    const tied = [1, 2, 2, 2, 5];
    expect(nearestRankQuantileSorted(tied, 0.5)).toBe(2); // ⌈2.5⌉ = 3
    expect(nearestRankQuantileSorted(tied, 0.8)).toBe(2); // ⌈4⌉ = 4
    expect(nearestRankQuantileSorted(tied, 0.81)).toBe(5); // ⌈4.05⌉ = 5
  });
  it('throws on no values', () => {
    expect(() => nearestRankQuantileSorted([], 0.5)).toThrow(RangeError);
  });
});

describe('linearQuantileSorted', () => {
  const four = [1, 2, 3, 4];
  it("interpolates at (n − 1)·q as numpy's default does", () => {
    expect(linearQuantileSorted(four, 0.5)).toBe(2.5); // h = 1.5
    expect(linearQuantileSorted(four, 0.99)).toBeCloseTo(3.97, 12); // h = 2.97; np.quantile → 3.97
    expect(linearQuantileSorted(four, 0)).toBe(1);
    expect(linearQuantileSorted(four, 1)).toBe(4);
    expect(linearQuantileSorted([7], 0.3)).toBe(7);
  });
  it('interpolates across ties', () => {
    const tied = [1, 2, 2, 2, 5];
    expect(linearQuantileSorted(tied, 0.5)).toBe(2); // h = 2
    expect(linearQuantileSorted(tied, 0.9)).toBeCloseTo(3.8, 12); // h = 3.6: 2 + 0.6 · 3
  });
  it('throws on no values', () => {
    expect(() => linearQuantileSorted([], 0.5)).toThrow(RangeError);
  });
});
