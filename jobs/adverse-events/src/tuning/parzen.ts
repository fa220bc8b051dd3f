import type { Rng } from '@vigil/core';

/**
 * Parzen estimators for TPE: a truncated Gaussian mixture over a numeric range (in the
 * range's own scale: linear, or log for log ranges) and a smoothed histogram over choices.
 */

/** erfc(x), Chebyshev-fitted (fractional error below 1.2e-7 everywhere, tails included). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Standard normal CDF. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** log(sum(exp(xs))) without overflow. */
function logSumExp(xs: readonly number[]): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const x of xs) if (x > max) max = x;
  if (max === Number.NEGATIVE_INFINITY) return max;
  let s = 0;
  for (const x of xs) s += Math.exp(x - max);
  return max + Math.log(s);
}

/** A mixture of Gaussians, each truncated to [low, high] and renormalised there. */
export interface TruncatedMixture {
  low: number;
  high: number;
  mus: number[];
  sigmas: number[];
  /** Normalised weights. */
  weights: number[];
}

/**
 * Fit a mixture to observed points in [low, high]: one component per point, with a
 * bandwidth from its neighbours (the larger gap to the next point on either side, the
 * range's ends counting as neighbours), clipped to [range / min(100, n + 1), range]; plus a
 * broad prior component (centre of the range, σ = range) with weight `priorWeight`, so the
 * estimate never collapses on a few points.
 */
export function fitTruncatedMixture(
  points: readonly number[],
  low: number,
  high: number,
  priorWeight: number,
): TruncatedMixture {
  const span = high - low;
  const order = points.map((_, i) => i).sort((a, b) => points[a]! - points[b]! || a - b);
  const sorted = order.map((i) => points[i]!);
  const n = sorted.length;
  const minSigma = span / Math.min(100, n + 1);
  const mus: number[] = [];
  const sigmas: number[] = [];
  const weights: number[] = [];
  for (let j = 0; j < n; j++) {
    const left = sorted[j]! - (j > 0 ? sorted[j - 1]! : low);
    const right = (j < n - 1 ? sorted[j + 1]! : high) - sorted[j]!;
    mus.push(sorted[j]!);
    sigmas.push(Math.min(span, Math.max(minSigma, left, right)));
    weights.push(1);
  }
  if (priorWeight > 0 || n === 0) {
    mus.push((low + high) / 2);
    sigmas.push(span);
    weights.push(n === 0 ? 1 : priorWeight);
  }
  const total = weights.reduce((a, b) => a + b, 0);
  return { low, high, mus, sigmas, weights: weights.map((w) => w / total) };
}

/** log density of the mixture at x (x inside [low, high]). */
export function mixtureLogPdf(m: TruncatedMixture, x: number): number {
  const terms: number[] = [];
  for (let k = 0; k < m.mus.length; k++) {
    const mu = m.mus[k]!;
    const sigma = m.sigmas[k]!;
    const mass = normalCdf((m.high - mu) / sigma) - normalCdf((m.low - mu) / sigma);
    const z = (x - mu) / sigma;
    terms.push(
      Math.log(m.weights[k]!) -
        0.5 * z * z -
        Math.log(sigma) -
        LOG_SQRT_2PI -
        Math.log(Math.max(mass, 1e-300)),
    );
  }
  return logSumExp(terms);
}

/** Draw from the mixture: a component by weight, then its truncated Gaussian by rejection. */
export function sampleMixture(m: TruncatedMixture, rng: Rng): number {
  let u = rng.next();
  let k = 0;
  while (k < m.weights.length - 1 && u >= m.weights[k]!) {
    u -= m.weights[k]!;
    k++;
  }
  const mu = m.mus[k]!;
  const sigma = m.sigmas[k]!;
  // Every component's centre lies in [low, high] and σ ≤ range, so at least ~1/3 of the mass
  // is inside: rejection ends quickly. The clamp is a guard, never the usual path.
  for (let attempt = 0; attempt < 1000; attempt++) {
    const x = mu + sigma * rng.normal();
    if (x >= m.low && x <= m.high) return x;
  }
  return Math.min(m.high, Math.max(m.low, mu));
}

/** A categorical estimate: observed counts plus `priorWeight` spread evenly over the choices. */
export function fitCategorical(indices: readonly number[], choices: number, priorWeight: number): number[] {
  const p = Array.from({ length: choices }, () => (indices.length === 0 ? 1 : priorWeight) / choices);
  for (const i of indices) p[i]! += 1;
  const total = p.reduce((a, b) => a + b, 0);
  return p.map((v) => v / total);
}

export function sampleCategorical(p: readonly number[], rng: Rng): number {
  let u = rng.next();
  for (let i = 0; i < p.length - 1; i++) {
    if (u < p[i]!) return i;
    u -= p[i]!;
  }
  return p.length - 1;
}
