import { describe, expect, it } from 'vitest';
import { createRng } from '../random.js';
import { auroc } from './auroc.js';
import { aurocCi } from './auroc-ci.js';
import { tieRuns } from './binary-input.js';
import { stratifiedResampler } from './bootstrap.js';
import { weightedAuroc } from './weighted-auroc.js';

/** Binormal scores: negatives N(0,1), positives N(d,1); the true AUROC is Φ(d/√2). */
function binormal(n: number, prevalence: number, d: number, seed: number, round = false) {
  const rng = createRng(seed);
  const labels: number[] = [];
  const scores: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = i < Math.round(n * prevalence) ? 1 : 0;
    labels.push(y);
    const s = rng.normal() + (y === 1 ? d : 0);
    scores.push(round ? Math.round(s * 4) / 4 : s);
  }
  return { scores, labels };
}

/** Φ by Abramowitz–Stegun 7.1.26 on erf (|error| < 1.5e-7). */
function phi(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf =
    1 -
    t *
      (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) *
      Math.exp(-z * z);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** DeLong's standard error of the AUROC (structural components, O(n₁·n₀)). */
function delongSe(scores: number[], labels: number[]): number {
  const pos = scores.filter((_, i) => labels[i] === 1);
  const neg = scores.filter((_, i) => labels[i] === 0);
  const psi = (x: number, y: number) => (x > y ? 1 : x === y ? 0.5 : 0);
  const v10 = pos.map((x) => neg.reduce((a, y) => a + psi(x, y), 0) / neg.length);
  const v01 = neg.map((y) => pos.reduce((a, x) => a + psi(x, y), 0) / pos.length);
  const variance = (v: number[]) => {
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    return v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1);
  };
  return Math.sqrt(variance(v10) / pos.length + variance(v01) / neg.length);
}

describe('weightedAuroc (a bootstrap replicate as row counts)', () => {
  it('equals the AUROC of the resample written out row by row, ties included', () => {
    const { scores, labels } = binormal(300, 0.3, 1, 5, true);
    const runs = tieRuns(scores);
    const draw = stratifiedResampler(labels, 9);
    for (let b = 0; b < 20; b++) {
      const counts = draw();
      const s: number[] = [];
      const y: number[] = [];
      counts.forEach((c, i) => {
        for (let k = 0; k < c; k++) {
          s.push(scores[i]!);
          y.push(labels[i]!);
        }
      });
      expect(weightedAuroc(runs, labels, counts)).toBeCloseTo(auroc(s, y)!, 12);
    }
  });
});

describe('stratifiedResampler', () => {
  it('keeps the class counts in every replicate and draws every row about equally often', () => {
    const labels = Array.from({ length: 100 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    const draw = stratifiedResampler(labels, 'x');
    const totals = new Float64Array(100);
    for (let b = 0; b < 2000; b++) {
      const c = draw();
      let pos = 0;
      let neg = 0;
      c.forEach((k, i) => {
        totals[i]! += k;
        if (labels[i] === 1) pos += k;
        else neg += k;
      });
      expect([pos, neg]).toEqual([25, 75]);
    }
    // each row is drawn Binomial(n_class, 1/n_class) times per replicate: mean 1 over 2000 replicates
    for (const t of totals) expect(Math.abs(t / 2000 - 1)).toBeLessThan(0.12);
  });
});

describe('aurocCi', () => {
  const data = binormal(400, 0.25, 1, 1);

  it('is reproducible by seed and varies with it', () => {
    const a = aurocCi(data.scores, data.labels, { samples: 300, seed: 7 });
    const b = aurocCi(data.scores, data.labels, { samples: 300, seed: 7 });
    const c = aurocCi(data.scores, data.labels, { samples: 300, seed: 8 });
    expect(a).toEqual(b);
    expect(c!.lower).not.toBe(a!.lower);
    expect(a!.auroc).toBe(auroc(data.scores, data.labels));
    expect(a!.lower).toBeLessThan(a!.auroc);
    expect(a!.upper).toBeGreaterThan(a!.auroc);
  });

  it('is as wide as DeLong’s normal interval, to within 15 %', () => {
    const ci = aurocCi(data.scores, data.labels, { samples: 2000, seed: 3 })!;
    const delong = 2 * 1.959964 * delongSe(data.scores, data.labels);
    expect((ci.upper - ci.lower) / delong).toBeGreaterThan(0.85);
    expect((ci.upper - ci.lower) / delong).toBeLessThan(1.15);
  });

  it('covers the true AUROC about `level` of the time on simulated binormal data', () => {
    const d = 1;
    const truth = phi(d / Math.SQRT2);
    let covered = 0;
    const trials = 150;
    for (let t = 0; t < trials; t++) {
      const { scores, labels } = binormal(200, 0.3, d, 1000 + t);
      const ci = aurocCi(scores, labels, { samples: 300, level: 0.9, seed: t })!;
      if (ci.lower <= truth && truth <= ci.upper) covered++;
    }
    // 90 % nominal; binomial sd over 150 trials ≈ 2.4 %
    expect(covered / trials).toBeGreaterThan(0.82);
    expect(covered / trials).toBeLessThan(0.97);
  });

  it('is null for a single class and names bad input', () => {
    expect(aurocCi([0.1, 0.2], [0, 0], { seed: 1 })).toBeNull();
    expect(() => aurocCi([0.1, 0.2], [0, 2], { seed: 1 })).toThrow(/labels\[1\] is 2/);
    expect(() => aurocCi([0.1, Number.NaN], [0, 1], { seed: 1 })).toThrow(/scores\[1\] is NaN/);
    expect(() => aurocCi([0.1], [0, 1], { seed: 1 })).toThrow(/1 scores but 2 labels/);
    expect(() => aurocCi([0.1, 0.2], [0, 1], { seed: 1, level: 1.5 })).toThrow(/level/);
    expect(() => aurocCi([0.1, 0.2], [0, 1], { seed: 1, samples: 0 })).toThrow(/samples/);
  });
});
