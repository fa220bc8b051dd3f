/**
 * Two-sample Kolmogorov–Smirnov test, two-sided, as scipy's `stats.ks_2samp` with its
 * default `method='auto'`: the exact null distribution when both samples have at most
 * 10 000 values, Smirnov's asymptotic one (`kstwo.sf(D, round(n₁n₂/(n₁+n₂)))`) otherwise.
 *
 * Exact p-values count lattice paths from (0, 0) to (n₁, n₂) that leave the band
 * |x/n₁ − y/n₂| < D (Hodges 1958). Equal sizes use the alternating binomial sum in
 * nested (Horner) form; unequal sizes propagate, column by column, the share of paths
 * that have already left the band (Viehmann 2021), which stays in [0, 1] and needs no
 * subtraction. Where the exact value is not a probability (rounding past 1), scipy falls
 * back to the asymptotic distribution, and so does this.
 */
import type { DriftTestResult } from './result.js';
import { checkThreshold, type DriftValue, numericSample } from './sample.js';
import { kstwoSf } from './special/kstwo.js';

const MAX_EXACT_N = 10_000;

export interface KsTwoSampleResult {
  /** D: the largest gap between the two empirical CDFs (h / lcm(n₁, n₂) on the exact path). */
  statistic: number;
  pValue: number;
  method: 'exact' | 'asymp';
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Round half to even, as numpy's `round`. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** P(D ≥ h/n) for two samples of size n: 2 Σ_{k≥1} (−1)^(k+1) C(2n, n−kh) / C(2n, n), nested. */
function equalSizesOutside(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    // ratio C(2n, n-(k+1)h) / C(2n, n-kh)
    let ratio = 1;
    for (let j = 0; j < h; j++) ratio = ((n - k * h - j) * ratio) / (n + k * h + j + 1);
    p = ratio * (1 - p);
  }
  return 2 * p;
}

/**
 * Share of monotone lattice paths (0,0) → (m, n) that touch |x·ng − y·mg| ≥ h, where
 * mg = m/g, ng = n/g. A(x, y) is the share of paths to (x, y) that have left the band:
 * 1 outside it, and inside it A(x, y) = (x·A(x−1, y) + y·A(x, y−1)) / (x + y).
 */
function unequalSizesOutside(n1: number, n2: number, g: number, h: number): number {
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const mg = m / g;
  const ng = n / g;
  // inside window of column x: y in [lo, hi), those with |ng·x − mg·y| < h
  let lo = 0;
  let hi = Math.min(Math.ceil(h / mg), n + 1);
  let prev = new Float64Array(n + 1); // A(x-1, y) for y in [prevLo, prevHi)
  let cur = new Float64Array(n + 1);
  let prevLo = lo;
  let prevHi = hi;
  // column x = 0: paths along the y axis, inside for y < h/mg: A = 0
  for (let y = lo; y < hi; y++) prev[y - lo] = 0;
  for (let x = 1; x <= m; x++) {
    lo = Math.min(Math.max(Math.floor((ng * x - h) / mg) + 1, 0), n);
    hi = Math.min(Math.ceil((ng * x + h) / mg), n + 1);
    if (hi <= lo) return 1;
    let below = lo === 0 ? 0 : 1; // A(x, lo-1): outside the band (or no point below y = 0)
    for (let y = lo; y < hi; y++) {
      const left = y >= prevLo && y < prevHi ? prev[y - prevLo]! : 1;
      below = (left * x + below * y) / (x + y);
      cur[y - lo] = below;
    }
    [prev, cur] = [cur, prev];
    prevLo = lo;
    prevHi = hi;
  }
  // (m, n) is inside when the statistic is positive; its value is the answer
  return n >= prevLo && n < prevHi ? prev[n - prevLo]! : 1;
}

/** Two-sided two-sample KS test; scipy's `ks_2samp(a, b)` (method 'auto'). Inputs must be non-empty and NaN-free. */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>): KsTwoSampleResult {
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('ksTwoSample: samples must not be empty');
  // walk the merged values; at each distinct value compare the two ECDFs (counts <= value)
  let i = 0;
  let j = 0;
  let maxS = Number.NEGATIVE_INFINITY;
  let minS = Number.POSITIVE_INFINITY;
  while (i < n1 || j < n2) {
    const v = j >= n2 || (i < n1 && x[i]! <= y[j]!) ? x[i]! : y[j]!;
    while (i < n1 && x[i]! <= v) i++;
    while (j < n2 && y[j]! <= v) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxS) maxS = diff;
    if (diff < minS) minS = diff;
  }
  const minGap = Math.min(Math.max(-minS, 0), 1);
  let d = Math.max(minGap, maxS);
  const g = gcd(n1, n2);
  let method: 'exact' | 'asymp' = Math.max(n1, n2) <= MAX_EXACT_N ? 'exact' : 'asymp';
  let p = Number.NaN;
  if (method === 'exact') {
    const lcm = (n1 / g) * n2;
    const h = roundHalfEven(d * lcm);
    d = h / lcm;
    if (h === 0) p = 1;
    else p = n1 === n2 ? equalSizesOutside(n1, h) : unequalSizesOutside(n1, n2, g, h);
    if (!(p >= 0 && p <= 1)) method = 'asymp';
  }
  if (method === 'asymp') {
    const m = Math.max(n1, n2);
    const n = Math.min(n1, n2);
    const en = (m * n) / (m + n);
    p = kstwoSf(d, roundHalfEven(en));
  }
  return { statistic: d, pValue: Math.min(1, Math.max(0, p)), method };
}

/** Evidently's KS drift test: two-sided `ks_2samp` p-value, drift when p ≤ threshold (0.05). Missing values are dropped. */
export function ksTest(
  reference: ArrayLike<DriftValue>,
  current: ArrayLike<DriftValue>,
  options: { threshold?: number } = {},
): DriftTestResult {
  const threshold = checkThreshold('ksTest', options.threshold ?? 0.05);
  const ref = numericSample('ksTest', 'reference', reference);
  const cur = numericSample('ksTest', 'current', current);
  const { pValue } = ksTwoSample(ref, cur);
  return { test: 'ks', kind: 'p_value', statistic: pValue, threshold, drifted: pValue <= threshold };
}
