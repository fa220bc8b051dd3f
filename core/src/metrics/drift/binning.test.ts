import { describe, expect, it } from 'vitest';
import { fillEmptyBins } from './binning.js';

describe('fillEmptyBins', () => {
  it('fills empty bins as Evidently does, in place: min(non-zero)/10⁶ when that is ≤ 10⁻⁴, else 10⁻⁴', () => {
    const small = Float64Array.from([0, 0.00005, 0.99995]);
    expect(fillEmptyBins(small)).toBe(small);
    expect(small[0]).toBeCloseTo(0.00005 / 10 ** 6, 20);
    expect(Array.from(fillEmptyBins(Float64Array.from([0, 0.5, 0.5])))).toEqual([0.0001, 0.5, 0.5]);
    expect(Array.from(fillEmptyBins(new Float64Array(2)))).toEqual([0.0001, 0.0001]);
  });
});
