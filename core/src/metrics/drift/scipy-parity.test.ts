/**
 * The drift statistics against scipy, the independent source of truth. Seeded samples
 * go to a Python process in the pinned sklearn venv (scipy comes with it); the script
 * computes each statistic with scipy/numpy, gluing them together the way Evidently's
 * stattests do (value_counts over the key union, Sturges histograms, the PSI epsilon),
 * and every number must agree to relative 1e-9. The cases cover small and large n
 * (both KS paths: exact and asymptotic), ties, discrete data, identical samples,
 * disjoint samples and unseen categories; the test also checks that the comparison has
 * teeth (many non-trivial p-values; plausible-but-wrong variants fail it).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng, type Rng } from '../../random.js';
import { ensureSklearn, runSklearn, SKLEARN_VERSION } from '../../testing/sklearn.js';
import { binnedShares } from './binning.js';
import { chiSquare, chiSquareTest } from './chi-square.js';
import { frequencyTable } from './frequencies.js';
import { jensenShannonDistance, jensenShannonTest } from './jensen-shannon.js';
import { ksTest, ksTwoSample } from './ks-two-sample.js';
import { psiTest } from './psi.js';
import type { CategoryValue } from './sample.js';
import { chiSquareSf } from './special/gamma.js';
import { kstwoSf } from './special/kstwo.js';
import { populationStd, wassersteinDistance, wassersteinTest } from './wasserstein.js';
import { zTest } from './z-test.js';

const TOL = 1e-9;

const REFERENCE = `
import json, math, sys
from collections import Counter
import numpy as np
from scipy import stats
from scipy.spatial import distance

def enc(x):
    x = float(x)
    if math.isnan(x): return 'nan'
    if math.isinf(x): return 'inf' if x > 0 else '-inf'
    return x

def binned(r, c, numerical, fill):
    # evidently.legacy.calculations.stattests.utils.get_binned_data
    if numerical and len(set(r)) > 20:
        bins = np.histogram_bin_edges(np.asarray(r + c, dtype=np.float64), bins='sturges')
        rp = np.histogram(np.asarray(r, dtype=np.float64), bins)[0] / len(r)
        cp = np.histogram(np.asarray(c, dtype=np.float64), bins)[0] / len(c)
    else:
        keys = list(set(r) | set(c))
        rc, cc = Counter(r), Counter(c)
        rp = np.array([rc.get(k, 0) / len(r) for k in keys])
        cp = np.array([cc.get(k, 0) / len(c) for k in keys])
    if fill:
        for a in (rp, cp):
            m = min(a[a != 0])
            np.place(a, a == 0, m / 10**6 if m <= 0.0001 else 0.0001)
    return rp, cp

def chi(r, c):
    keys = list(set(r) | set(c))
    rc, cc = Counter(r), Counter(c)
    k_norm = len(c) / len(r)
    f_exp = [rc.get(k, 0) * k_norm for k in keys]
    f_obs = [cc.get(k, 0) for k in keys]
    with np.errstate(divide='ignore', invalid='ignore'):
        res = stats.chisquare(f_obs, f_exp)
    return res.statistic, res.pvalue

def z(r, c):
    if len(set(r)) == 1 and len(set(c)) == 1 and r[0] == c[0]:
        return 1
    key = sorted(set(r) | set(c))[0]
    a = [0 if x == key else 1 for x in r]
    b = [0 if x == key else 1 for x in c]
    n1, n2 = len(a), len(b)
    p1 = float(sum(a)) / n1
    p2 = float(sum(b)) / n2
    P = float(p1 * n1 + p2 * n2) / (n1 + n2)
    zs = (p1 - p2) / np.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2))
    return 2 * (1 - stats.norm.cdf(np.abs(zs)))

payload = json.load(open(sys.argv[1]))
out = {'numeric': [], 'categorical': [], 'vectors': []}
for case in payload['numeric']:
    r, c = case['ref'], case['cur']
    ks = stats.ks_2samp(r, c)
    w = stats.wasserstein_distance(r, c)
    jr, jc = binned(r, c, True, False)
    pr, pc = binned(r, c, True, True)
    out['numeric'].append({
        'ksD': enc(ks.statistic), 'ksP': enc(ks.pvalue),
        'w': enc(w), 'wNormed': enc(w / max(float(np.std(np.asarray(r))), 0.001)),
        'js': enc(distance.jensenshannon(jr, jc)),
        'psi': enc(np.sum((pr - pc) * np.log(pr / pc))),
        'bins': len(jr),
    })
for case in payload['categorical']:
    r, c = case['ref'], case['cur']
    jr, jc = binned(r, c, False, False)
    pr, pc = binned(r, c, False, True)
    chi_stat, chi_p = chi(r, c)
    out['categorical'].append({
        'chiStat': enc(chi_stat), 'chi': enc(chi_p), 'z': enc(z(r, c)),
        'js': enc(distance.jensenshannon(jr, jc)),
        'psi': enc(np.sum((pr - pc) * np.log(pr / pc))),
    })
for case in payload['vectors']:
    out['vectors'].append({
        'js': enc(distance.jensenshannon(case['p'], case['q'])),
        'js2': enc(distance.jensenshannon(case['p'], case['q'], 2)),
    })
json.dump(out, sys.stdout)
`;

interface NumericCase {
  name: string;
  ref: number[];
  cur: number[];
}
interface CategoricalCase {
  name: string;
  ref: CategoryValue[];
  cur: CategoryValue[];
}
type Encoded = number | 'nan' | 'inf' | '-inf';
interface Reference {
  numeric: {
    ksD: Encoded;
    ksP: Encoded;
    w: Encoded;
    wNormed: Encoded;
    js: Encoded;
    psi: Encoded;
    bins: number;
  }[];
  categorical: { chiStat: Encoded; chi: Encoded; z: Encoded; js: Encoded; psi: Encoded }[];
  vectors: { js: Encoded; js2: Encoded }[];
}

function decode(x: Encoded): number {
  if (x === 'nan') return Number.NaN;
  if (x === 'inf') return Number.POSITIVE_INFINITY;
  if (x === '-inf') return Number.NEGATIVE_INFINITY;
  return x;
}

/** Relative error; 0 when both are equal (incl. both 0, both NaN, same infinity). */
function relativeError(actual: number, expected: number): number {
  if (actual === expected || (Number.isNaN(actual) && Number.isNaN(expected))) return 0;
  return Math.abs(actual - expected) / Math.abs(expected);
}

