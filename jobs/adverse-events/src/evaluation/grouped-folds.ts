import { createRng, VigilError } from '@vigil/core';
import { assertNoTestPatients } from './without-test-patients.js';

export interface GroupedFoldsOptions {
  /** Number of folds (≥ 2, ≤ the number of patients, or of sites when site-grouped). */
  k: number;
  /** Seed of the shuffle that breaks ties between patients (every random choice takes one). */
  seed: number | string;
  /** Site of each row, in row order; needed when `siteGrouped`. */
  sites?: readonly string[];
  /** Put whole sites in folds (each site's patients together), not just whole patients. Default false. */
  siteGrouped?: boolean;
  /**
   * The held-out test patients (the training-set step's `split.test`). Rows must already
   * be without them (see `withoutTestPatients`); if any row belongs to one, this throws
   * rather than let a test patient reach CV or tuning.
   */
  testPatients?: Iterable<string>;
}

/** One fold as row indices (ascending) into the rows the folds were made from. */
export interface FoldSplit {
  fold: number;
  /** Rows of the other folds: what a model is fitted (or tuned) on. */
  train: number[];
  /** Rows of this fold: what it is scored on. */
  test: number[];
}

export interface FoldStats {
  patients: number;
  positivePatients: number;
  rows: number;
  positiveRows: number;
}

export interface GroupedFolds {
  k: number;
  /** Fold of each row. */
  rowFold: Int32Array;
  /** Fold of each patient. */
  patientFold: ReadonlyMap<string, number>;
  /** Fold of each site; only when site-grouped. */
  siteFold?: ReadonlyMap<string, number>;
  /** For fold i: rows of every other fold as train, its own rows as test. */
  splits: FoldSplit[];
  /** Counts per fold, for the summary (a fold without a positive patient cannot give an AUROC). */
  stats: FoldStats[];
}

/** A unit dealt to a fold whole: a patient, or a site with its patients. */
interface Unit {
  id: string;
  patients: number;
  positivePatients: number;
  rows: number;
}

function invalid(message: string, details?: Record<string, unknown>): VigilError {
  return new VigilError('VIGIL_TRAINER_INVALID_DATASET', message, details ? { details } : {});
}

/**
 * Patient-grouped, stratified k-fold assignment: every patient (or, with `siteGrouped`,
 * every site) lies wholly in one fold, and patients are stratified by whether they ever
 * have a positive row.
 *
 * Patient-grouped: positive patients are dealt first, each to the fold with the fewest
 * positive patients, then negative patients, each to the fold with the fewest patients
 * (ties to the fold with fewer rows, then the lower index; the order within each class
 * is a seeded shuffle). So the folds' positive-patient counts differ by at most one, and
 * so do their patient counts; row counts follow the patients' row counts.
 *
 * Site-grouped: sites are dealt in descending order of positive patients (seeded order
 * among equals) to the fold with the fewest positive patients, then fewest patients;
 * balance is as close as the site sizes allow, not ±1.
 */
