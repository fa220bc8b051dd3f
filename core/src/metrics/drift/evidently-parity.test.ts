/**
 * The drift module against Evidently itself (pinned venv, evidently 0.7.21): seeded
 * datasets go through `Report([DataDriftPreset()], include_tests=True)`, Evidently's own
 * column-type inference, default test selection and thresholds; for every column the
 * test's display name, threshold, score (relative 1e-9) and drift verdict must match
 * `datasetDrift` here, and so must the drifted-column count, share and dataset verdict.
 * The datasets cover both sides of the 1000-row switch, int columns on both sides of
 * Evidently's 10-distinct-values rule, floats with 2 and 3–5 values, strings, booleans,
 * missing values, a category unseen in the reference, constant columns, and a current
 * sample beyond 10 000 rows (KS on its asymptotic path).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng, type Rng } from '../../random.js';
import { EVIDENTLY_VERSION, ensureEvidently, runEvidently } from '../../testing/evidently.js';
import { type DatasetDriftResult, datasetDrift } from './dataset-drift.js';
import type { DriftValue } from './sample.js';

const TOL = 1e-9;

const REFERENCE = `
import json, math, sys, warnings
warnings.filterwarnings('ignore')
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

def enc(x):
    x = float(x)
    if math.isnan(x): return 'nan'
    if math.isinf(x): return 'inf' if x > 0 else '-inf'
    return x

out = []
for case in json.load(open(sys.argv[1])):
    reference = pd.DataFrame(case['reference'])
    current = pd.DataFrame(case['current'])
    d = Report([DataDriftPreset()], include_tests=True).run(current, reference).dict()
    columns = {}
    dataset = None
    for m in d['metrics']:
        cfg = m['config']
        if cfg['type'].endswith(':ValueDrift'):
            columns[cfg['column']] = {'method': cfg['method'], 'threshold': cfg['threshold'], 'score': enc(m['value'])}
        elif cfg['type'].endswith(':DriftedColumnsCount'):
            dataset = {'count': m['value']['count'], 'share': m['value']['share']}
    for t in d['tests']:
        params = t['metric_config']['params']
        failed = str(t['status']).endswith('FAIL')
        if params['type'].endswith(':ValueDrift'):
            columns[params['column']]['drifted'] = failed
        elif params['type'].endswith(':DriftedColumnsCount'):
            dataset['drifted'] = failed
    out.append({'columns': columns, 'dataset': dataset})
json.dump(out, sys.stdout)
`;

type Column = DriftValue[];
interface Case {
  name: string;
  reference: Record<string, Column>;
  current: Record<string, Column>;
}
type Encoded = number | 'nan' | 'inf' | '-inf';
interface EvidentlyResult {
  columns: Record<string, { method: string; threshold: number; score: Encoded; drifted: boolean }>;
  dataset: { count: number; share: number; drifted: boolean };
}

const decode = (x: Encoded) =>
  x === 'nan'
    ? Number.NaN
    : x === 'inf'
      ? Number.POSITIVE_INFINITY
      : x === '-inf'
        ? Number.NEGATIVE_INFINITY
        : x;

function relativeError(actual: number, expected: number): number {
  if (actual === expected || (Number.isNaN(actual) && Number.isNaN(expected))) return 0;
  return Math.abs(actual - expected) / Math.abs(expected);
}

function pick<T>(rng: Rng, n: number, weights: number[], values: T[]): T[] {
  const total = weights.reduce((a, b) => a + b, 0);
  return Array.from({ length: n }, () => {
    let u = rng.next() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i]!;
      if (u < 0) return values[i]!;
    }
    return values[values.length - 1]!;
  });
}

/** A dataset whose columns exercise every branch of Evidently's type inference and test table. */
function makeCase(name: string, seed: string, nRef: number, nCur: number, drift: number): Case {
  const rng = createRng(seed);
  const normals = (n: number, shift: number) => Array.from({ length: n }, () => shift + rng.normal());
  const withGaps = (values: DriftValue[], every: number) =>
    values.map((v, i) => (i % every === 3 ? null : v));
  const side = (n: number, shift: number): Record<string, Column> => ({
    float: normals(n, shift),
    float_nan: withGaps(normals(n, shift / 2), 17),
    float_two: pick(rng, n, [0.6, 0.4 + shift], [0.25, 1.75]),
    float_four: pick(rng, n, [1, 1, 1, 1 + 2 * shift], [0.5, 1.5, 2.5, 3.5]),
    int_few: pick(rng, n, [3, 2, 1 + shift], [0, 1, 2]),
    int_seven: pick(rng, n, [1, 1, 1, 1, 1, 1, 1 + 3 * shift], [1, 2, 3, 4, 5, 6, 7]),
    int_many: Array.from({ length: n }, () => Math.floor(20 * rng.next() + 10 * shift)),
    int_gaps: withGaps(
      Array.from({ length: n }, () => Math.floor(30 * rng.next())),
      11,
    ),
    site: pick(rng, n, [0.5, 0.3, 0.2 + shift], ['north', 'south', 'east']),
    flag: pick(rng, n, [0.7, 0.3 + shift], [false, true]),
    arm: pick(rng, n, [0.5, 0.5 + shift], ['control', 'treated']),
  });
  return { name, reference: side(nRef, 0), current: side(nCur, drift) };
}

