import { describe, expect, it } from 'vitest';
import { MISSING_BIN, quantileBins } from './quantile-bins.js';

describe('quantileBins', () => {
  it('caps a continuous feature at 255 bins whose edges reproduce x <= edge', () => {
    const rows = 5000;
    const x = new Float32Array(rows * 2);
    for (let r = 0; r < rows; r++) {
      x[r * 2] = Math.sin(r * 12.9898) * 1000;
      x[r * 2 + 1] = r % 7 === 0 ? Number.NaN : r % 4;
    }
    const bins = quantileBins(x, rows, 2);
    const edges = bins.edges[0]!;
    expect(edges.length).toBeLessThanOrEqual(255);
    expect(edges.length).toBeGreaterThan(200);
    for (let i = 1; i < edges.length; i++) expect(edges[i]!).toBeGreaterThan(edges[i - 1]!);
    for (let r = 0; r < rows; r++) {
      const b = bins.binned[r]!;
      const v = x[r * 2]!;
      expect(v <= edges[b]!).toBe(true);
      if (b > 0) expect(v > edges[b - 1]!).toBe(true);
    }
    // Few distinct values: one bin each; NaN in the missing bin.
    expect(Array.from(bins.edges[1]!)).toEqual([0, 1, 2, 3]);
    for (let r = 0; r < rows; r++) {
      expect(bins.binned[rows + r]).toBe(r % 7 === 0 ? MISSING_BIN : r % 4);
    }
  });

  it('handles a column with no values at all', () => {
    const bins = quantileBins(new Float32Array([Number.NaN, Number.NaN]), 2, 1);
    expect(bins.edges[0]!.length).toBe(0);
    expect(Array.from(bins.binned)).toEqual([MISSING_BIN, MISSING_BIN]);
  });
});
