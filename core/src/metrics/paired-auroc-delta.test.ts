import { describe, expect, it } from 'vitest';
import { createRng } from '../random.js';
import { auroc } from './auroc.js';
import { pairedAurocDelta } from './paired-auroc-delta.js';

/** Two correlated models on the same rows: B = A's latent signal plus extra noise (weaker). */
function twoModels(n: number, seed: number, extraNoise: number) {
  const rng = createRng(seed);
  const labels: number[] = [];
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = rng.next() < 0.3 ? 1 : 0;
    const z = rng.normal() + (y === 1 ? 1.2 : 0);
    labels.push(y);
    a.push(z);
    b.push(z + extraNoise * rng.normal());
  }
  return { labels, a, b };
}

/** DeLong's standard error of AUROC(A) − AUROC(B) on the same rows. */
function delongDeltaSe(a: number[], b: number[], labels: number[]): number {
  const psi = (x: number, y: number) => (x > y ? 1 : x === y ? 0.5 : 0);
  const comps = (s: number[]) => {
    const pos = s.filter((_, i) => labels[i] === 1);
    const neg = s.filter((_, i) => labels[i] === 0);
    return {
      v10: pos.map((x) => neg.reduce((t, y) => t + psi(x, y), 0) / neg.length),
      v01: neg.map((y) => pos.reduce((t, x) => t + psi(x, y), 0) / pos.length),
    };
  };
  const A = comps(a);
  const B = comps(b);
  const diffVar = (u: number[], v: number[]) => {
    const d = u.map((x, i) => x - v[i]!);
    const m = d.reduce((s, x) => s + x, 0) / d.length;
    return d.reduce((s, x) => s + (x - m) ** 2, 0) / (d.length - 1);
  };
  return Math.sqrt(diffVar(A.v10, B.v10) / A.v10.length + diffVar(A.v01, B.v01) / A.v01.length);
}

describe('pairedAurocDelta', () => {
  it('gives delta 0, a zero-width interval and p = 1 for the same model', () => {
    const { labels, a } = twoModels(300, 1, 0);
    const r = pairedAurocDelta(a, a, labels, { samples: 200, seed: 1 })!;
    expect(r.delta).toBe(0);
    expect(r.ci).toEqual([0, 0]);
    expect(r.p).toBe(1);
    expect(r.pAboveMargin).toBe(1);
  });

  it('finds a clearly better model better, and its interval matches DeLong’s paired SE to within 15 %', () => {
    const { labels, a, b } = twoModels(800, 2, 1.5);
    const r = pairedAurocDelta(a, b, labels, { samples: 2000, seed: 4 })!;
    expect(r.delta).toBeCloseTo(auroc(a, labels)! - auroc(b, labels)!, 15);
    expect(r.aurocA).toBe(auroc(a, labels));
    expect(r.ci[0]).toBeGreaterThan(0);
    expect(r.p).toBeLessThan(0.01);
    const width = (r.ci[1] - r.ci[0]) / (2 * 1.959964 * delongDeltaSe(a, b, labels));
    expect(width).toBeGreaterThan(0.85);
    expect(width).toBeLessThan(1.15);
  });

  it('is antisymmetric in the two models and reproducible by seed', () => {
    const { labels, a, b } = twoModels(300, 3, 1);
    const ab = pairedAurocDelta(a, b, labels, { samples: 300, seed: 5 })!;
    const ba = pairedAurocDelta(b, a, labels, { samples: 300, seed: 5 })!;
    expect(ba.delta).toBeCloseTo(-ab.delta, 15);
    expect(ba.ci[0]).toBeCloseTo(-ab.ci[1], 12);
    expect(ba.p).toBeCloseTo(ab.p, 15);
    expect(pairedAurocDelta(a, b, labels, { samples: 300, seed: 5 })).toEqual(ab);
    expect(pairedAurocDelta(a, b, labels, { samples: 300, seed: 6 })!.ci).not.toEqual(ab.ci);
  });

  it('tests the gate’s margin one-sided: a small gain does not clear +0.02, a large one does', () => {
    const { labels, a, b } = twoModels(1500, 7, 0.25);
    const small = pairedAurocDelta(a, b, labels, { samples: 1000, seed: 1, margin: 0.02 })!;
    expect(small.delta).toBeGreaterThan(0);
    expect(small.delta).toBeLessThan(0.02);
    expect(small.pAboveMargin).toBeGreaterThan(0.5);
    const big = twoModels(1500, 7, 2);
    const large = pairedAurocDelta(big.a, big.b, big.labels, { samples: 1000, seed: 1, margin: 0.02 })!;
    expect(large.delta).toBeGreaterThan(0.05);
    expect(large.pAboveMargin).toBeLessThan(0.01);
  });

  it('is null for a single class and names bad input', () => {
    expect(pairedAurocDelta([1, 2], [2, 1], [1, 1], { seed: 1 })).toBeNull();
    expect(() => pairedAurocDelta([1, 2], [2], [0, 1], { seed: 1 })).toThrow(/1 scores but 2 labels/);
  });
});
