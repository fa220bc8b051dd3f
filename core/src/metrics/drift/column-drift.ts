/**
 * Drift of one column, decided as Evidently's `get_one_column_drift` does: drop missing
 * values (null, NaN, ±Infinity), refuse an empty sample, take the column type (given, or
 * inferred as Evidently does), pick the default test for it (or the one asked for), and
 * run it at its default threshold (or the one given).
 */
import { VigilError } from '../../errors.js';
import type { DriftColumnType } from './binning.js';
import { type ColumnTypeRule, type DriftDtype, inferColumnType } from './column-type.js';
import { driftTests } from './drift-tests.js';
import { uniqueCount } from './frequencies.js';
import type { DriftTestName, DriftTestResult } from './result.js';
import { type CategoryValue, categoricalSamples, type DriftValue, numericSample } from './sample.js';
import { defaultDriftTest } from './select.js';

export interface ColumnDriftOptions {
  /** The column's type; inferred from the values (and `dtype`) by `rule` when absent. */
  type?: DriftColumnType;
  /** The source's dtype, for inference (see column-type.ts). */
  dtype?: DriftDtype;
  /** Which Evidently inference rule: 'current' (default) or 'legacy'. */
  rule?: ColumnTypeRule;
  /** A test to use instead of the default; it must accept the column type, as in Evidently. */
  test?: DriftTestName;
  /** Threshold instead of the test's default. */
  threshold?: number;
}

export interface ColumnDriftResult extends DriftTestResult {
  /** The column's name, when the caller gave one. */
  column?: string;
  columnType: DriftColumnType;
  /** Evidently's label for the test, e.g. 'K-S p_value'. */
  displayName: string;
  /** Non-missing rows of each sample. */
  referenceRows: number;
  currentRows: number;
  /** Distinct non-missing values in reference ∪ current. */
  distinctValues: number;
}

export function columnDrift(
  reference: ArrayLike<DriftValue>,
  current: ArrayLike<DriftValue>,
  options: ColumnDriftOptions = {},
  column?: string,
): ColumnDriftResult {
  const fn = column === undefined ? 'columnDrift' : `columnDrift(${JSON.stringify(column)})`;
  let columnType = options.type;
  if (columnType !== undefined && columnType !== 'numerical' && columnType !== 'categorical')
    throw new VigilError(
      'VIGIL_DRIFT_INVALID_INPUT',
      `${fn}: type is ${String(columnType)}; use 'numerical' or 'categorical'`,
      {
        details: { argument: 'type', column },
      },
    );
  if (columnType === undefined) {
    const inferred = inferColumnType(reference, current, { dtype: options.dtype, rule: options.rule });
    if (inferred === 'text')
      throw new VigilError(
        'VIGIL_DRIFT_UNSUPPORTED',
        `${fn}: Evidently infers a text column (strings, more than half of them distinct); text drift is not implemented — pass type 'categorical' to test it as categories`,
        { details: { column } },
      );
    columnType = inferred;
  }
  let ref: ArrayLike<CategoryValue>;
  let cur: ArrayLike<CategoryValue>;
  if (columnType === 'numerical') {
    ref = numericSample(fn, 'reference', reference);
    cur = numericSample(fn, 'current', current);
  } else {
    const samples = categoricalSamples(fn, reference, current);
    ref = samples.reference;
    cur = samples.current;
  }
  const distinctValues = uniqueCount(ref, cur);
  let test = options.test;
  if (test === undefined) test = defaultDriftTest(columnType, ref.length, distinctValues);
  else {
    const info = driftTests[test];
    if (info === undefined)
      throw new VigilError(
        'VIGIL_DRIFT_INVALID_INPUT',
        `${fn}: test is ${JSON.stringify(test)}; use one of ${Object.keys(driftTests).join(', ')}`,
        { details: { argument: 'test', column } },
      );
    if (!info.columnTypes.includes(columnType))
      throw new VigilError(
        'VIGIL_DRIFT_UNSUPPORTED',
        `${fn}: test ${test} applies to ${info.columnTypes.join(' or ')} columns, not ${columnType} ones (as in Evidently)`,
        { details: { argument: 'test', column } },
      );
  }
  const info = driftTests[test];
  const result = info.run(ref, cur, { threshold: options.threshold, columnType });
  return {
    ...(column === undefined ? {} : { column }),
    ...result,
    columnType,
    displayName: info.displayName,
    referenceRows: ref.length,
    currentRows: cur.length,
    distinctValues,
  };
}
