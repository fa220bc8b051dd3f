/**
 * Behaviour of the drift module without Python: each test detects an obvious shift,
 * Evidently's default selection and column types, the dataset share, determinism, and
 * bad input (every error a VIGIL_DRIFT_* naming the argument).
 */
import { describe, expect, it } from 'vitest';
import { isVigilError } from '../../errors.js';
import { createRng, type Rng } from '../../random.js';
import { chiSquare, chiSquareTest } from './chi-square.js';
import { columnDrift } from './column-drift.js';
import { inferColumnType, inferDtype } from './column-type.js';
import { datasetDrift } from './dataset-drift.js';
import { driftTests } from './drift-tests.js';
import { jensenShannonTest } from './jensen-shannon.js';
import { ksTest, ksTwoSample } from './ks-two-sample.js';
import { psiTest } from './psi.js';
import { defaultDriftTest } from './select.js';
import { wassersteinTest } from './wasserstein.js';
import { zTest } from './z-test.js';

function normals(rng: Rng, n: number, shift = 0): number[] {
  return Array.from({ length: n }, () => shift + rng.normal());
}

function pick<T>(rng: Rng, n: number, weights: number[], values: T[]): T[] {
  return Array.from({ length: n }, () => {
    let u = rng.next();
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i]!;
      if (u < 0) return values[i]!;
    }
    return values[values.length - 1]!;
  });
}

function expectVigil(fn: () => unknown, code: string, ...fragments: string[]): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(isVigilError(error), `expected a VigilError, got ${String(error)}`).toBe(true);
  const e = error as { code: string; message: string };
  expect(e.code).toBe(code);
  for (const f of fragments) expect(e.message).toContain(f);
}

describe('each test detects an obvious shift', () => {
  const rng = createRng('drift-shift');
  it('KS', () => {
    const r = ksTest(normals(rng, 100), normals(rng, 100, 1));
    expect(r).toMatchObject({ test: 'ks', kind: 'p_value', threshold: 0.05, drifted: true });
    expect(r.statistic).toBeLessThan(1e-6);
  });
  it('chi-square', () => {
    const v = ['a', 'b', 'c'];
    const r = chiSquareTest(pick(rng, 500, [0.5, 0.3, 0.2], v), pick(rng, 500, [0.2, 0.3, 0.5], v));
    expect(r).toMatchObject({ test: 'chisquare', drifted: true });
    expect(r.statistic).toBeLessThan(1e-10);
  });
  it('Z-test', () => {
    const r = zTest(pick(rng, 400, [0.8, 0.2], [0, 1]), pick(rng, 400, [0.4, 0.6], [0, 1]));
    expect(r).toMatchObject({ test: 'z', drifted: true });
  });
  it('Wasserstein (normed)', () => {
    const r = wassersteinTest(normals(rng, 2000), normals(rng, 2000, 0.5));
    expect(r).toMatchObject({ test: 'wasserstein', kind: 'distance', threshold: 0.1, drifted: true });
    expect(r.statistic).toBeGreaterThan(0.4);
    expect(r.statistic).toBeLessThan(0.6);
  });
  it('Jensen–Shannon, categorical and numerical', () => {
    const v = ['a', 'b', 'c', 'd'];
    expect(
      jensenShannonTest(pick(rng, 2000, [0.4, 0.3, 0.2, 0.1], v), pick(rng, 2000, [0.1, 0.2, 0.3, 0.4], v))
        .drifted,
    ).toBe(true);
    expect(jensenShannonTest(normals(rng, 2000), normals(rng, 2000, 1)).drifted).toBe(true);
  });
  it('PSI', () => {
    const r = psiTest(normals(rng, 2000), normals(rng, 2000, 1));
    expect(r).toMatchObject({ test: 'psi', drifted: true });
  });
  it('a category the reference never saw is drift (chi-square p = 0)', () => {
    const r = chiSquareTest(['a', 'b', 'c', 'a', 'b', 'c'], ['a', 'b', 'c', 'd']);
    expect(r.statistic).toBe(0);
    expect(r.drifted).toBe(true);
  });
  it('constant and equal columns are not drift (Z-test p = 1)', () => {
    expect(zTest(['x', 'x', 'x'], ['x', 'x'])).toMatchObject({ statistic: 1, drifted: false });
  });
  it('the INTEROP vector: reference [16,18,16,14,12,12] vs current [16,16,16,16,16,8] → p = 0.67309', () => {
    const expand = (counts: number[]) => counts.flatMap((c, i) => Array<number>(c).fill(i));
    const r = chiSquareTest(expand([16, 18, 16, 14, 12, 12]), expand([16, 16, 16, 16, 16, 8]));
    expect(r.statistic).toBeCloseTo(0.67309, 5);
  });
});

