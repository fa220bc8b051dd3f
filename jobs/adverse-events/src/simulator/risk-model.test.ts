import { createRng } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import {
  defaultRiskModel,
  drawFutures,
  logistic,
  type PatientTraits,
  presentStateProbability,
  type RiskModel,
} from './risk-model.js';
import { CEILING_DRAWS } from './simulate-trial.js';

const traits: PatientTraits = { age: 63, sex: 'F', arm: 'treatment', susceptibility: 0.8, adherence: 0.75 };
const state = { liver: 1.1, inflammation: 0.7 };
const horizon = 7;

/** The daily hazard from the states of the day before, written out again (README.md). */
function hazard(model: RiskModel, age: number, liver: number, inflammation: number): number {
  return logistic(
    model.intercept + model.liver * liver + model.inflammation * inflammation + (model.age * (age - 55)) / 10,
  );
}

describe('presentStateProbability', () => {
  it('matches a brute-force simulation of many futures, events included, from one fixed state', () => {
    const model = { ...defaultRiskModel, episodeRate: 0.1 };
    const load = Math.exp(model.liverLoadMu + model.liverLoadSigma * traits.susceptibility);
    const rng = createRng('brute-force futures');
    const n = 200_000;
    let events = 0;
    for (let i = 0; i < n; i++) {
      let l = state.liver;
      let inf = state.inflammation;
      for (let k = 0; k < horizon; k++) {
        if (rng.next() < hazard(model, traits.age, l, inf)) {
          events++;
          break;
        }
        const dose = rng.next() < traits.adherence ? 1 : 0;
        const shock = rng.next() < model.episodeRate ? model.episodeSize * (1 + rng.next()) : 0;
        l = model.liverDecay * l + (1 - model.liverDecay) * dose * load;
        inf = model.inflammationDecay * inf + model.liverToInflammation * l + shock;
      }
    }
    const brute = events / n;
    const futures = drawFutures(model, horizon - 1, CEILING_DRAWS, createRng(1));
    const p = presentStateProbability(state, traits, horizon, model, futures);
    // Four standard errors of the brute force, plus the Monte-Carlo error of CEILING_DRAWS futures.
    const se = Math.sqrt((brute * (1 - brute)) / n);
    expect(brute).toBeGreaterThan(0.1);
    expect(Math.abs(p - brute)).toBeLessThan(4 * se + 0.003);
  });

  it('matches an exact sum over every dose sequence when there are no episodes', () => {
    const model = { ...defaultRiskModel, episodeRate: 0 };
    const load = Math.exp(model.liverLoadMu + model.liverLoadSigma * traits.susceptibility);
    const steps = horizon - 1;
    let survive = 0;
    for (let mask = 0; mask < 1 << steps; mask++) {
      let weight = 1;
      let l = state.liver;
      let inf = state.inflammation;
      let s = 1 - hazard(model, traits.age, l, inf);
      for (let k = 0; k < steps; k++) {
        const dose = (mask >> k) & 1;
        weight *= dose ? traits.adherence : 1 - traits.adherence;
        l = model.liverDecay * l + (1 - model.liverDecay) * dose * load;
        inf = model.inflammationDecay * inf + model.liverToInflammation * l;
        s *= 1 - hazard(model, traits.age, l, inf);
      }
      survive += weight * s;
    }
    const exact = 1 - survive;
    for (const seed of [1, 2, 3]) {
      const p = presentStateProbability(
        state,
        traits,
        horizon,
        model,
        drawFutures(model, steps, CEILING_DRAWS, createRng(seed)),
      );
      expect(Math.abs(p - exact), `seed ${seed}`).toBeLessThan(1e-3);
    }
    // A certain future (every dose taken, no episodes) leaves nothing to average: the product itself.
    const sure = { ...traits, adherence: 1 };
    let l = state.liver;
    let inf = state.inflammation;
    let s = 1 - hazard(model, sure.age, l, inf);
    for (let k = 0; k < steps; k++) {
      l = model.liverDecay * l + (1 - model.liverDecay) * load;
      inf = model.inflammationDecay * inf + model.liverToInflammation * l;
      s *= 1 - hazard(model, sure.age, l, inf);
    }
    const p = presentStateProbability(
      state,
      sure,
      horizon,
      model,
      drawFutures(model, steps, 16, createRng(4)),
    );
    expect(p).toBeCloseTo(1 - s, 12);
  });

  it('is deterministic from the seed, lies between the first day’s hazard and 1, and rises with the state', () => {
    const a = drawFutures(defaultRiskModel, 6, CEILING_DRAWS, createRng(9));
    const b = drawFutures(defaultRiskModel, 6, CEILING_DRAWS, createRng(9));
    expect(Buffer.from(a.shock.buffer).equals(Buffer.from(b.shock.buffer))).toBe(true);
    const p = presentStateProbability(state, traits, horizon, defaultRiskModel, a);
    expect(presentStateProbability(state, traits, horizon, defaultRiskModel, b)).toBe(p);
    expect(p).toBeGreaterThan(hazard(defaultRiskModel, traits.age, state.liver, state.inflammation));
    expect(p).toBeLessThan(1);
    const higher = presentStateProbability(
      { liver: 1.3, inflammation: 0.9 },
      traits,
      horizon,
      defaultRiskModel,
      a,
    );
    expect(higher).toBeGreaterThan(p);
    expect(() => presentStateProbability(state, traits, 9, defaultRiskModel, a)).toThrow(/8/);
  });
});
