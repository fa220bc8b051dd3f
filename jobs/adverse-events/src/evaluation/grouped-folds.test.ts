import { createRng, VigilError } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { groupedStratifiedFolds, nestedGroupedFolds } from './grouped-folds.js';

/**
 * A cohort as rows in shuffled order: `patients` patients with 1–20 rows each, ~20 % of
 * them with at least one positive row, spread over `sites` sites.
 */
function cohort(patients: number, sites: number, seed: number) {
  const rng = createRng(seed);
  const rows: { group: string; label: number; site: string }[] = [];
  for (let p = 0; p < patients; p++) {
    const id = `P${String(p).padStart(4, '0')}`;
    const site = `S${rng.int(sites)}`;
    const everPositive = rng.next() < 0.2;
    const count = 1 + rng.int(20);
    const positiveRow = rng.int(count);
    for (let r = 0; r < count; r++)
      rows.push({ group: id, label: everPositive && (r === positiveRow || rng.next() < 0.2) ? 1 : 0, site });
  }
  for (let i = rows.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [rows[i], rows[j]] = [rows[j]!, rows[i]!];
  }
  return {
    groups: rows.map((r) => r.group),
    labels: rows.map((r) => r.label),
    sites: rows.map((r) => r.site),
  };
}

/** Checks computed from the rows and the folds' test lists alone (not from the function's own maps or stats). */
function checkPartition(groups: string[], labels: number[], tests: number[][], by: string[] = groups) {
  const n = groups.length;
  // every row in exactly one fold
  expect(
    tests
      .flat()
      .slice()
      .sort((a, b) => a - b),
  ).toEqual(Array.from({ length: n }, (_, i) => i));
  // no group (patient, or site) in two folds
  const foldOf = new Map<string, number>();
  tests.forEach((rows, f) => {
    for (const i of rows) {
      const g = by[i]!;
      expect(foldOf.get(g) ?? f, `${g} is in folds ${foldOf.get(g)} and ${f}`).toBe(f);
      foldOf.set(g, f);
    }
  });
  const positivePatients = tests.map(
    (rows) => new Set(rows.filter((i) => labels[i] === 1).map((i) => groups[i]!)).size,
  );
  const patients = tests.map((rows) => new Set(rows.map((i) => groups[i]!)).size);
  return { positivePatients, patients };
}

const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs);

describe('groupedStratifiedFolds (patient-grouped)', () => {
  const data = cohort(300, 8, 1);

  it.each([2, 3, 5, 7, 10])(
    'k=%i: no patient in two folds, every row in one, positive patients balanced ±1',
    (k) => {
      const folds = groupedStratifiedFolds(data.groups, data.labels, { k, seed: 42 });
      const { positivePatients, patients } = checkPartition(
        data.groups,
        data.labels,
        folds.splits.map((s) => s.test),
      );
      expect(spread(positivePatients)).toBeLessThanOrEqual(1);
      expect(spread(patients)).toBeLessThanOrEqual(1);
      expect(positivePatients.reduce((a, b) => a + b)).toBe(
        new Set(data.groups.filter((_, i) => data.labels[i] === 1)).size,
      );
      for (const s of folds.splits) {
        // train is the complement of test
        const test = new Set(s.test);
        expect(s.train.length + s.test.length).toBe(data.groups.length);
        expect(s.train.some((i) => test.has(i))).toBe(false);
        // and shares no patient with it
        const testPatients = new Set(s.test.map((i) => data.groups[i]!));
        expect(s.train.some((i) => testPatients.has(data.groups[i]!))).toBe(false);
      }
      expect(folds.stats.map((s) => s.positivePatients)).toEqual(positivePatients);
    },
  );

  it('same seed → same folds; different seed → different folds; row order does not matter', () => {
    const a = groupedStratifiedFolds(data.groups, data.labels, { k: 5, seed: 7 });
    const b = groupedStratifiedFolds(data.groups, data.labels, { k: 5, seed: 7 });
    const c = groupedStratifiedFolds(data.groups, data.labels, { k: 5, seed: 8 });
    expect(Array.from(b.rowFold)).toEqual(Array.from(a.rowFold));
    expect(Array.from(c.rowFold)).not.toEqual(Array.from(a.rowFold));
    const reversed = groupedStratifiedFolds([...data.groups].reverse(), [...data.labels].reverse(), {
      k: 5,
      seed: 7,
    });
    expect(new Map(reversed.patientFold)).toEqual(new Map(a.patientFold));
  });

  it('refuses input it cannot fold, naming the reason', () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(VigilError);
        expect((e as VigilError).code).toBe('VIGIL_TRAINER_INVALID_DATASET');
        return (e as Error).message;
      }
      throw new Error('did not throw');
    };
    expect(err(() => groupedStratifiedFolds(['a', 'b'], [0, 1], { k: 3, seed: 1 }))).toMatch(
      /2 patients cannot fill 3 folds/,
    );
    expect(err(() => groupedStratifiedFolds(['a', 'b'], [0], { k: 2, seed: 1 }))).toMatch(
      /2 groups but 1 labels/,
    );
    expect(err(() => groupedStratifiedFolds(['a', 'b'], [0, 2], { k: 2, seed: 1 }))).toMatch(
      /labels\[1\] is 2/,
    );
    expect(err(() => groupedStratifiedFolds(['a', 'b'], [0, 1], { k: 1, seed: 1 }))).toMatch(/k must be/);
    expect(
      err(() => groupedStratifiedFolds(['a', 'b'], [0, 1], { k: 2, seed: 1, siteGrouped: true })),
    ).toMatch(/siteGrouped needs `sites`/);
    expect(
      err(() =>
        groupedStratifiedFolds(['a', 'a', 'b'], [0, 1, 0], {
          k: 2,
          seed: 1,
          siteGrouped: true,
          sites: ['x', 'y', 'x'],
        }),
      ),
    ).toMatch(/a patient appears at two sites/);
  });
});