describe("Evidently's default test selection", () => {
  it('follows the table by column type, reference rows and distinct values', () => {
    const table: [Parameters<typeof defaultDriftTest>, string][] = [
      [['numerical', 1000, 2], 'z'],
      [['numerical', 1000, 3], 'chisquare'],
      [['numerical', 1000, 5], 'chisquare'],
      [['numerical', 1000, 6], 'ks'],
      [['numerical', 1001, 5], 'jensenshannon'],
      [['numerical', 1001, 6], 'wasserstein'],
      [['categorical', 1000, 2], 'z'],
      [['categorical', 1000, 3], 'chisquare'],
      [['categorical', 1001, 2], 'jensenshannon'],
      [['categorical', 1001, 50], 'jensenshannon'],
    ];
    for (const [args, test] of table) expect(defaultDriftTest(...args), args.join(', ')).toBe(test);
  });

  it('columnDrift counts rows after dropping missing values and distinct values over reference ∪ current', () => {
    const rng = createRng('drift-select');
    const ref: (number | null)[] = normals(rng, 1005);
    for (let i = 0; i < 10; i++) ref[i * 7] = i % 2 ? null : Number.NaN;
    const r = columnDrift(ref, normals(rng, 300));
    expect(r).toMatchObject({
      test: 'ks',
      displayName: 'K-S p_value',
      columnType: 'numerical',
      referenceRows: 995,
    });
    expect(columnDrift(normals(rng, 1001), normals(rng, 300)).test).toBe('wasserstein');
    // {a, b} ∪ {c}: three values → chi-square, not Z
    expect(columnDrift(['a', 'b', 'a', 'b'], ['c', 'c']).test).toBe('chisquare');
    expect(columnDrift(['a', 'b', 'a', 'b'], ['a', 'a']).test).toBe('z');
    const floats = (n: number, k: number) => Array.from({ length: n }, (_, i) => (i % k) + 0.5);
    expect(columnDrift(floats(500, 2), floats(200, 2)).test).toBe('z');
    expect(columnDrift(floats(500, 4), floats(200, 4)).test).toBe('chisquare');
    expect(columnDrift(floats(2000, 4), floats(200, 4)).test).toBe('jensenshannon');
    const letters = pick(rng, 1500, [0.5, 0.5], ['a', 'b']);
    expect(columnDrift(letters, letters.slice(0, 100))).toMatchObject({
      test: 'jensenshannon',
      displayName: 'Jensen-Shannon distance',
      columnType: 'categorical',
    });
  });

  it('an explicit test and threshold override the defaults; the test must accept the column type', () => {
    const rng = createRng('drift-explicit');
    const r = columnDrift(normals(rng, 200), normals(rng, 200), { test: 'psi', threshold: 0.2 });
    expect(r).toMatchObject({ test: 'psi', threshold: 0.2, displayName: 'PSI' });
    expectVigil(
      () => columnDrift(['a', 'b'], ['a'], { test: 'ks', type: 'categorical' }),
      'VIGIL_DRIFT_UNSUPPORTED',
      'ks',
      'categorical',
    );
    expectVigil(
      () => columnDrift([1, 2], [1], { test: 'nope' as 'ks' }),
      'VIGIL_DRIFT_INVALID_INPUT',
      'test is "nope"',
    );
  });

  it('every registered test has a display name, default threshold and rule as Evidently registers it', () => {
    expect(Object.values(driftTests).map((t) => [t.name, t.displayName, t.defaultThreshold, t.rule])).toEqual(
      [
        ['ks', 'K-S p_value', 0.05, 'at-or-below'],
        ['chisquare', 'chi-square p_value', 0.05, 'below'],
        ['z', 'Z-test p_value', 0.05, 'below'],
        ['wasserstein', 'Wasserstein distance (normed)', 0.1, 'at-or-above'],
        ['jensenshannon', 'Jensen-Shannon distance', 0.1, 'at-or-above'],
        ['psi', 'PSI', 0.1, 'at-or-above'],
      ],
    );
  });
});

