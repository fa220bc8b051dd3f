import {
  type DatasetDriftColumn,
  type DriftReport,
  datasetDrift,
  type FeatureDrift,
  psiTest,
} from '@vigil/core';
import type { IndexedPrediction } from './prediction-index.js';

/** Non-missing as Evidently counts it: a finite number. */
function present(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** The distinct names arrays of the rows' features (rows of one feature set share one). */
function namesOf(rows: readonly IndexedPrediction[]): Set<readonly string[]> {
  const out = new Set<readonly string[]>();
  for (const row of rows) if (row.features !== undefined) out.add(row.features.names);
  return out;
}

/** One feature's value in every row: null where the row lacks it or it is missing (NaN). */
function column(rows: readonly IndexedPrediction[], name: string): (number | null)[] {
  const out = new Array<number | null>(rows.length);
  let names: readonly string[] | undefined;
  let at = -1;
  for (let r = 0; r < rows.length; r++) {
    const features = rows[r]!.features;
    if (features === undefined) {
      out[r] = null;
      continue;
    }
    if (features.names !== names) {
      names = features.names;
      at = names.indexOf(name);
    }
    const v = at < 0 ? Number.NaN : features.values[features.offset + at]!;
    out[r] = Number.isNaN(v) ? null : v;
  }
  return out;
}

/**
 * Drift of the current predictions against the reference ones: each feature tested with
 * Evidently's default test for its type and size (core's `datasetDrift`, column types
 * inferred as Evidently does), the share of drifted features, and the PSI of the score
 * distribution. A feature with no non-missing value in one of the samples is skipped,
 * with the reason, instead of failing the whole report.
 */
export function driftReport(
  reference: readonly IndexedPrediction[],
  current: readonly IndexedPrediction[],
  options: { features?: readonly string[]; driftShare: number },
): DriftReport {
  let names = options.features;
  if (names === undefined) {
    const seen = new Set<string>();
    for (const set of new Set([...namesOf(reference), ...namesOf(current)]))
      for (const name of set) seen.add(name);
    names = [...seen].sort();
  }
  const columns: DatasetDriftColumn[] = [];
  const skipped: DriftReport['skipped'] = [];
  for (const name of names) {
    const ref = column(reference, name);
    const cur = column(current, name);
    if (!ref.some(present)) skipped.push({ feature: name, reason: 'no non-missing value in the reference' });
    else if (!cur.some(present))
      skipped.push({ feature: name, reason: 'no non-missing value in the current window' });
    else columns.push({ name, reference: ref, current: cur });
  }
  let features: FeatureDrift[] = [];
  let driftShare = 0;
  let datasetDrifted = false;
  if (columns.length > 0) {
    const result = datasetDrift(columns, { driftShare: options.driftShare });
    features = result.columns.map((c) => ({
      feature: c.column ?? '',
      test: c.test,
      columnType: c.columnType,
      statistic: c.statistic,
      pValue: c.kind === 'p_value' ? c.statistic : null,
      distance: c.kind === 'distance' ? c.statistic : null,
      threshold: c.threshold,
      drifted: c.drifted,
      referenceRows: c.referenceRows,
      currentRows: c.currentRows,
    }));
    driftShare = result.share;
    datasetDrifted = result.drifted;
  }
  const scorePsi =
    reference.length === 0 || current.length === 0
      ? null
      : psiTest(
          reference.map((r) => r.score),
          current.map((r) => r.score),
          { columnType: 'numerical' },
        ).statistic;
  return {
    referencePredictions: reference.length,
    currentPredictions: current.length,
    features,
    skipped,
    driftShare,
    driftShareThreshold: options.driftShare,
    datasetDrift: datasetDrifted,
    scorePsi,
  };
}