function cases(): Case[] {
  const list = [
    makeCase('small reference, no drift', 'ev-1', 300, 250, 0),
    makeCase('small reference, drift', 'ev-2', 400, 300, 0.6),
    makeCase('1000 reference rows (last row of the small-sample table)', 'ev-3', 1000, 500, 0.15),
    makeCase('1001 reference rows', 'ev-4', 1001, 500, 0.15),
    makeCase('large reference, no drift', 'ev-5', 1500, 1200, 0),
    makeCase('large reference, drift', 'ev-6', 2000, 1500, 0.5),
  ];
  // KS on its asymptotic path: current beyond 10 000 rows
  const rng = createRng('ev-asymp');
  const big = (n: number, shift: number) => Array.from({ length: n }, () => shift + rng.normal());
  list.push({
    name: 'current beyond 10 000 rows',
    reference: { a: big(600, 0), b: big(600, 0) },
    current: { a: big(12000, 0), b: big(12000, 0.08) },
  });
  // an unseen category, constant columns (equal and different)
  const letters = createRng('ev-edge');
  list.push({
    name: 'unseen category and constant columns',
    reference: {
      site: pick(letters, 300, [1, 1, 1], ['a', 'b', 'c']),
      same: Array(300).fill('x'),
      moved: Array(300).fill('x'),
      level: pick(letters, 300, [1, 1], [3, 4]),
    },
    current: {
      site: [...pick(letters, 200, [1, 1, 1], ['a', 'b', 'c']), 'd'],
      same: Array(201).fill('x'),
      moved: Array(201).fill('y'),
      level: pick(letters, 201, [1, 1], [3, 4]),
    },
  });
  return list;
}

describe(`drift module against Evidently ${EVIDENTLY_VERSION}`, () => {
  const all = cases();
  let skipReason: string | undefined;
  let reference: EvidentlyResult[];
  let worst = 0;

  beforeAll(async () => {
    skipReason = await ensureEvidently();
    if (skipReason) return;
    reference = await runEvidently<EvidentlyResult[]>(REFERENCE, all);
  }, 900_000);

  all.forEach((c, k) => {
    it(c.name, (ctx) => {
      if (skipReason) {
        console.warn(`SKIPPED Evidently parity: ${skipReason}`);
        ctx.skip(skipReason);
      }
      const ev = reference[k]!;
      const mine: DatasetDriftResult = datasetDrift(
        Object.keys(c.reference).map((name) => ({
          name,
          reference: c.reference[name]!,
          current: c.current[name]!,
        })),
      );
      expect(Object.keys(ev.columns).sort()).toEqual(mine.columns.map((m) => m.column).sort());
      for (const m of mine.columns) {
        const e = ev.columns[m.column!]!;
        const what = `${c.name} / ${m.column}`;
        expect(m.displayName, `${what}: test`).toBe(e.method);
        expect(m.threshold, `${what}: threshold`).toBe(e.threshold);
        const err = relativeError(m.statistic, decode(e.score));
        worst = Math.max(worst, err);
        expect(err, `${what}: ${m.displayName} ${m.statistic} vs Evidently ${e.score}`).toBeLessThanOrEqual(
          TOL,
        );
        expect(m.drifted, `${what}: drifted`).toBe(e.drifted);
      }
      expect(mine.driftedColumns).toBe(ev.dataset.count);
      expect(mine.share).toBe(ev.dataset.share);
      expect(mine.drifted).toBe(ev.dataset.drifted);
    });
  });

  it('covers every default test and both verdicts', (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    const methods = new Set(reference.flatMap((r) => Object.values(r.columns).map((c) => c.method)));
    expect([...methods].sort()).toEqual([
      'Jensen-Shannon distance',
      'K-S p_value',
      'Wasserstein distance (normed)',
      'Z-test p_value',
      'chi-square p_value',
    ]);
    const verdicts = new Set(reference.flatMap((r) => Object.values(r.columns).map((c) => c.drifted)));
    expect(verdicts).toEqual(new Set([true, false]));
    expect(new Set(reference.map((r) => r.dataset.drifted))).toEqual(new Set([true, false]));
    console.log(
      `Evidently ${EVIDENTLY_VERSION} parity: max relative error of column scores ${worst.toExponential(2)}`,
    );
  });
});
