import { createRng, isVigilError } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { nearestRankQuantile } from './latency-quantile.js';
import { emptyReservoir, offer } from './reservoir.js';
import { binShares, fillEmptyBins, quantileEdges, scorePsi } from './score-psi.js';

describe('scorePsi', () => {
  const reference = Array.from({ length: 100 }, (_, i) => i / 100);

  it('bins the reference into 10 quantile bins of equal share', () => {
    const edges = quantileEdges(reference);
    expect(edges.length).toBe(9);
    // numpy.quantile(np.arange(100)/100, 0.1) = 0.099
    expect(edges[0]).toBeCloseTo(0.099, 12);
    expect(Array.from(binShares(reference, edges))).toEqual(Array(10).fill(0.1));
  });

  it('closes bins on the right: a value on an edge falls in the lower bin', () => {
    expect(Array.from(binShares([0.5, 0.25, 0.75], Float64Array.from([0.5])))).toEqual([2 / 3, 1 / 3]);
  });

  it('fills empty bins as Evidently does and sums (r − c)·ln(r / c)', () => {
    // every current score in the top bin: 9 empty bins get 1e-4
    const { psi, bins } = scorePsi(reference, Array(50).fill(0.995));
    const expected = 9 * (0.1 - 1e-4) * Math.log(0.1 / 1e-4) + (0.1 - 1) * Math.log(0.1 / 1);
    expect(bins).toBe(10);
    expect(psi).toBeCloseTo(expected, 10);
    // the fill is min share / 1e6 when the smallest non-zero share is <= 1e-4
    const shares = fillEmptyBins(Float64Array.from([0, 0.00005, 0.99995]));
    expect(shares[0]).toBeCloseTo(0.00005 / 1e6, 18);
  });

  it('is near 0 for two samples of one distribution and large for a shifted one', () => {
    const rng = createRng(3);
    const a = Array.from({ length: 4000 }, () => rng.next());
    const b = Array.from({ length: 4000 }, () => rng.next());
    const shifted = b.map((u) => 0.5 + u / 2);
    expect(scorePsi(a, b).psi).toBeLessThan(0.01);
    expect(scorePsi(a, shifted).psi).toBeGreaterThan(1);
  });

  it('merges tied edges (a constant reference has 2 bins)', () => {
    const { psi, bins } = scorePsi(Array(20).fill(0.3), Array(20).fill(0.3));
    expect(bins).toBe(2);
    expect(psi).toBe(0);
  });

  it('rejects empty and non-finite samples, naming the argument', () => {
    const message = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return isVigilError(error, 'VIGIL_DRIFT_INVALID_INPUT') ? error.message : String(error);
      }
      return 'no error';
    };
    expect(message(() => scorePsi([], [1]))).toBe('scorePsi: reference is empty');
    expect(message(() => scorePsi([1], [0.2, Number.NaN]))).toBe(
      'scorePsi: current[1] is not a finite number',
    );
  });
});

describe('nearestRankQuantile', () => {
  it('takes the smallest value with at least q of the sample at or below it', () => {
    const values = Array.from({ length: 200 }, (_, i) => i + 1);
    expect(nearestRankQuantile(values, 0.99)).toBe(198);
    expect(nearestRankQuantile([5], 0.99)).toBe(5);
    expect(nearestRankQuantile([], 0.99)).toBeNull();
  });
});

describe('reservoir', () => {
  it('keeps every value up to the cap, then a uniform sample of the same size, reproducibly', () => {
    const fill = () => {
      const r = emptyReservoir();
      for (let i = 0; i < 10_000; i++) offer(r, i, 500, 'salt');
      return r;
    };
    const r = fill();
    expect(r.seen).toBe(10_000);
    expect(r.values.length).toBe(500);
    expect(fill().values).toEqual(r.values);
    // uniform: about half the kept values come from the second half of the stream
    const late = r.values.filter((v) => v >= 5000).length;
    expect(late).toBeGreaterThan(200);
    expect(late).toBeLessThan(300);
  });
});
