/**
 * The error function, its complement and the standard normal CDF, accurate to a few
 * units in the last place: a Maclaurin series below 1, a continued fraction above.
 * `normalCdf` follows the branch structure of scipy's `ndtr` (cephes), so that
 * `1 - normalCdf(z)` rounds the way scipy's does (Evidently's Z-test computes exactly that).
 */

const TWO_OVER_SQRT_PI = 1.1283791670955126;
const ONE_OVER_SQRT_PI = 0.5641895835477563;
/** cephes' erfc returns 0 once x² exceeds log(DBL_MAX). */
const MAXLOG = 709.782712893384;

/** exp(-x²) without the rounding error of forming x² (x is split so that hi² is exact). */
export function expMinusSquare(x: number): number {
  const scaled = 134217729 * x; // 2^27 + 1: Veltkamp split
  const hi = scaled - (scaled - x);
  const lo = x - hi;
  return Math.exp(-hi * hi) * Math.exp(-(2 * hi * lo + lo * lo));
}

/** erf(x) for |x| < 1 by its Maclaurin series. */
function erfSeries(x: number): number {
  const x2 = x * x;
  let power = x; // (-1)^n x^(2n+1) / n!
  let sum = x;
  for (let n = 1; n < 60; n++) {
    power *= -x2 / n;
    const term = power / (2 * n + 1);
    sum += term;
    if (Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * sum;
}

/**
 * erfc(x) for x >= 1 by the continued fraction
 * erfc(x) = exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated by Lentz's method.
 */
function erfcFraction(x: number): number {
  if (x * x > MAXLOG) return 0;
  const tiny = 1e-300;
  let f = x;
  let c = f;
  let d = 0;
  for (let k = 1; k < 5000; k++) {
    const a = k / 2;
    d = x + a * d;
    if (d === 0) d = tiny;
    c = x + a / c;
    if (c === 0) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (ONE_OVER_SQRT_PI * expMinusSquare(x)) / f;
}

export function erf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const z = Math.abs(x);
  if (z < 1) return erfSeries(x);
  const r = 1 - erfcFraction(z);
  return x < 0 ? -r : r;
}

export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 1) return x > -1 ? 1 - erfSeries(x) : 1 + (1 - erfcFraction(-x));
  return erfcFraction(x);
}

/** Standard normal CDF, scipy's `special.ndtr` / `stats.norm.cdf`. */
export function normalCdf(a: number): number {
  if (Number.isNaN(a)) return Number.NaN;
  const x = a * Math.SQRT1_2;
  const z = Math.abs(x);
  if (z < 1) return 0.5 + 0.5 * erf(x);
  const y = 0.5 * erfc(z);
  return x > 0 ? 1 - y : y;
}
