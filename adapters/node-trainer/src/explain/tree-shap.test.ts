import { createRng, type Rng } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import type { RegressionTree } from '../gbt/regression-tree.js';
import { bruteForceShapley } from '../testing/brute-force-shapley.js';
import { type TreeEnsemble, treeEnsembleFromTrees, withCover } from './tree-ensemble.js';
import { TreeShap } from './tree-shap.js';

/** A random tree over `d` features (features repeat along paths), depth ≤ `maxDepth`, random cover. */
function randomTree(
  rng: Rng,
  d: number,
  maxDepth: number,
  zeroCover: boolean,
): { tree: RegressionTree; cover: number[] } {
  const feature: number[] = [];
  const threshold: number[] = [];
  const missingLeft: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const value: number[] = [];
  const cover: number[] = [];
  const grow = (depth: number): number => {
    const id = feature.length;
    feature.push(-1);
    threshold.push(0);
    missingLeft.push(0);
    left.push(-1);
    right.push(-1);
    value.push(0);
    cover.push(0);
    if (depth >= maxDepth || (depth > 0 && rng.next() < 0.25)) {
      value[id] = Math.fround(rng.normal());
      cover[id] = zeroCover && rng.next() < 0.15 ? 0 : 1 + rng.int(50);
      return id;
    }
    // Few features, so a path often splits on the same one twice.
    feature[id] = rng.int(d);
    threshold[id] = Math.fround(rng.normal() * 0.8);
    missingLeft[id] = rng.next() < 0.5 ? 1 : 0;
    const l = grow(depth + 1);
    const r = grow(depth + 1);
    left[id] = l;
    right[id] = r;
    cover[id] = cover[l]! + cover[r]!;
    return id;
  };
  grow(0);
  if (cover[0] === 0) cover[0] = 0; // checked by the caller
  return {
    tree: {
      feature: Int32Array.from(feature),
      threshold: Float32Array.from(threshold),
      binThreshold: new Uint8Array(feature.length),
      missingLeft: Uint8Array.from(missingLeft),
      left: Int32Array.from(left),
      right: Int32Array.from(right),
      value: Float32Array.from(value),
    },
    cover,
  };
}

function randomEnsemble(
  seed: number,
  d: number,
  count: number,
  maxDepth: number,
  zeroCover = false,
): TreeEnsemble {
  const rng = createRng(seed);
  const trees: RegressionTree[] = [];
  const covers: number[][] = [];
  while (trees.length < count) {
    const { tree, cover } = randomTree(rng, d, maxDepth, zeroCover);
    if (cover[0]! > 0) {
      trees.push(tree);
      covers.push(cover);
    }
  }
  return treeEnsembleFromTrees(trees, covers, rng.normal(), d);
}

function randomRows(seed: number, rows: number, d: number, nanRate: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: rows * d }, () => (rng.next() < nanRate ? Number.NaN : rng.normal()));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('TreeShap (Algorithm 2) against brute-force Shapley values', () => {
  const cases = [
    { name: 'stumps and shallow trees, 3 features', seed: 1, d: 3, count: 5, depth: 2 },
    { name: 'depth 6 over 4 features (features repeat along paths)', seed: 2, d: 4, count: 6, depth: 6 },
    { name: 'depth 5 over 8 features', seed: 3, d: 8, count: 8, depth: 5 },
    { name: 'depth 8 over 2 features (every path repeats)', seed: 4, d: 2, count: 3, depth: 8 },
  ];
  for (const c of cases) {
    it(`agrees within 1e-9: ${c.name}`, () => {
      const trees = randomEnsemble(c.seed, c.d, c.count, c.depth);
      const shap = new TreeShap(trees);
      const rows = 40;
      const x = randomRows(c.seed + 100, rows, c.d, 0.2);
      let worst = 0;
      let worstSum = 0;
      for (let r = 0; r < rows; r++) {
        const phi = new Float64Array(c.d);
        shap.explainRow(x, r * c.d, phi, 0);
        const truth = bruteForceShapley(trees, x, r * c.d);
        worst = Math.max(worst, maxAbsDiff(phi, truth));
        const sum = phi.reduce((a, b) => a + b, 0);
        worstSum = Math.max(worstSum, Math.abs(shap.expected + sum - shap.raw(x, r * c.d)));
      }
      console.log(
        `${c.name}: max |TreeSHAP − brute force| ${worst.toExponential(2)}, |base + Σ − f(x)| ${worstSum.toExponential(2)}`,
      );
      expect(worst).toBeLessThan(1e-9);
      expect(worstSum).toBeLessThan(1e-9);
    });
  }

  it('agrees within 1e-9 where some leaves have zero cover', () => {
    const d = 5;
    const trees = randomEnsemble(9, d, 10, 5, true);
    expect(trees.cover.some((c) => c === 0)).toBe(true);
    const shap = new TreeShap(trees);
    const x = randomRows(109, 30, d, 0.3);
    let worst = 0;
    for (let r = 0; r < 30; r++) {
      const phi = new Float64Array(d);
      shap.explainRow(x, r * d, phi, 0);
      worst = Math.max(worst, maxAbsDiff(phi, bruteForceShapley(trees, x, r * d)));
    }
    console.log(`zero-cover leaves: max |TreeSHAP − brute force| ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-9);
  });

  it('uses the cover: the same trees with uniform cover give different values (and match their own truth)', () => {
    const d = 4;
    const trees = randomEnsemble(11, d, 6, 4);
    // Uniform: every leaf weighs the same (a node's cover = its leaf count).
    const uniform = new Float64Array(trees.cover.length);
    const leaves = (i: number): number =>
      trees.feature[i]! < 0 ? 1 : leaves(trees.left[i]!) + leaves(trees.right[i]!);
    for (let i = 0; i < uniform.length; i++) uniform[i] = leaves(i);
    const flat = withCover(trees, uniform);
    const x = randomRows(111, 20, d, 0.1);
    let gap = 0;
    for (let r = 0; r < 20; r++) {
      const a = new Float64Array(d);
      const b = new Float64Array(d);
      new TreeShap(trees).explainRow(x, r * d, a, 0);
      new TreeShap(flat).explainRow(x, r * d, b, 0);
      expect(maxAbsDiff(b, bruteForceShapley(flat, x, r * d))).toBeLessThan(1e-9);
      gap = Math.max(gap, maxAbsDiff(a, b));
    }
    expect(gap).toBeGreaterThan(0.05);
  });
});
