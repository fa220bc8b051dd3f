/**
 * Kolmogorov–Smirnov tail functions that scipy takes from cephes:
 * - `smirnovSf(n, x)`: the one-sided statistic's survival P(D⁺ₙ ≥ x), scipy's `special.smirnov`;
 * - `kolmogorovSf(x)`: the limiting two-sided survival P(√n Dₙ ≥ x), scipy's `special.kolmogorov`;
 * - `kolmogorovSfInverse(p)`: its inverse, scipy's `special.kolmogi`.
 *
 * smirnov sums the Birnbaum–Tingey terms C(n,v) (x + v/n)^(v−1) (1 − x − v/n)^(n−v)
 * in log space, with the factorials written through Stirling's correction so that the
 * large parts (n ln n) cancel exactly and only log1p terms remain: relative accuracy
 * about 1e-12 for n up to 10⁶. The special cases (x ≤ 1/n, x ≥ 1 − 1/n, underflow,
 * n > 10⁶) follow cephes so the same formula answers in the same regime.
 */
import { stirlingCorrection } from './gamma.js';

const MINLOG = -745.1332191019412;
const HALF_LOG_TWO_PI = 0.9189385332046728;
const SMIRNOV_MAX_COMPUTE_N = 1_000_000;

/** a·b as an unevaluated sum p + e, exactly (Dekker's product with Veltkamp splitting). */
function twoProduct(a: number, b: number): [number, number] {
  const p = a * b;
  const ca = 134217729 * a;
  const ah = ca - (ca - a);
  const al = a - ah;
  const cb = 134217729 * b;
  const bh = cb - (cb - b);
  const bl = b - bh;
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

/** floor(n·x) and its remainder, from the exact product (cephes' modNX). */
function splitNx(n: number, x: number): { whole: number; frac: number; nx: number } {
  const [p, e] = twoProduct(n, x);
  let whole = Math.floor(p);
  let frac = p - whole + e;
  if (frac < 0) {
    whole -= 1;
    frac += 1;
  } else if (frac >= 1) {
    whole += 1;
    frac -= 1;
  }
  if (frac === 1) {
    whole += 1;
    frac = 0;
  }
  return { whole, frac, nx: p };
}

/** One-sided Kolmogorov–Smirnov survival P(D⁺ₙ ≥ x): scipy's `special.smirnov(n, x)`. */
export function smirnovSf(n: number, x: number): number {
  if (Number.isNaN(x) || !(n > 0 && Number.isInteger(n) && x >= 0 && x <= 1)) return Number.NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  const { whole, frac, nx } = splitNx(n, x);
  if (whole === 0 || (whole === 1 && frac === 0)) {
    // x <= 1/n: P(D+ < x) = x (1 + x)^(n-1)
    const t = Math.exp((n - 1) * Math.log1p(x));
    return 1 - x * t;
  }
  if (-2 * n * x * x < MINLOG) return 0;
  if (whole >= n - 1) return (1 - x) ** n;
  if (n > SMIRNOV_MAX_COMPUTE_N) {
    const logp = -((6 * n * x + 1) ** 2) / 18 / n;
    return logp < -Math.LN2 ? Math.exp(logp) : 1 - -Math.expm1(logp);
  }
  // Lower Birnbaum–Tingey sum: sf = x Σ_{v=0}^{V} A_v with V = n - floor(nx) - 1.
  const last = n - whole - 1;
  const logX = Math.log(x);
  const base = Math.log(n) + stirlingCorrection(n) + logX;
  let sum = Math.exp(n * Math.log1p(-x)); // x·A_0 = (1 - x)^n
  let previous = sum;
  for (let v = 1; v <= last; v++) {
    const k = n - v;
    const kMinusNx = k - whole - frac;
    const logBelow = kMinusNx >= 0.5 * k ? Math.log1p(-nx / k) : Math.log(kMinusNx / k);
    const logTerm =
      base -
      Math.log(v) +
      0.5 * Math.log(n / (v * k)) -
      HALF_LOG_TWO_PI +
      (v - 1) * Math.log1p(nx / v) +
      k * logBelow -
      stirlingCorrection(v) -
      stirlingCorrection(k);
    const term = Math.exp(logTerm);
    sum += term;
    if (term < previous && term * (last - v) < 1e-18 * sum) break;
    previous = term;
  }
  return Math.min(1, Math.max(0, sum));
}

/** Limiting two-sided survival P(√n Dₙ ≥ x) (Kolmogorov's K): scipy's `special.kolmogorov`. */
export function kolmogorovSf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  return kolmogorovParts(x).sf;
}

