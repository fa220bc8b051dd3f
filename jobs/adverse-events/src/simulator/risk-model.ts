import type { Rng } from '@vigil/core';

/**
 * The latent risk model behind the simulated trial (see README.md in this folder).
 *
 * Every patient has a latent liver **susceptibility** `s ~ N(0, 1)`. On the treatment arm
 * each dose actually taken adds liver load `exp(liverLoadMu + liverLoadSigma · s)`; the
 * liver-injury state follows `L[d] = liverDecay · L[d-1] + (1 − liverDecay) · load[d]`, so
 * it rises over weeks for susceptible, adherent patients and never on placebo.
 * An **inflammation** state `I[d] = inflammationDecay · I[d-1] + liverToInflammation · L[d] + shock[d]`
 * carries random episodes (probability `episodeRate` a day, size `episodeSize · (1 + U)`)
 * and the drug's inflammatory response; fever, tachycardia and falling SpO2 are its views.
 *
 * The daily hazard of an adverse event of grade ≥ 2 is logistic in the states of the day
 * before (injury and inflammation show in labs, vitals and symptoms first):
 * `logit h[d] = intercept + liver · L[d−1] + inflammation · I[d−1] + age · (age − 55) / 10`
 * (`L[−1] = I[−1] = 0`). The first such event censors the patient.
 */
export interface RiskModel {
  /** Logit of the daily hazard with every latent state at zero. */
  intercept: number;
  /** Logit per unit of liver injury `L`. */
  liver: number;
  /** Logit per unit of inflammation `I`. */
  inflammation: number;
  /** Logit per 10 years of age above 55. */
  age: number;
  /** Median log liver load of a dose taken on the treatment arm. */
  liverLoadMu: number;
  /** Spread of the log liver load across patients (the weight of susceptibility). */
  liverLoadSigma: number;
  /** Day-to-day persistence of liver injury (0–1). */
  liverDecay: number;
  /** Day-to-day persistence of inflammation (0–1). */
  inflammationDecay: number;
  /** Inflammation added per unit of liver injury each day. */
  liverToInflammation: number;
  /** Daily probability of an inflammatory episode (infection, reaction). */
  episodeRate: number;
  /** Size of an episode's shock to inflammation. */
  episodeSize: number;
}

export const defaultRiskModel: Readonly<RiskModel> = Object.freeze({
  intercept: -6.3,
  liver: 2,
  inflammation: 1.8,
  age: 0.25,
  liverLoadMu: 0.4,
  liverLoadSigma: 0.9,
  liverDecay: 0.92,
  inflammationDecay: 0.75,
  liverToInflammation: 0.12,
  episodeRate: 0.02,
  episodeSize: 1,
});

/** What the patient brings to the trial (drawn once at enrolment). */
export interface PatientTraits {
  age: number;
  sex: 'F' | 'M';
  arm: 'treatment' | 'placebo';
  /** Latent susceptibility, standard normal. */
  susceptibility: number;
  /** Probability of taking each daily dose. */
  adherence: number;
}

/** One patient's latent path, one entry per trial day. */
export interface LatentPath {
  /** Whether the day's dose was taken. */
  taken: Uint8Array;
  liver: Float64Array;
  inflammation: Float64Array;
  /** Daily hazard of an adverse event of grade ≥ 2. */
  hazard: Float64Array;
}

export function logistic(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Draw the latent path of a patient for `days` days from its own random stream. */
export function simulateLatentPath(
  traits: PatientTraits,
  days: number,
  model: RiskModel,
  rng: Rng,
): LatentPath {
  const taken = new Uint8Array(days);
  const liver = new Float64Array(days);
  const inflammation = new Float64Array(days);
  const hazard = new Float64Array(days);
  const load =
    traits.arm === 'treatment'
      ? Math.exp(model.liverLoadMu + model.liverLoadSigma * traits.susceptibility)
      : 0;
  const ageTerm = (model.age * (traits.age - 55)) / 10;
  let l = 0;
  let inf = 0;
  for (let d = 0; d < days; d++) {
    // The event follows the state of the day before: injury and inflammation show first.
    hazard[d] = logistic(model.intercept + model.liver * l + model.inflammation * inf + ageTerm);
    const dose = rng.next() < traits.adherence ? 1 : 0;
    const episode = rng.next() < model.episodeRate ? model.episodeSize * (1 + rng.next()) : 0;
    l = model.liverDecay * l + (1 - model.liverDecay) * dose * load;
    inf = model.inflammationDecay * inf + model.liverToInflammation * l + episode;
    taken[d] = dose;
    liver[d] = l;
    inflammation[d] = inf;
  }
  return { taken, liver, inflammation, hazard };
}

/** Probability of at least one event on days `from … from + horizon − 1` given the true daily hazards. */
export function windowProbability(hazard: Float64Array, from: number, horizon: number): number {
  let survive = 1;
  for (let d = from; d < from + horizon && d < hazard.length; d++) survive *= 1 - (hazard[d] ?? 0);
  return 1 - survive;
}

/** The latent state at a prediction time (00:00 of day `d`): the states of day `d − 1` and the patient's constants. */
export interface PresentState {
  /** Liver injury `L[d − 1]`. */
  liver: number;
  /** Inflammation `I[d − 1]`. */
  inflammation: number;
}

/**
 * Random futures shared by every prediction point of a trial (common random numbers, so that the
 * Monte-Carlo error is smooth in the state and barely reorders points): for each of `draws`
 * futures and each of `steps` days, a uniform that decides whether the day's dose is taken (taken
 * when below the patient's adherence) and the day's shock to inflammation (0, or an episode's
 * size). Each day is stratified over the draws (a Latin hypercube): its dose, episode and size
 * uniforms each fall once in every `[k/draws, (k+1)/draws)`, in an order shuffled per day, so a
 * day sees missed doses and episodes in their proportions and each draw stays an exact sample.
 */
export interface FutureDraws {
  draws: number;
  steps: number;
  /** `draws × steps`, row-major: the dose uniform of draw `m`, day `j`. */
  dose: Float64Array;
  /** `draws × steps`, row-major: the shock to inflammation of draw `m`, day `j`. */
  shock: Float64Array;
}

/** A stratified sample of `n` uniforms: one in each of `[k/n, (k+1)/n)`, in random order. */
function stratified(n: number, rng: Rng): Float64Array {
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) out[k] = (k + rng.next()) / n;
  for (let k = n - 1; k > 0; k--) {
    const j = rng.int(k + 1);
    const t = out[k] as number;
    out[k] = out[j] as number;
    out[j] = t;
  }
  return out;
}