function normals(rng: Rng, n: number, shift = 0, scale = 1): number[] {
  return Array.from({ length: n }, () => shift + scale * rng.normal());
}

function numericCases(): NumericCase[] {
  const rng = createRng('drift-parity-numeric');
  const cases: NumericCase[] = [];
  for (let s = 0; s < 120; s++) {
    const n1 = 1 + rng.int(60);
    const n2 = 1 + rng.int(80);
    const shift = [0, 0.4, 1.2][s % 3]!;
    cases.push({
      name: `continuous ${n1}/${n2} shift ${shift}`,
      ref: normals(rng, n1),
      cur: normals(rng, n2, shift),
    });
  }
  for (let s = 0; s < 40; s++) {
    const n = 5 + rng.int(200);
    const shift = [0, 0.5][s % 2]!;
    cases.push({
      name: `equal sizes ${n} shift ${shift}`,
      ref: normals(rng, n),
      cur: normals(rng, n, shift),
    });
  }
  for (let s = 0; s < 40; s++) {
    const n1 = 10 + rng.int(300);
    const n2 = 10 + rng.int(300);
    const shift = [0, 0.5][s % 2]!;
    const round = (x: number) => Math.round(x * 2) / 2;
    cases.push({
      name: `ties (half-integers) ${n1}/${n2}`,
      ref: normals(rng, n1).map(round),
      cur: normals(rng, n2, shift).map(round),
    });
  }
  for (let s = 0; s < 20; s++) {
    const n1 = 5 + rng.int(200);
    const n2 = 5 + rng.int(200);
    const levels = 2 + rng.int(6);
    cases.push({
      name: `discrete ${levels} levels ${n1}/${n2}`,
      ref: Array.from({ length: n1 }, () => rng.int(levels)),
      cur: Array.from({ length: n2 }, () => rng.int(levels) + (s % 2 === 0 ? 0 : rng.int(2))),
    });
  }
  for (let s = 0; s < 10; s++) {
    const ref = normals(rng, 3 + rng.int(300));
    cases.push({ name: `identical ${ref.length}`, ref, cur: [...ref] });
  }
  for (let s = 0; s < 12; s++) {
    const n1 = 1 + rng.int(300);
    const n2 = 1 + rng.int(300);
    cases.push({ name: `disjoint ${n1}/${n2}`, ref: normals(rng, n1), cur: normals(rng, n2, 1000) });
  }
  // D = 1/n: the exact value is 1 up to rounding, and where it rounds past 1 scipy falls back to the asymptotic path
  for (const n of [5, 37, 100, 1000]) {
    const ref = Array.from({ length: n }, (_, i) => i);
    cases.push({ name: `D = 1/n, n = ${n}`, ref, cur: [...ref.slice(0, -1), n - 0.5] });
  }
  for (const [n1, n2, shift] of [
    [500, 2000, 0],
    [1000, 3000, 0.1],
    [800, 10000, 0.05],
    [1000, 1000, 0.08],
    [999, 1001, 0],
    [3000, 7000, 0.04],
  ] as const)
    cases.push({ name: `exact, large ${n1}/${n2}`, ref: normals(rng, n1), cur: normals(rng, n2, shift) });
  // asymptotic path (max(n1, n2) > 10000), en = n1·n2/(n1+n2) across kstwo's regimes
  for (const [n1, n2, shift] of [
    [100, 12000, 0],
    [100, 12000, 0.6],
    [60, 10001, 0.25],
    [1000, 15000, 0],
    [1000, 15000, 0.15],
    [700, 11000, 1],
    [12000, 15000, 0.02],
    [3, 10500, 0],
    [1, 10001, 0],
  ] as const)
    cases.push({
      name: `asymptotic ${n1}/${n2} shift ${shift}`,
      ref: normals(rng, n1),
      cur: normals(rng, n2, shift),
    });
  return cases;
}