/** cdf, sf and pdf of Kolmogorov's limiting distribution. */
function kolmogorovParts(x: number): { sf: number; cdf: number; pdf: number } {
  if (x <= 0) return { sf: 1, cdf: 0, pdf: 0 };
  // below π / sqrt(8 · 746) the cdf underflows
  if (x <= Math.PI / Math.sqrt(746 * 8)) return { sf: 1, cdf: 0, pdf: 0 };
  if (x <= 0.82) {
    // cdf = (√(2π)/x) Σ_{k≥1} exp(-(2k-1)² π² / (8x²))
    const w = Math.sqrt(2 * Math.PI) / x;
    const scale = (Math.PI * Math.PI) / (8 * x * x);
    let cdf = 0;
    let pdfSum = 0;
    for (let k = 1; k < 20; k++) {
      const m = 2 * k - 1;
      const e = Math.exp(-m * m * scale);
      cdf += e;
      pdfSum += (m * m * scale * 2 - 1) * e;
      if (e < 1e-18 * cdf) break;
    }
    if (cdf === 0) {
      const logCdf = -scale + Math.log(w);
      const value = Math.exp(logCdf);
      return { sf: 1 - value, cdf: value, pdf: 0 };
    }
    const value = Math.min(1, w * cdf);
    return { sf: Math.max(0, 1 - value), cdf: value, pdf: Math.max(0, (w * pdfSum) / x) };
  }
  // sf = 2 Σ_{k≥1} (-1)^(k-1) exp(-2k²x²)
  let sf = 0;
  let pdf = 0;
  for (let k = 1; k < 20; k++) {
    const e = Math.exp(-2 * k * k * x * x);
    const sign = k % 2 === 1 ? 1 : -1;
    sf += sign * e;
    pdf += sign * k * k * e;
    if (e < 1e-18 * Math.abs(sf)) break;
  }
  const value = Math.min(1, Math.max(0, 2 * sf));
  return { sf: value, cdf: Math.min(1, Math.max(0, 1 - value)), pdf: Math.max(0, 8 * x * pdf) };
}

/** x with kolmogorovSf(x) = p: scipy's `special.kolmogi`. Newton steps inside a shrinking bracket. */
export function kolmogorovSfInverse(p: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1) return Number.NaN;
  if (p === 1) return 0;
  if (p === 0) return Number.POSITIVE_INFINITY;
  let lo = 0;
  let hi = 1;
  while (kolmogorovParts(hi).sf > p) hi *= 2;
  // start from the leading term of whichever series applies
  let x = p < 0.5 ? Math.sqrt(-0.5 * Math.log(p / 2)) : 0.5 * (lo + hi);
  if (!(x > lo && x < hi)) x = 0.5 * (lo + hi);
  for (let i = 0; i < 200; i++) {
    const parts = kolmogorovParts(x);
    // compare on the smaller tail for accuracy
    const diff = p < 0.5 ? parts.sf - p : 1 - p - parts.cdf;
    if (diff === 0) return x;
    if (diff > 0) lo = x;
    else hi = x;
    const newton = parts.pdf > 0 ? x + diff / parts.pdf : Number.NaN;
    if (Math.abs(newton - x) <= 4.440892098500626e-16 * Math.abs(x)) return newton;
    const next = newton > lo && newton < hi ? newton : 0.5 * (lo + hi);
    if (next === x) return x;
    x = next;
  }
  return x;
}