export function groupedStratifiedFolds(
  groups: readonly string[],
  labels: ArrayLike<number>,
  options: GroupedFoldsOptions,
): GroupedFolds {
  const { k, siteGrouped = false } = options;
  const n = groups.length;
  if (labels.length !== n) throw invalid(`grouped folds: ${n} groups but ${labels.length} labels`);
  if (!Number.isInteger(k) || k < 2) throw invalid(`grouped folds: k must be an integer ≥ 2, got ${k}`);
  for (let i = 0; i < n; i++) {
    if (labels[i] !== 0 && labels[i] !== 1)
      throw invalid(`grouped folds: labels[${i}] is ${labels[i]}; labels must be 0 or 1`);
    if (typeof groups[i] !== 'string' || groups[i] === '')
      throw invalid(`grouped folds: groups[${i}] is not a patient id`);
  }
  if (options.testPatients) assertNoTestPatients(groups, options.testPatients);
  if (siteGrouped && options.sites === undefined)
    throw invalid('grouped folds: siteGrouped needs `sites`, one per row');
  if (options.sites !== undefined && options.sites.length !== n)
    throw invalid(`grouped folds: ${n} groups but ${options.sites.length} sites`);

  // per patient: rows and whether ever positive; and its site, which must be unique
  const patientRows = new Map<string, number>();
  const patientPositive = new Map<string, boolean>();
  const patientSite = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const p = groups[i]!;
    patientRows.set(p, (patientRows.get(p) ?? 0) + 1);
    patientPositive.set(p, patientPositive.get(p) === true || labels[i] === 1);
    if (siteGrouped) {
      const site = options.sites![i]!;
      const seen = patientSite.get(p);
      if (seen !== undefined && seen !== site)
        throw invalid(
          `grouped folds: a patient appears at two sites (${seen}, ${site}); site-grouped folds need one site per patient`,
          {
            row: i,
          },
        );
      patientSite.set(p, site);
    }
  }

  const units = new Map<string, Unit>();
  for (const [p, rows] of patientRows) {
    const id = siteGrouped ? patientSite.get(p)! : p;
    const u = units.get(id) ?? { id, patients: 0, positivePatients: 0, rows: 0 };
    u.patients++;
    u.rows += rows;
    if (patientPositive.get(p)) u.positivePatients++;
    units.set(id, u);
  }
  const what = siteGrouped ? 'sites' : 'patients';
  if (units.size < k)
    throw invalid(`grouped folds: ${units.size} ${what} cannot fill ${k} folds`, { [what]: units.size, k });

  // seeded shuffle of the sorted ids (independent of row order), then a stable sort by positives
  const order = [...units.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const rng = createRng(options.seed).fork(siteGrouped ? 'site-grouped-folds' : 'patient-grouped-folds');
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  order.sort((a, b) => b.positivePatients - a.positivePatients);

  const stats: FoldStats[] = Array.from({ length: k }, () => ({
    patients: 0,
    positivePatients: 0,
    rows: 0,
    positiveRows: 0,
  }));
  const unitFold = new Map<string, number>();
  for (const u of order) {
    const positive = u.positivePatients > 0;
    let best = 0;
    for (let f = 1; f < k; f++) {
      const a = stats[f]!;
      const b = stats[best]!;
      const key = siteGrouped
        ? [a.positivePatients - b.positivePatients, a.patients - b.patients, a.rows - b.rows]
        : positive
          ? [a.positivePatients - b.positivePatients, a.rows - b.rows]
          : [a.patients - b.patients, a.rows - b.rows];
      const cmp = key.find((d) => d !== 0) ?? 0;
      if (cmp < 0) best = f;
    }
    const s = stats[best]!;
    s.patients += u.patients;
    s.positivePatients += u.positivePatients;
    s.rows += u.rows;
    unitFold.set(u.id, best);
  }

  const rowFold = new Int32Array(n);
  const patientFold = new Map<string, number>();
  const tests: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < n; i++) {
    const p = groups[i]!;
    const f = unitFold.get(siteGrouped ? patientSite.get(p)! : p)!;
    rowFold[i] = f;
    patientFold.set(p, f);
    tests[f]!.push(i);
    if (labels[i] === 1) stats[f]!.positiveRows++;
  }
  const splits = tests.map((test, fold) => ({
    fold,
    test,
    train: Array.from(rowFold.keys()).filter((i) => rowFold[i] !== fold),
  }));
  return { k, rowFold, patientFold, ...(siteGrouped ? { siteFold: unitFold } : {}), splits, stats };
}

export interface NestedFoldsOptions extends Omit<GroupedFoldsOptions, 'k'> {
  /** Outer folds: each is scored once by a model tuned on the rest. */
  outerK: number;
  /** Inner folds, made within each outer training part: what tuning compares candidates on. */
  innerK: number;
}

/** An outer fold with the inner folds of its training part (all indices into the original rows). */
export interface NestedFold extends FoldSplit {
  inner: FoldSplit[];
}

export interface NestedFolds {
  outer: GroupedFolds;
  folds: NestedFold[];
}

/**
 * Nested grouped CV for tuning: outer grouped stratified folds for evaluation, and
 * within each outer training part, inner grouped stratified folds (same grouping, a seed
 * derived from the seed and the outer fold) for choosing hyperparameters. No inner fold
 * holds a row of its outer test fold, and no patient (or site) spans two folds at either
 * level.
 */
export function nestedGroupedFolds(
  groups: readonly string[],
  labels: ArrayLike<number>,
  options: NestedFoldsOptions,
): NestedFolds {
  const { outerK, innerK, ...rest } = options;
  const outer = groupedStratifiedFolds(groups, labels, { ...rest, k: outerK });
  const folds = outer.splits.map((split) => {
    const rows = split.train;
    const inner = groupedStratifiedFolds(
      rows.map((i) => groups[i]!),
      rows.map((i) => labels[i]!),
      {
        k: innerK,
        seed: `${options.seed}:inner:${split.fold}`,
        siteGrouped: rest.siteGrouped ?? false,
        ...(rest.sites ? { sites: rows.map((i) => rest.sites![i]!) } : {}),
      },
    );
    return {
      ...split,
      inner: inner.splits.map((s) => ({
        fold: s.fold,
        train: s.train.map((i) => rows[i]!),
        test: s.test.map((i) => rows[i]!),
      })),
    };
  });
  return { outer, folds };
}
