import { createRng } from '@vigil/core';
import {
  fitCategorical,
  fitTruncatedMixture,
  mixtureLogPdf,
  sampleCategorical,
  sampleMixture,
  type TruncatedMixture,
} from './parzen.js';
import { type ParamRange, type Params, sampleParams } from './search-space.js';

/** What a sampler knows of a trial: its params and its latest score (at the highest rung it finished). */
export interface Observation {
  trial: number;
  params: Params;
  /** Index of the rung the value was measured at (0 = the smallest resource). */
  rung: number;
  value: number | null;
}

/** Proposes the params of a new trial from what earlier trials scored. */
export interface Sampler {
  readonly name: 'random' | 'tpe';
  /**
   * Params for trial `trial`, given the observations known when it starts. Deterministic:
   * the same trial number and observations give the same params.
   */
  suggest(trial: number, history: readonly Observation[]): Params;
}

export interface TpeOptions {
  /** Trials drawn at random before the model takes over. */
  startupTrials: number;
  /** Candidates drawn from l(x); the one with the highest l(x)/g(x) is proposed. */
  candidates: number;
  /** Share of the observations that count as good (at least 1, at most 25 of them). */
  gamma: number;
  /** Weight of the prior component (a broad Gaussian, or an even spread over the choices). */
  priorWeight: number;
}

export const DEFAULT_TPE: TpeOptions = { startupTrials: 10, candidates: 24, gamma: 0.1, priorWeight: 1 };

/** Each trial's params from its own seeded stream: trial i gets the same params whoever asks, whenever. */
export function randomSampler(space: Readonly<Record<string, ParamRange>>, seed: number): Sampler {
  return {
    name: 'random',
    suggest: (trial) => sampleParams(space, createRng(`${seed}:tune:${trial}`)),
  };
}

/** A numeric range in the scale TPE models it in: log for log ranges, integers widened by ½ each side. */
interface Scaled {
  low: number;
  high: number;
  forward(v: number): number;
  backward(u: number): number;
}

function scaled(range: Extract<ParamRange, { low: number }>): Scaled {
  const lowV = range.integer ? range.low - 0.5 : range.low;
  const highV = range.integer ? range.high + 0.5 : range.high;
  const forward = range.log ? Math.log : (v: number) => v;
  const back = range.log ? Math.exp : (u: number) => u;
  return {
    low: forward(range.log && lowV <= 0 ? range.low : lowV),
    high: forward(highV),
    forward,
    backward: (u) => {
      const v = back(u);
      return range.integer
        ? Math.min(range.high, Math.max(range.low, Math.round(v)))
        : Math.min(range.high, Math.max(range.low, v));
    },
  };
}

type Estimate =
  | { kind: 'numeric'; scale: Scaled; good: TruncatedMixture; bad: TruncatedMixture }
  | { kind: 'choice'; values: readonly (number | string | boolean)[]; good: number[]; bad: number[] };

/**
 * Tree-structured Parzen Estimator (Bergstra et al., 2011), independent per parameter:
 * after `startupTrials` random trials, the observations are ranked (higher rung first, then
 * higher score) and the best ⌈γ·n⌉ (1…25) are "good", the rest "bad"; each parameter gets a
 * Parzen density l(x) over the good values and g(x) over the bad ones (truncated Gaussians in
 * the range's scale, or smoothed counts over choices); `candidates` joint draws from l are
 * scored by Σ log l − log g and the best is proposed. Seeded per trial, so a trial's params
 * depend only on the seed, its number and the observations it was given.
 */
export function tpeSampler(
  space: Readonly<Record<string, ParamRange>>,
  seed: number,
  options: Partial<TpeOptions> = {},
): Sampler {
  const o = { ...DEFAULT_TPE, ...options };
  const random = randomSampler(space, seed);
  const names = Object.keys(space).sort();
  return {
    name: 'tpe',
    suggest(trial, history) {
      const usable = history.filter((h) => names.every((n) => h.params[n] !== undefined));
      if (usable.length < Math.max(1, o.startupTrials)) return random.suggest(trial, history);
      const ranked = [...usable].sort(
        (a, b) =>
          b.rung - a.rung ||
          (b.value ?? Number.NEGATIVE_INFINITY) - (a.value ?? Number.NEGATIVE_INFINITY) ||
          a.trial - b.trial,
      );
      const nGood = Math.min(25, Math.max(1, Math.ceil(o.gamma * ranked.length)));
      const good = ranked.slice(0, nGood);
      const bad = ranked.slice(nGood);
      const estimates = new Map<string, Estimate>();
      for (const name of names) {
        const range = space[name]!;
        if ('values' in range) {
          const index = (h: Observation) => range.values.indexOf(h.params[name]!);
          const of = (hs: Observation[]) => hs.map(index).filter((i) => i >= 0);
          estimates.set(name, {
            kind: 'choice',
            values: range.values,
            good: fitCategorical(of(good), range.values.length, o.priorWeight),
            bad: fitCategorical(of(bad), range.values.length, o.priorWeight),
          });
        } else {
          const scale = scaled(range);
          const of = (hs: Observation[]) =>
            hs.map((h) => Math.min(scale.high, Math.max(scale.low, scale.forward(h.params[name] as number))));
          estimates.set(name, {
            kind: 'numeric',
            scale,
            good: fitTruncatedMixture(of(good), scale.low, scale.high, o.priorWeight),
            bad: fitTruncatedMixture(of(bad), scale.low, scale.high, o.priorWeight),
          });
        }
      }
      const rng = createRng(`${seed}:tpe:${trial}`);
      let best: Params | undefined;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < Math.max(1, o.candidates); c++) {
        const candidate: Params = {};
        let score = 0;
        for (const name of names) {
          const e = estimates.get(name)!;
          if (e.kind === 'choice') {
            const i = sampleCategorical(e.good, rng);
            candidate[name] = e.values[i]!;
            score += Math.log(e.good[i]!) - Math.log(e.bad[i]!);
          } else {
            const v = e.scale.backward(sampleMixture(e.good, rng));
            // scored where it lands (an integer is scored at the integer it rounds to)
            const u = Math.min(e.scale.high, Math.max(e.scale.low, e.scale.forward(v)));
            candidate[name] = v;
            score += mixtureLogPdf(e.good, u) - mixtureLogPdf(e.bad, u);
          }
        }
        if (score > bestScore || best === undefined) {
          best = candidate;
          bestScore = score;
        }
      }
      return best!;
    },
  };
}
