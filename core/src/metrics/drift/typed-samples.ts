/**
 * Samples for the tests that take either column type (Jensen–Shannon, PSI): numerical
 * columns are checked as numbers, categorical ones as one kind of value. Without an
 * explicit type, a column of numbers is numerical and anything else categorical.
 */
import type { DriftColumnType } from './binning.js';
import {
  type CategoryValue,
  categoricalSamples,
  checkThreshold,
  type DriftValue,
  isMissing,
  numericSample,
} from './sample.js';

export function driftSamples(
  fn: string,
  reference: ArrayLike<DriftValue>,
  current: ArrayLike<DriftValue>,
  options: { threshold?: number; columnType?: DriftColumnType },
  defaultThreshold: number,
): {
  ref: ArrayLike<CategoryValue>;
  cur: ArrayLike<CategoryValue>;
  columnType: DriftColumnType;
  threshold: number;
} {
  const threshold = checkThreshold(fn, options.threshold ?? defaultThreshold);
  let columnType = options.columnType;
  if (columnType === undefined) {
    columnType = 'numerical';
    for (let i = 0; i < (reference?.length ?? 0); i++) {
      const v = reference[i];
      if (!isMissing(v) && typeof v !== 'number') {
        columnType = 'categorical';
        break;
      }
    }
  }
  if (columnType === 'numerical')
    return {
      ref: numericSample(fn, 'reference', reference),
      cur: numericSample(fn, 'current', current),
      columnType,
      threshold,
    };
  const samples = categoricalSamples(fn, reference, current);
  return { ref: samples.reference, cur: samples.current, columnType, threshold };
}