/** Draw `draws` futures of `steps` days each from `rng` (see {@link FutureDraws}). */
export function drawFutures(model: RiskModel, steps: number, draws: number, rng: Rng): FutureDraws {
  if (!Number.isInteger(draws) || draws < 1) {
    throw new RangeError(`draws must be a positive integer, got ${draws}`);
  }
  const dose = new Float64Array(draws * steps);
  const shock = new Float64Array(draws * steps);
  for (let j = 0; j < steps; j++) {
    const u = stratified(draws, rng);
    const e = stratified(draws, rng);
    const size = stratified(draws, rng);
    for (let m = 0; m < draws; m++) {
      dose[m * steps + j] = u[m] as number;
      shock[m * steps + j] =
        (e[m] as number) < model.episodeRate ? model.episodeSize * (1 + (size[m] as number)) : 0;
    }
  }
  return { draws, steps, dose, shock };
}

/**
 * Probability of an event on days `d … d + horizon − 1` given only the latent state at 00:00 of
 * day `d` (the states of day `d − 1` and the patient's traits), with the future doses and
 * inflammatory episodes unknown: `1 − E[Π_k (1 − h[k])]`, the expectation over the futures in
 * `futures` (which must have at least `horizon − 1` steps). The hazard of day `d` is known
 * exactly; those of later days depend on the doses and episodes of days `d …`. With `hazards`
 * (concept drift), day `d + k` uses the hazard coefficients `hazards[k]` instead of `model`'s.
 */
export function presentStateProbability(
  state: PresentState,
  traits: Pick<PatientTraits, 'age' | 'arm' | 'susceptibility' | 'adherence'>,
  horizon: number,
  model: RiskModel,
  futures: FutureDraws,
  hazards?: readonly Pick<RiskModel, 'intercept' | 'liver' | 'inflammation' | 'age'>[],
): number {
  const { draws, steps, dose, shock } = futures;
  if (steps < horizon - 1)
    throw new RangeError(`futures have ${steps} steps; a ${horizon}-day window needs ${horizon - 1}`);
  if (hazards !== undefined && hazards.length < horizon)
    throw new RangeError(`hazards cover ${hazards.length} days; a ${horizon}-day window needs ${horizon}`);
  // The hazard coefficients of day `d + k`: `hazards[k]` under concept drift, else `model`'s every
  // day. The latent dynamics (loads, decays, episodes) are always `model`'s.
  const days = Math.max(horizon, 1);
  const base = new Float64Array(days);
  const wLiver = new Float64Array(days);
  const wInflammation = new Float64Array(days);
  for (let k = 0; k < days; k++) {
    const c = hazards === undefined ? model : hazards[k]!;
    base[k] = c.intercept + (c.age * (traits.age - 55)) / 10;
    wLiver[k] = c.liver;
    wInflammation[k] = c.inflammation;
  }
  const load =
    traits.arm === 'treatment'
      ? Math.exp(model.liverLoadMu + model.liverLoadSigma * traits.susceptibility)
      : 0;
  const first = logistic(base[0]! + wLiver[0]! * state.liver + wInflammation[0]! * state.inflammation);
  const ahead = horizon - 1;
  const a = model.liverDecay;
  const b = model.inflammationDecay;
  const gain = (1 - a) * load;
  let survive = 0;
  for (let m = 0; m < draws; m++) {
    let l = state.liver;
    let inf = state.inflammation;
    let s = 1;
    const row = m * steps;
    for (let j = 0; j < ahead; j++) {
      l = a * l + ((dose[row + j] as number) < traits.adherence ? gain : 0);
      inf = b * inf + model.liverToInflammation * l + (shock[row + j] as number);
      s *= 1 - logistic(base[j + 1]! + wLiver[j + 1]! * l + wInflammation[j + 1]! * inf);
    }
    survive += s;
  }
  return 1 - (1 - first) * (survive / draws);
}