function categoricalCases(): CategoricalCase[] {
  const rng = createRng('drift-parity-categorical');
  const cases: CategoricalCase[] = [];
  const letters = 'abcdefgh';
  const draw = (weights: number[], n: number, values: CategoryValue[]) => {
    const total = weights.reduce((a, b) => a + b, 0);
    return Array.from({ length: n }, () => {
      let u = rng.next() * total;
      for (let i = 0; i < weights.length; i++) {
        u -= weights[i]!;
        if (u < 0) return values[i]!;
      }
      return values[values.length - 1]!;
    });
  };
  for (let s = 0; s < 150; s++) {
    const k = 2 + rng.int(7);
    const values: CategoryValue[] =
      s % 5 === 0 ? Array.from({ length: k }, (_, i) => i * 1.5) : Array.from(letters.slice(0, k));
    const weights = Array.from({ length: k }, () => 0.2 + rng.next());
    const drifted = s % 3 === 0 ? weights.map((w) => w * (0.5 + rng.next())) : weights;
    const n1 = 20 + rng.int(1500);
    const n2 = 20 + rng.int(1500);
    const ref = draw(weights, n1, values);
    const cur = draw(drifted, n2, values);
    if (s % 17 === 0) cur.push(typeof values[0] === 'number' ? 99 : 'z'); // a value the reference never saw
    cases.push({ name: `${k} categories ${n1}/${n2}${s % 3 === 0 ? ' drifted' : ''}`, ref, cur });
  }
  cases.push({ name: 'constant, same', ref: Array(40).fill('a'), cur: Array(30).fill('a') });
  cases.push({ name: 'constant, different', ref: Array(40).fill('a'), cur: Array(30).fill('b') });
  cases.push({
    name: 'booleans',
    ref: draw([1, 2], 300, [false, true]),
    cur: draw([1, 1], 200, [false, true]),
  });
  cases.push({
    name: 'binary, strong shift',
    ref: draw([9, 1], 900, ['x', 'y']),
    cur: draw([1, 1], 900, ['x', 'y']),
  });
  return cases;
}

function vectorCases(): { p: number[]; q: number[] }[] {
  const rng = createRng('drift-parity-vectors');
  return Array.from({ length: 40 }, (_, s) => {
    const k = 2 + rng.int(30);
    const p: number[] = Array.from({ length: k }, () => (rng.next() < 0.1 ? 0 : rng.next() * 10));
    const q: number[] =
      s % 4 === 0 ? [...p] : Array.from({ length: k }, () => (rng.next() < 0.1 ? 0 : rng.next()));
    if (!p.some((v) => v !== 0)) p[0] = 1;
    if (!q.some((v) => v !== 0)) q[0] = 1;
    return { p, q };
  });
}

