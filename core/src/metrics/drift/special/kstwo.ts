/**
 * The two-sided one-sample Kolmogorov–Smirnov distribution for finite n: scipy's
 * `stats.kstwo` (its `_ksstats.kolmogn`). The same regimes as Simard & L'Ecuyer (2011),
 * which scipy follows, choose among:
 * - Ruben–Gambino closed forms near the ends of the support;
 * - the Durbin matrix, powered as Marsaglia, Tsang & Wang (2003) do;
 * - Pomeranz's recursion over the breakpoints j ± t (t = n·x);
 * - the Pelz–Good asymptotic series (large n, small x);
 * - 2 × the one-sided Smirnov tail (upper tail).
 * Using the same method in the same regime matters: Pelz–Good is an approximation,
 * and the sf is 1 − cdf where the cdf is what is computed.
 */
import { stirlingCorrection } from './gamma.js';
import { smirnovSf } from './smirnov.js';

const TWO_128 = 2 ** 128;
const TWO_M128 = 2 ** -128;
const SQRT_TWO_PI = Math.sqrt(2 * Math.PI);
const PI2 = Math.PI * Math.PI;

function clip01(p: number): number {
  return Math.min(1, Math.max(0, p));
}

/** log(n! / nⁿ) by Stirling's formula. */
function logFactorialOverPower(n: number): number {
  return 0.5 * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI) + stirlingCorrection(n);
}

function multiply(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k]!;
      if (aik === 0) continue;
      const row = k * m;
      const outRow = i * m;
      for (let j = 0; j < m; j++) out[outRow + j]! += aik * b[row + j]!;
    }
  }
  return out;
}

/** P(Dₙ < d) by the Durbin matrix: the (k,k) entry of Hⁿ times n!/nⁿ, k = ⌈nd⌉. */
export function durbinMatrixCdf(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const inverseFactorial = new Float64Array(m + 1);
  inverseFactorial[0] = 1;
  for (let j = 1; j <= m; j++) inverseFactorial[j] = inverseFactorial[j - 1]! / j;
  let H: Float64Array = new Float64Array(m * m);
  for (let r = 0; r < m; r++)
    for (let c = 0; c <= Math.min(r + 1, m - 1); c++) H[r * m + c] = inverseFactorial[r - c + 1]!;
  for (let r = 0; r < m; r++) H[r * m] = (1 - h ** (r + 1)) * inverseFactorial[r + 1]!;
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = (1 - h ** (m - c)) * inverseFactorial[m - c]!;
  H[(m - 1) * m] = (1 - 2 * h ** m + Math.max(2 * h - 1, 0) ** m) * inverseFactorial[m]!;
  let power: Float64Array = new Float64Array(m * m);
  for (let i = 0; i < m; i++) power[i * m + i] = 1;
  let exponent = 0;
  let hExponent = 0;
  for (let e = n; e > 0; e = Math.floor(e / 2)) {
    if (e % 2 === 1) {
      power = multiply(power, H, m);
      exponent += hExponent;
    }
    H = multiply(H, H, m);
    hExponent *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)]!) > TWO_128) {
      for (let i = 0; i < H.length; i++) H[i]! *= TWO_M128;
      hExponent += 128;
    }
  }
  let p = power[(k - 1) * m + (k - 1)]!;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < TWO_M128) {
      p *= TWO_128;
      exponent -= 128;
    }
  }
  return clip01(p * 2 ** exponent);
}

/**
 * P(Dₙ < x) by Pomeranz's recursion. With t = n·x = ℓ + f and g = min(f, 1 − f), the
 * scaled order statistics are watched at the breakpoints 0, g, 1 − g, 1 + g, 2 − g, …,
 * n − g, n, where the band |N(u) − u| < t changes; at a breakpoint A the count N(A)
 * must lie in [⌊A − t⌋ + 1, ⌈A + t⌉ − 1]. Between breakpoints the counts grow by
 * Poisson weights (w/n)^k / k!; the answer is n! times the weight of count n at n.
 */
