import { createRng } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import {
  fitCategorical,
  fitTruncatedMixture,
  mixtureLogPdf,
  normalCdf,
  sampleCategorical,
  sampleMixture,
} from './parzen.js';
import { type Observation, randomSampler, tpeSampler } from './samplers.js';
import { type ParamRange, paramRangeSchema } from './search-space.js';

const space: Record<string, ParamRange> = {
  learningRate: paramRangeSchema.parse({ low: 0.01, high: 0.3, log: true }),
  maxDepth: paramRangeSchema.parse({ low: 2, high: 6, integer: true }),
  subsample: paramRangeSchema.parse({ low: 0.5, high: 1 }),
  loss: paramRangeSchema.parse({ values: ['a', 'b', 'c', 'd'] }),
};

/** A synthetic objective with its optimum inside the space: lr 0.05, depth 4, subsample 0.8, loss 'c'. */
function objective(p: Record<string, unknown>): number {
  const lr = Math.log(p.learningRate as number) - Math.log(0.05);
  const depth = ((p.maxDepth as number) - 4) / 2;
  const sub = ((p.subsample as number) - 0.8) / 0.25;
  return -(lr * lr) - depth * depth - sub * sub - (p.loss === 'c' ? 0 : 0.5);
}

/** Sequential search with a sampler: each trial sees every earlier one. */
function search(sampler: ReturnType<typeof tpeSampler>, n: number) {
  const history: Observation[] = [];
  for (let t = 0; t < n; t++) {
    const params = sampler.suggest(t, history);
    history.push({ trial: t, params, rung: 0, value: objective(params) });
  }
  return history;
}

describe('Parzen estimators', () => {
  it('normalCdf matches known values', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959963985)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1)).toBeCloseTo(0.158655254, 6);
    expect(normalCdf(-8)).toBeGreaterThan(0);
    expect(normalCdf(-8)).toBeLessThan(1e-14);
  });

  it('a truncated mixture integrates to 1 over its range and samples stay inside it', () => {
    const m = fitTruncatedMixture([0.1, 0.15, 0.9, 0.5], 0, 1, 1);
    let integral = 0;
    const steps = 20_000;
    for (let i = 0; i < steps; i++) integral += Math.exp(mixtureLogPdf(m, (i + 0.5) / steps)) / steps;
    expect(integral).toBeCloseTo(1, 3);
    const rng = createRng(3);
    const xs = Array.from({ length: 5000 }, () => sampleMixture(m, rng));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThanOrEqual(1);
    // mass follows the points: more near 0.1–0.15 (two points) than near 0.7
    const near = (c: number) => xs.filter((x) => Math.abs(x - c) < 0.05).length;
    expect(near(0.12)).toBeGreaterThan(near(0.7));
  });

  it('bandwidths come from the neighbours, clipped to [range/min(100, n+1), range]', () => {
    const m = fitTruncatedMixture([0.5, 0.5, 0.5], 0, 1, 1);
    // identical points: the outer ones reach to the range's ends (0.5), the middle one has no gap
    // and gets the floor, 1/min(100, 3+1); the prior keeps σ = range
    expect(m.sigmas.slice(0, 3)).toEqual([0.5, 0.25, 0.5]);
    expect(m.sigmas[3]).toBe(1);
    expect(m.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const dense = fitTruncatedMixture(
      Array.from({ length: 200 }, (_, i) => i / 199),
      0,
      1,
      1,
    );
    expect(Math.min(...dense.sigmas)).toBeCloseTo(1 / 100, 12);
  });

  it('categorical: counts plus an even prior', () => {
    const p = fitCategorical([2, 2, 0], 4, 1);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(p[2]).toBeGreaterThan(p[0]!);
    expect(p[1]).toBeGreaterThan(0);
    const rng = createRng(1);
    const draws = Array.from({ length: 4000 }, () => sampleCategorical(p, rng));
    expect(draws.filter((d) => d === 2).length / 4000).toBeCloseTo(p[2]!, 1);
  });
});

describe('TPE sampler', () => {
  it('is random (the random sampler’s own draws) for the startup trials', () => {
    const tpe = tpeSampler(space, 11, { startupTrials: 5 });
    const random = randomSampler(space, 11);
    const history = search(tpe, 5);
    for (const [t, h] of history.entries()) expect(h.params).toEqual(random.suggest(t, []));
  });

  it('proposes values inside the space: log range, integers as integers, choices from the list', () => {
    for (const h of search(tpeSampler(space, 5, { startupTrials: 3 }), 60)) {
      const p = h.params;
      expect(p.learningRate as number).toBeGreaterThanOrEqual(0.01);
      expect(p.learningRate as number).toBeLessThanOrEqual(0.3);
      expect(Number.isInteger(p.maxDepth)).toBe(true);
      expect(p.maxDepth as number).toBeGreaterThanOrEqual(2);
      expect(p.maxDepth as number).toBeLessThanOrEqual(6);
      expect(p.subsample as number).toBeGreaterThanOrEqual(0.5);
      expect(p.subsample as number).toBeLessThanOrEqual(1);
      expect(['a', 'b', 'c', 'd']).toContain(p.loss);
    }
  });

  it('is deterministic: same seed and history, same proposal; another seed, another', () => {
    const a = search(tpeSampler(space, 21), 30);
    const b = search(tpeSampler(space, 21), 30);
    expect(a).toEqual(b);
    const c = search(tpeSampler(space, 22), 30);
    expect(c.map((h) => h.params)).not.toEqual(a.map((h) => h.params));
    // a proposal depends on the history it is given, not on the order it was built in
    const sampler = tpeSampler(space, 21);
    const shuffled = [...a.slice(0, 20)].reverse();
    expect(sampler.suggest(20, shuffled)).toEqual(sampler.suggest(20, a.slice(0, 20)));
  });

  it('finds better configurations than random search with the same budget (20 seeds)', () => {
    let wins = 0;
    let tpeSum = 0;
    let randomSum = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const best = (h: Observation[]) => Math.max(...h.map((o) => o.value!));
      const t = best(search(tpeSampler(space, seed), 40));
      const r = best(search(randomSampler(space, seed) as ReturnType<typeof tpeSampler>, 40));
      tpeSum += t;
      randomSum += r;
      if (t > r) wins++;
    }
    // measured: 13 of 20, mean best −0.21 against −0.28
    expect(wins).toBeGreaterThanOrEqual(12);
    expect(tpeSum / 20).toBeGreaterThan(randomSum / 20 + 0.04);
  });

  it('ranks a higher rung above a better score at a lower rung (early-stopped trials count as bad)', () => {
    const sampler = tpeSampler({ x: paramRangeSchema.parse({ low: 0, high: 1 }) }, 1, {
      startupTrials: 2,
      gamma: 0.1,
      candidates: 64,
    });
    // the single trial at rung 2 sits at x = 0.9; the best-scoring ones at rung 0 near 0.1
    const history: Observation[] = [
      { trial: 0, params: { x: 0.9 }, rung: 2, value: 0.6 },
      ...Array.from({ length: 9 }, (_, i) => ({
        trial: i + 1,
        params: { x: 0.05 + i * 0.01 },
        rung: 0,
        value: 0.9,
      })),
    ];
    const xs = Array.from({ length: 20 }, (_, t) => sampler.suggest(100 + t, history).x as number);
    expect(xs.filter((x) => x > 0.5).length).toBeGreaterThan(15);
  });
});