describe("Evidently's column types", () => {
  const ints = (k: number) => Array.from({ length: 100 }, (_, i) => i % k);
  it('reads a pandas-like dtype from the values', () => {
    expect(inferDtype([1, 2, 3])).toBe('int');
    expect(inferDtype([1, 2, null])).toBe('float');
    expect(inferDtype([1.5, 2])).toBe('float');
    expect(inferDtype([true, false])).toBe('bool');
    expect(inferDtype(['a', null])).toBe('string');
  });
  it('current rule: int ≤ 10 distinct → categorical, float → numerical, strings → text when mostly distinct', () => {
    expect(inferColumnType(ints(20), ints(10))).toBe('categorical');
    expect(inferColumnType(ints(20), ints(11))).toBe('numerical');
    expect(inferColumnType(ints(3), ints(3), { dtype: 'float' })).toBe('numerical');
    expect(inferColumnType([], [true, false])).toBe('categorical');
    expect(inferColumnType([], ['a', 'b', 'a', 'b'])).toBe('categorical');
    expect(inferColumnType([], ['a', 'b', 'c', 'a'])).toBe('text');
  });
  it('legacy rule: int ≤ 5 distinct in the reference → categorical; strings → categorical', () => {
    expect(inferColumnType(ints(5), ints(9), { rule: 'legacy' })).toBe('categorical');
    expect(inferColumnType(ints(6), ints(2), { rule: 'legacy' })).toBe('numerical');
    expect(inferColumnType([], ['a', 'b', 'c', 'd'], { rule: 'legacy' })).toBe('categorical');
  });
  it('an int column with 7 distinct values: chi-square under the current rule, KS under the legacy one', () => {
    expect(columnDrift(ints(7), ints(7)).test).toBe('chisquare');
    expect(columnDrift(ints(7), ints(7), { rule: 'legacy' }).test).toBe('ks');
  });
  it('a text column is refused with a hint to declare it categorical', () => {
    expectVigil(
      () => columnDrift(['a', 'b', 'c'], ['x', 'y', 'z']),
      'VIGIL_DRIFT_UNSUPPORTED',
      "type 'categorical'",
    );
    expect(columnDrift(['a', 'b', 'c'], ['x', 'y', 'z'], { type: 'categorical' }).test).toBe('chisquare');
  });
});

describe('dataset drift', () => {
  const rng = createRng('drift-dataset');
  const still = () => ({ reference: normals(rng, 300), current: normals(rng, 300) });
  const moved = () => ({ reference: normals(rng, 300), current: normals(rng, 300, 2) });

  it('is the share of drifted columns against drift_share 0.5 (≥)', () => {
    const half = datasetDrift([
      { name: 'a', ...moved() },
      { name: 'b', ...still() },
      { name: 'c', ...moved() },
      { name: 'd', ...still() },
    ]);
    expect(half).toMatchObject({ driftedColumns: 2, share: 0.5, driftShare: 0.5, drifted: true });
    expect(half.columns.map((c) => [c.column, c.test, c.drifted])).toEqual([
      ['a', 'ks', true],
      ['b', 'ks', false],
      ['c', 'ks', true],
      ['d', 'ks', false],
    ]);
    const third = datasetDrift([
      { name: 'a', ...moved() },
      { name: 'b', ...still() },
      { name: 'c', ...still() },
    ]);
    expect(third).toMatchObject({ driftedColumns: 1, drifted: false });
    expect(third.share).toBeCloseTo(1 / 3, 15);
    expect(
      datasetDrift(
        [
          { name: 'a', ...moved() },
          { name: 'b', ...still() },
          { name: 'c', ...still() },
        ],
        { driftShare: 0.3 },
      ).drifted,
    ).toBe(true);
  });

  it('takes per-column type, test and threshold', () => {
    const d = datasetDrift([
      { name: 'site', reference: ['x', 'y', 'x', 'y'], current: ['x', 'x', 'x', 'y'] },
      { name: 'hr', ...still(), test: 'wasserstein', threshold: 0.5 },
    ]);
    expect(d.columns.map((c) => [c.column, c.columnType, c.test, c.threshold])).toEqual([
      ['site', 'categorical', 'z', 0.05],
      ['hr', 'numerical', 'wasserstein', 0.5],
    ]);
  });
});