export function pomeranzCdf(n: number, x: number): number {
  const t = n * x;
  const whole = Math.floor(t);
  const f = t - whole;
  const g = Math.min(f, 1 - f);
  const ceilF = f > 0 ? 1 : 0;
  const ceil2F = Math.ceil(2 * f);
  const points = 2 * n + 2;
  const lower = new Int32Array(points);
  const upper = new Int32Array(points);
  const width = new Float64Array(points);
  // bounds at a breakpoint of the form b + f (A − t = b − ℓ is an integer) or b − f (A + t = b + ℓ)
  const plusF = (b: number, i: number) => {
    lower[i] = b - whole + 1;
    upper[i] = b + whole + ceil2F - 1;
  };
  const minusF = (b: number, i: number) => {
    lower[i] = b - whole - ceil2F + 1;
    upper[i] = b + whole - 1;
  };
  lower[0] = 0;
  upper[0] = whole + ceilF - 1;
  for (let j = 1; j <= n; j++) {
    // the two breakpoints between j-1 and j, in increasing order
    if (f <= 0.5) {
      plusF(j - 1, 2 * j - 1);
      minusF(j, 2 * j);
    } else {
      minusF(j, 2 * j - 1);
      plusF(j - 1, 2 * j);
    }
    width[2 * j - 1] = j === 1 ? g : 2 * g;
    width[2 * j] = 1 - 2 * g;
  }
  lower[points - 1] = n - whole - ceilF + 1;
  upper[points - 1] = n;
  width[points - 1] = g;
  for (let i = 0; i < points; i++) {
    lower[i] = Math.max(lower[i]!, 0);
    upper[i] = Math.min(upper[i]!, n);
  }
  const maxSpan = n + 1;
  let previous: Float64Array = new Float64Array(maxSpan);
  let current: Float64Array = new Float64Array(maxSpan);
  const weights = new Float64Array(maxSpan);
  let exponent = 0;
  previous[0] = 1; // count 0 at A = 0
  for (let i = 1; i < points; i++) {
    const w = width[i]! / n;
    const lo = lower[i]!;
    const hi = upper[i]!;
    const prevLo = lower[i - 1]!;
    const prevHi = upper[i - 1]!;
    if (hi < lo) return 0;
    const span = hi - prevLo;
    weights[0] = 1;
    for (let k = 1; k <= span; k++) weights[k] = (weights[k - 1]! * w) / k;
    current.fill(0);
    let max = 0;
    for (let c = lo; c <= hi; c++) {
      let sum = 0;
      for (let cp = prevLo; cp <= Math.min(c, prevHi); cp++) sum += previous[cp - prevLo]! * weights[c - cp]!;
      current[c - lo] = sum;
      if (sum > max) max = sum;
    }
    if (max > 0 && max < TWO_M128) {
      for (let c = 0; c <= hi - lo; c++) current[c]! *= TWO_128;
      exponent -= 128;
    }
    [previous, current] = [current, previous];
  }
  let answer = previous[n - lower[points - 1]!]!;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(answer) > TWO_128) {
      answer *= TWO_M128;
      exponent += 128;
    }
    answer *= m;
  }
  return clip01(answer * 2 ** exponent);
}

/**
 * Pelz–Good approximation P(Dₙ ≤ x) ≈ K₀(z) + K₁(z)/√n + K₂(z)/n + K₃(z)/n^(3/2), z = x√n,
 * each Kᵢ in its theta-function form (fast for small z).
 */