describe('groupedStratifiedFolds (site-grouped)', () => {
  const data = cohort(400, 12, 2);

  it('puts whole sites (hence whole patients) in folds, with positive patients spread across them', () => {
    const folds = groupedStratifiedFolds(data.groups, data.labels, {
      k: 4,
      seed: 3,
      sites: data.sites,
      siteGrouped: true,
    });
    const tests = folds.splits.map((s) => s.test);
    checkPartition(data.groups, data.labels, tests, data.sites);
    const { positivePatients } = checkPartition(data.groups, data.labels, tests);
    const total = positivePatients.reduce((a, b) => a + b);
    // 12 sites of ~7 positive patients each into 4 folds: no fold far from a quarter
    for (const p of positivePatients) expect(Math.abs(p - total / 4)).toBeLessThanOrEqual(0.25 * total);
    expect(new Set(folds.siteFold!.values()).size).toBe(4);
    const again = groupedStratifiedFolds(data.groups, data.labels, {
      k: 4,
      seed: 3,
      sites: data.sites,
      siteGrouped: true,
    });
    expect(Array.from(again.rowFold)).toEqual(Array.from(folds.rowFold));
    const other = groupedStratifiedFolds(data.groups, data.labels, {
      k: 4,
      seed: 4,
      sites: data.sites,
      siteGrouped: true,
    });
    expect(Array.from(other.rowFold)).not.toEqual(Array.from(folds.rowFold));
  });

  it('needs at least k sites', () => {
    expect(() =>
      groupedStratifiedFolds(data.groups, data.labels, {
        k: 13,
        seed: 3,
        sites: data.sites,
        siteGrouped: true,
      }),
    ).toThrow(/12 sites cannot fill 13 folds/);
  });
});

describe('nestedGroupedFolds', () => {
  const data = cohort(250, 6, 3);

  it.each([false, true])(
    'inner folds partition each outer training part by patient (siteGrouped: %s)',
    (siteGrouped) => {
      const nested = nestedGroupedFolds(data.groups, data.labels, {
        outerK: 3,
        innerK: siteGrouped ? 2 : 4,
        seed: 11,
        sites: data.sites,
        siteGrouped,
      });
      const by = siteGrouped ? data.sites : data.groups;
      checkPartition(
        data.groups,
        data.labels,
        nested.folds.map((f) => f.test),
        by,
      );
      for (const outer of nested.folds) {
        const outerTest = new Set(outer.test);
        const outerTestPatients = new Set(outer.test.map((i) => data.groups[i]!));
        // the inner folds' test rows are exactly the outer training rows, each once
        expect(
          outer.inner
            .flatMap((s) => s.test)
            .slice()
            .sort((a, b) => a - b),
        ).toEqual(outer.train);
        const innerTests = outer.inner.map((s) => s.test);
        const byRow = (rows: number[]) => rows.map((i) => by[i]!);
        const seen = new Map<string, number>();
        innerTests.forEach((rows, f) => {
          for (const g of byRow(rows)) {
            expect(seen.get(g) ?? f).toBe(f);
            seen.set(g, f);
          }
        });
        for (const s of outer.inner)
          for (const i of [...s.train, ...s.test]) {
            expect(outerTest.has(i)).toBe(false);
            expect(outerTestPatients.has(data.groups[i]!)).toBe(false);
          }
      }
      const again = nestedGroupedFolds(data.groups, data.labels, {
        outerK: 3,
        innerK: siteGrouped ? 2 : 4,
        seed: 11,
        sites: data.sites,
        siteGrouped,
      });
      expect(again.folds).toEqual(nested.folds);
    },
  );

  it('balances positive patients ±1 in the inner folds too', () => {
    const nested = nestedGroupedFolds(data.groups, data.labels, { outerK: 5, innerK: 3, seed: 5 });
    for (const outer of nested.folds) {
      const positivePatients = outer.inner.map(
        (s) => new Set(s.test.filter((i) => data.labels[i] === 1).map((i) => data.groups[i]!)).size,
      );
      expect(spread(positivePatients)).toBeLessThanOrEqual(1);
    }
  });
});