describe(`drift statistics against scipy (sklearn venv ${SKLEARN_VERSION})`, () => {
  const numeric = numericCases();
  const categorical = categoricalCases();
  const vectors = vectorCases();
  let skipReason: string | undefined;
  let reference: Reference;
  const worst: Record<string, number> = {};
  const note = (name: string, err: number) => {
    worst[name] = Math.max(worst[name] ?? 0, err);
  };

  beforeAll(async () => {
    skipReason = await ensureSklearn();
    if (skipReason) return;
    reference = await runSklearn<Reference>(REFERENCE, { numeric, categorical, vectors });
  }, 600_000);

  const skipIfNoPython = (ctx: { skip: (note?: string) => void }) => {
    if (skipReason) {
      console.warn(`SKIPPED scipy parity: ${skipReason}`);
      ctx.skip(skipReason);
    }
  };

  it('KS two-sample: statistic and p-value equal ks_2samp (exact and asymptotic paths)', (ctx) => {
    skipIfNoPython(ctx);
    let interior = 0;
    let tiny = 0;
    let smallestP = 1;
    const methods: Record<'exact' | 'asymp', number> = { exact: 0, asymp: 0 };
    numeric.forEach((c, i) => {
      const r = reference.numeric[i]!;
      const mine = ksTwoSample(c.ref, c.cur);
      methods[mine.method]++;
      const p = decode(r.ksP);
      if (p > 1e-12 && p < 0.99) interior++;
      if (p > 0 && p <= 1e-12) tiny++;
      if (p > 0) smallestP = Math.min(smallestP, p);
      note('ks D', relativeError(mine.statistic, decode(r.ksD)));
      note('ks p', relativeError(mine.pValue, p));
      expect(mine.statistic, `${c.name}: D`).toBe(decode(r.ksD));
      expect(relativeError(mine.pValue, p), `${c.name}: p ${mine.pValue} vs scipy ${p}`).toBeLessThanOrEqual(
        TOL,
      );
      const test = ksTest(c.ref, c.cur);
      expect(test.drifted).toBe(p <= 0.05);
    });
    expect(interior, 'p-values strictly between 1e-12 and 0.99').toBeGreaterThanOrEqual(150);
    expect(tiny, 'p-values below 1e-12 (relative accuracy in the far tail)').toBeGreaterThanOrEqual(10);
    console.log(
      `KS: ${interior} p-values in (1e-12, 0.99), ${tiny} in (0, 1e-12], smallest ${smallestP.toExponential(2)}; exact ${methods.exact}, asymptotic ${methods.asymp}`,
    );
    expect(methods.exact).toBeGreaterThan(200);
    expect(methods.asymp).toBeGreaterThanOrEqual(9);
  });

  it('Wasserstein distance and its normed drift score equal wasserstein_distance / max(std, 0.001)', (ctx) => {
    skipIfNoPython(ctx);
    numeric.forEach((c, i) => {
      const r = reference.numeric[i]!;
      const w = wassersteinDistance(c.ref, c.cur);
      note('wasserstein', relativeError(w, decode(r.w)));
      expect(relativeError(w, decode(r.w)), `${c.name}: W ${w} vs ${r.w}`).toBeLessThanOrEqual(TOL);
      const t = wassersteinTest(c.ref, c.cur);
      note('wasserstein normed', relativeError(t.statistic, decode(r.wNormed)));
      expect(relativeError(t.statistic, decode(r.wNormed)), `${c.name}: normed`).toBeLessThanOrEqual(TOL);
    });
    expect(numeric.filter((_, i) => decode(reference.numeric[i]!.w) > 0).length).toBeGreaterThanOrEqual(240);
  });

  it('Jensen–Shannon and PSI on numerical columns equal scipy on Evidently’s binning', (ctx) => {
    skipIfNoPython(ctx);
    let histograms = 0;
    numeric.forEach((c, i) => {
      const r = reference.numeric[i]!;
      const shares = binnedShares(c.ref, c.cur, 'numerical');
      expect(shares.reference.length, `${c.name}: bins`).toBe(r.bins);
      if (shares.edges) histograms++;
      const js = jensenShannonTest(c.ref, c.cur, { columnType: 'numerical' }).statistic;
      const psi = psiTest(c.ref, c.cur, { columnType: 'numerical' }).statistic;
      note('jensenshannon (numerical)', relativeError(js, decode(r.js)));
      note('psi (numerical)', relativeError(psi, decode(r.psi)));
      expect(relativeError(js, decode(r.js)), `${c.name}: JS ${js} vs ${r.js}`).toBeLessThanOrEqual(TOL);
      expect(relativeError(psi, decode(r.psi)), `${c.name}: PSI ${psi} vs ${r.psi}`).toBeLessThanOrEqual(TOL);
    });
    expect(histograms, 'cases on the Sturges-histogram path').toBeGreaterThan(100);
  });

  it('chi-square, Z-test, Jensen–Shannon and PSI on categorical columns equal scipy', (ctx) => {
    skipIfNoPython(ctx);
    let chiInterior = 0;
    let zInterior = 0;
    let unseen = 0;
    categorical.forEach((c, i) => {
      const r = reference.categorical[i]!;
      const chi = chiSquareTest(c.ref, c.cur).statistic;
      const table = frequencyTable(c.ref, c.cur);
      const scale = c.cur.length / c.ref.length;
      const chiStat = chiSquare(
        table.current,
        table.reference.map((n) => n * scale),
      ).statistic;
      const z = zTest(c.ref, c.cur).statistic;
      const js = jensenShannonTest(c.ref, c.cur, { columnType: 'categorical' }).statistic;
      const psi = psiTest(c.ref, c.cur, { columnType: 'categorical' }).statistic;
      if (decode(r.chi) > 1e-10 && decode(r.chi) < 0.99) chiInterior++;
      if (decode(r.z) > 1e-10 && decode(r.z) < 0.99) zInterior++;
      if (decode(r.chi) === 0) unseen++;
      for (const [name, mine, theirs] of [
        ['chisquare statistic', chiStat, r.chiStat],
        ['chisquare', chi, r.chi],
        ['z', z, r.z],
        ['jensenshannon (categorical)', js, r.js],
        ['psi (categorical)', psi, r.psi],
      ] as const) {
        note(name, relativeError(mine, decode(theirs)));
        expect(
          relativeError(mine, decode(theirs)),
          `${c.name}: ${name} ${mine} vs ${theirs}`,
        ).toBeLessThanOrEqual(TOL);
      }
    });
    expect(chiInterior).toBeGreaterThanOrEqual(80);
    expect(zInterior).toBeGreaterThanOrEqual(80);
    expect(unseen, 'cases with a category unseen in the reference (p = 0)').toBeGreaterThanOrEqual(5);
  });

  it('jensenshannon on raw vectors, natural log and base 2', (ctx) => {
    skipIfNoPython(ctx);
    vectors.forEach((v, i) => {
      const r = reference.vectors[i]!;
      note('jensenshannon (vectors)', relativeError(jensenShannonDistance(v.p, v.q), decode(r.js)));
      expect(relativeError(jensenShannonDistance(v.p, v.q), decode(r.js))).toBeLessThanOrEqual(TOL);
      expect(relativeError(jensenShannonDistance(v.p, v.q, 2), decode(r.js2))).toBeLessThanOrEqual(TOL);
    });
  });

  it('the comparison has teeth: plausible but wrong variants fail it', (ctx) => {
    skipIfNoPython(ctx);
    const worstOf = (errors: number[]) => Math.max(...errors);
    // KS p from the asymptotic distribution where scipy uses the exact one
    const asympWhereExact = numeric.flatMap((c, i) => {
      const mine = ksTwoSample(c.ref, c.cur);
      if (mine.method !== 'exact' || mine.pValue === 1) return [];
      const en = (c.ref.length * c.cur.length) / (c.ref.length + c.cur.length);
      return [relativeError(kstwoSf(mine.statistic, Math.round(en)), decode(reference.numeric[i]!.ksP))];
    });
    expect(worstOf(asympWhereExact)).toBeGreaterThan(1e-3);
    // chi-square with one degree of freedom too many
    const wrongDf = categorical.flatMap((c, i) => {
      const r = reference.categorical[i]!;
      const p = decode(r.chi);
      if (!(p > 0 && p < 1)) return [];
      const keys = new Set([...c.ref, ...c.cur]).size;
      return [relativeError(chiSquareSf(decode(r.chiStat), keys), p)];
    });
    expect(worstOf(wrongDf)).toBeGreaterThan(1e-2);
    // Wasserstein normed by the sample (ddof 1) standard deviation
    const ddof1 = numeric.flatMap((c, i) => {
      if (c.ref.length < 2) return [];
      const n = c.ref.length;
      const std1 = populationStd(c.ref) * Math.sqrt(n / (n - 1));
      const wrong = wassersteinDistance(c.ref, c.cur) / Math.max(std1, 0.001);
      return [relativeError(wrong, decode(reference.numeric[i]!.wNormed))];
    });
    expect(worstOf(ddof1)).toBeGreaterThan(1e-3);
    // Jensen–Shannon in bits instead of nats
    const bits = vectors.map((v, i) =>
      relativeError(jensenShannonDistance(v.p, v.q, 2), decode(reference.vectors[i]!.js)),
    );
    expect(worstOf(bits)).toBeGreaterThan(1e-2);
  });

  it('reports the largest relative error per statistic', (ctx) => {
    skipIfNoPython(ctx);
    console.log(
      `scipy parity, max relative error over ${numeric.length} numerical, ${categorical.length} categorical and ${vectors.length} vector cases:\n${Object.entries(
        worst,
      )
        .map(([k, v]) => `  ${k}: ${v.toExponential(2)}`)
        .join('\n')}`,
    );
    for (const v of Object.values(worst)) expect(v).toBeLessThanOrEqual(TOL);
  });
});