export function pelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const z8 = z4 * z4;
  const a = PI2 / (8 * z2);
  if (-a < -708) return 0;
  const terms = Math.ceil((16 * z) / Math.PI);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let t2 = 0;
  let t3 = 0;
  for (let k = terms; k >= 1; k--) {
    const m2 = (2 * k - 1) ** 2;
    const e = Math.exp(-m2 * a);
    const u = (PI2 * m2) / 4; // π²(k − ½)²
    s0 += e;
    s1 += (u - z2) * e;
    s2 += (6 * z6 + 2 * z4 + (2 * z4 - 5 * z2) * u + (1 - 2 * z2) * u * u) * e;
    s3 +=
      (-30 * z6 -
        90 * z8 +
        (135 * z4 - 96 * z6) * u +
        (212 * z4 - 60 * z2) * u * u +
        (5 - 30 * z2) * u * u * u) *
      e;
    const k2 = k * k;
    const f = Math.exp((-PI2 * k2) / (2 * z2));
    t2 += k2 * f;
    t3 += (3 * z2 - PI2 * k2) * k2 * f;
  }
  const k0 = (SQRT_TWO_PI * s0) / z;
  const k1 = (SQRT_TWO_PI * s1) / (6 * z4);
  const k2 = (SQRT_TWO_PI * s2) / (72 * z6 * z) - (PI2 * SQRT_TWO_PI * t2) / (36 * z2 * z);
  const k3 = (SQRT_TWO_PI * s3) / (6480 * z8 * z2) + (PI2 * SQRT_TWO_PI * t3) / (216 * z6);
  return k0 + k1 / Math.sqrt(n) + k2 / n + k3 / (n * Math.sqrt(n));
}

/** kolmogn: cdf or sf of Dₙ at x (n ≥ 1 integer, 0 < x < 1). */
function kolmogn(n: number, x: number, wantCdf: boolean): number {
  const pick = (cdf: number, sf: number) => clip01(wantCdf ? cdf : sf);
  if (x >= 1) return pick(1, 0);
  if (x <= 0) return pick(0, 1);
  const t = n * x;
  if (t <= 1) {
    // Ruben–Gambino: 1/(2n) <= x <= 1/n, P = n!/nⁿ (2t − 1)ⁿ
    if (t <= 0.5) return pick(0, 1);
    let prob: number;
    if (n <= 140) {
      prob = 1;
      for (let i = 1; i <= n; i++) prob *= i * (1 / n) * (2 * t - 1);
    } else {
      prob = Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    }
    return pick(prob, 1 - prob);
  }
  if (t >= n - 1) {
    const prob = 2 * (1 - x) ** n;
    return pick(1 - prob, prob);
  }
  if (x >= 0.5) {
    const prob = 2 * smirnovSf(n, x);
    return pick(1 - prob, prob);
  }
  const nxSquared = t * x;
  if (n <= 140) {
    if (nxSquared <= 0.754693) {
      const prob = durbinMatrixCdf(n, x);
      return pick(prob, 1 - prob);
    }
    if (nxSquared <= 4) {
      const prob = pomeranzCdf(n, x);
      return pick(prob, 1 - prob);
    }
    const prob = 2 * smirnovSf(n, x);
    return pick(1 - prob, prob);
  }
  if (!wantCdf) {
    if (nxSquared >= 370) return 0;
    if (nxSquared >= 2.2) return clip01(2 * smirnovSf(n, x));
  }
  let cdf: number;
  if (nxSquared >= 18) cdf = 1;
  else if (n <= 100000 && n * x ** 1.5 <= 1.4) cdf = durbinMatrixCdf(n, x);
  else cdf = pelzGoodCdf(n, x);
  return pick(cdf, 1 - cdf);
}

function validArgs(x: number, n: number): boolean {
  return !Number.isNaN(x) && Number.isInteger(n) && n >= 1;
}

/** Survival P(Dₙ ≥ x) of the two-sided one-sample KS statistic: scipy's `stats.kstwo.sf(x, n)`. */
export function kstwoSf(x: number, n: number): number {
  if (!validArgs(x, n)) return Number.NaN;
  if (x <= 0.5 / n) return 1;
  if (x >= 1) return 0;
  return kolmogn(n, x, false);
}

/** CDF P(Dₙ ≤ x): scipy's `stats.kstwo.cdf(x, n)`. */
export function kstwoCdf(x: number, n: number): number {
  if (!validArgs(x, n)) return Number.NaN;
  if (x <= 0.5 / n) return 0;
  if (x >= 1) return 1;
  return kolmogn(n, x, true);
}
