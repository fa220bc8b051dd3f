import { createRng } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { clinicalLikeSet } from '../testing/clinical-like-set.js';
import { HistogramTreeGrower } from './histogram-tree-grower.js';
import { quantileBins } from './quantile-bins.js';
import type { RegressionTree } from './regression-tree.js';
import { WasmHistogram } from './wasm-histogram.js';

const params = { maxDepth: 5, minChildWeight: 1e-3, minSamplesLeaf: 5, lambda: 1, learningRate: 0.1 };

function treeArrays(tree: RegressionTree) {
  return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, Array.from(v as ArrayLike<number>)]));
}

describe('HistogramTreeGrower', () => {
  it('assembles and runs the WebAssembly SIMD histogram loop on this runtime', () => {
    const binned = new Uint8Array([0, 1, 1, 255, 2, 2]); // 2 features × 3 rows
    const wasm = WasmHistogram.create(binned, 3, 2);
    expect(wasm).not.toBeNull();
    wasm!.rows.set([0, 1, 2]);
    wasm!.gh.set([0.5, 0.25, -1, 0.5, 2, 0.125]);
    wasm!.useFeatures([0, 3], [0, 768], 2);
    wasm!.build(0, 3);
    const slot = (f: number, b: number) =>
      Array.from(wasm!.hist.subarray(f * 768 + b * 3, f * 768 + b * 3 + 3));
    expect(slot(0, 0)).toEqual([0.5, 0.25, 1]);
    expect(slot(0, 1)).toEqual([1, 0.625, 2]);
    expect(slot(1, 255)).toEqual([0.5, 0.25, 1]);
    expect(slot(1, 2)).toEqual([1, 0.625, 2]);
  });

  it('grows bit-identical trees with the WebAssembly and the TypeScript histogram loops', () => {
    // 13 features: the loops' groups (4 + 4 + 4 + 1 in WebAssembly, 8 + 4 + 1 in TypeScript) differ.
    const set = clinicalLikeSet(7, 3000, { noiseFeatures: 1 });
    const rows = set.y.length;
    const d = set.featureNames.length;
    expect(d).toBe(13);
    const bins = quantileBins(set.x, rows, d);
    const wasm = new HistogramTreeGrower(bins, params);
    const ts = new HistogramTreeGrower(bins, params, { kernel: 'typescript' });
    const rng = createRng(3);
    const g = Float64Array.from(
      { length: rows },
      (_, r) => (set.y[r] === 1 ? -0.93 : 0.07) + 0.01 * rng.normal(),
    );
    const h = Float64Array.from({ length: rows }, () => 0.05 + 0.1 * rng.next());
    for (const [fraction, features] of [
      [1, Int32Array.from({ length: d }, (_, j) => j)],
      [0.6, Int32Array.from([0, 2, 5, 6, 7, 9, 10, 12])],
    ] as const) {
      const sample = new Uint32Array(rows);
      let count = 0;
      for (let r = 0; r < rows; r++) if (fraction === 1 || rng.next() < fraction) sample[count++] = r;
      const a = sample.slice();
      const b = sample.slice();
      const treeA = wasm.grow(g, h, a, count, features);
      const treeB = ts.grow(g, h, b, count, features);
      expect(treeA.feature.length).toBeGreaterThan(15);
      expect(treeArrays(treeA)).toEqual(treeArrays(treeB));
      expect(Array.from(a.subarray(0, count))).toEqual(Array.from(b.subarray(0, count)));
      const marginA = new Float64Array(rows);
      const marginB = new Float64Array(rows);
      wasm.addToMargin(marginA, a);
      ts.addToMargin(marginB, b);
      expect(Array.from(marginA)).toEqual(Array.from(marginB));
    }
  });

  it('splits large histograms over worker threads and grows the same trees as one thread', () => {
    // 30k rows × 36 features: above the 2^20 cells that worker threads start for.
    const set = clinicalLikeSet(9, 30_000, { noiseFeatures: 24 });
    const rows = set.y.length;
    const d = set.featureNames.length;
    const bins = quantileBins(set.x, rows, d);
    const one = new HistogramTreeGrower(bins, params);
    const two = new HistogramTreeGrower(bins, params, { threads: 2 });
    const three = new HistogramTreeGrower(bins, params, { threads: 3 });
    try {
      expect(one.threads).toBe(1);
      expect(two.threads).toBe(2);
      expect(three.threads).toBe(3);
      const g = Float64Array.from(set.y, (y, r) => (y === 1 ? -0.93 : 0.07) + 1e-3 * Math.sin(r));
      const h = Float64Array.from({ length: rows }, (_, r) => 0.06 + 0.01 * Math.cos(r));
      const features = Int32Array.from({ length: d }, (_, j) => j);
      const trees = [one, two, three].map((grower) => {
        const sample = Uint32Array.from({ length: rows }, (_, r) => r);
        return treeArrays(grower.grow(g, h, sample, rows, features));
      });
      expect(trees[0]!.feature!.length).toBeGreaterThan(31);
      expect(trees[1]).toEqual(trees[0]);
      expect(trees[2]).toEqual(trees[0]);
      // After close() the same grower keeps working, on the calling thread.
      two.close();
      two.close();
      const sample = Uint32Array.from({ length: rows }, (_, r) => r);
      expect(treeArrays(two.grow(g, h, sample, rows, features))).toEqual(trees[0]);
    } finally {
      two.close();
      three.close();
    }
    // Small data never starts workers.
    const small = new HistogramTreeGrower(quantileBins(set.x, 1000, d), params, { threads: 2 });
    expect(small.threads).toBe(1);
  });

  it('keeps at least minSamplesLeaf training rows in every leaf', () => {
    const set = clinicalLikeSet(8, 2000, { noiseFeatures: 2 });
    const rows = set.y.length;
    const d = set.featureNames.length;
    const bins = quantileBins(set.x, rows, d);
    const rng = createRng(4);
    // Noisy gradients: distinct leaves get distinct values.
    const g = Float64Array.from(set.y, (y) => (y === 1 ? -0.9 : 0.1) + 0.01 * rng.normal());
    const h = new Float64Array(rows).fill(0.09);
    for (const minSamplesLeaf of [1, 40]) {
      const grower = new HistogramTreeGrower(bins, { ...params, maxDepth: 8, minSamplesLeaf });
      const sample = Uint32Array.from({ length: rows }, (_, r) => r);
      grower.grow(
        g,
        h,
        sample,
        rows,
        Int32Array.from({ length: d }, (_, j) => j),
      );
      // Count rows per leaf through the margin: each leaf adds a distinct value to its rows.
      const margin = new Float64Array(rows);
      grower.addToMargin(margin, sample);
      const sizes = new Map<number, number>();
      for (const v of margin) sizes.set(v, (sizes.get(v) ?? 0) + 1);
      expect(Math.min(...sizes.values())).toBeGreaterThanOrEqual(minSamplesLeaf);
      if (minSamplesLeaf === 1) expect(Math.min(...sizes.values())).toBeLessThan(40);
    }
  });
});