describe('determinism and missing values', () => {
  it('the same samples in another order give the same results', () => {
    const rng = createRng('drift-order');
    const ref = normals(rng, 400);
    const cur = normals(rng, 300, 0.1);
    const shuffled = [...ref].reverse();
    expect(ksTwoSample(shuffled, cur)).toEqual(ksTwoSample(ref, cur));
    expect(wassersteinTest(shuffled, cur)).toEqual(wassersteinTest(ref, cur));
    expect(psiTest(shuffled, cur)).toEqual(psiTest(ref, cur));
  });
  it('null, undefined, NaN and ±Infinity are dropped, as Evidently does', () => {
    const ref = [0.1, 0.5, 0.9, 1.3, 2.2, 3.1];
    const cur = [0.2, 0.4, 1.1, 2.5];
    const dirty = [null, ...ref, Number.NaN, undefined, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    expect(ksTest(dirty, [...cur, Number.NaN])).toEqual(ksTest(ref, cur));
    expect(chiSquareTest(['a', null, 'b', 'a'], ['a', undefined, 'b'])).toEqual(
      chiSquareTest(['a', 'b', 'a'], ['a', 'b']),
    );
  });
});

describe('bad input is a VIGIL_DRIFT_* error naming the argument', () => {
  it('an empty sample, or one that is empty once missing values are dropped', () => {
    expectVigil(() => ksTest([], [1, 2]), 'VIGIL_DRIFT_INVALID_INPUT', 'ksTest', 'reference is empty');
    expectVigil(
      () => ksTest([1, 2], [Number.NaN, null, Number.POSITIVE_INFINITY]),
      'VIGIL_DRIFT_INVALID_INPUT',
      'current is empty after dropping its 3 missing values',
    );
    expectVigil(() => zTest(['a'], []), 'VIGIL_DRIFT_INVALID_INPUT', 'zTest', 'current is empty');
    expectVigil(
      () => columnDrift([null], [1], {}, 'hr'),
      'VIGIL_DRIFT_INVALID_INPUT',
      'columnDrift("hr")',
      'reference',
    );
  });
  it('a value of the wrong kind', () => {
    expectVigil(
      () => wassersteinTest([1, 2], [1, 'x' as unknown as number]),
      'VIGIL_DRIFT_INVALID_INPUT',
      'current[1] is "x"',
      'numbers only',
    );
    expectVigil(
      () => chiSquareTest(['a', 1 as unknown as string], ['a']),
      'VIGIL_DRIFT_INVALID_INPUT',
      'reference[1]',
    );
    expectVigil(
      () => chiSquareTest(['a', 'b'], [1, 2]),
      'VIGIL_DRIFT_INVALID_INPUT',
      'current[0]',
      'strings',
    );
    expectVigil(
      () => ksTest(undefined as unknown as number[], [1]),
      'VIGIL_DRIFT_INVALID_INPUT',
      'reference must be an array',
    );
  });
  it('invalid options', () => {
    expectVigil(() => ksTest([1], [2], { threshold: Number.NaN }), 'VIGIL_DRIFT_INVALID_INPUT', 'threshold');
    expectVigil(
      () => columnDrift([1], [2], { type: 'text' as 'numerical' }),
      'VIGIL_DRIFT_INVALID_INPUT',
      'type is text',
    );
    expectVigil(() => datasetDrift([]), 'VIGIL_DRIFT_INVALID_INPUT', 'columns is empty');
    expectVigil(
      () =>
        datasetDrift([
          { name: 'a', reference: [1], current: [1] },
          { name: 'a', reference: [1], current: [1] },
        ]),
      'VIGIL_DRIFT_INVALID_INPUT',
      'column "a" is given twice',
    );
    expectVigil(
      () => datasetDrift([{ name: 'a', reference: [1], current: [1] }], { driftShare: 2 }),
      'VIGIL_DRIFT_INVALID_INPUT',
      'driftShare',
    );
    expectVigil(
      () => chiSquare([1, 2], [1, 1]),
      'VIGIL_DRIFT_INVALID_INPUT',
      'expected counts sum to 2 but observed counts to 3',
    );
  });
});
