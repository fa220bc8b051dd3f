/**
 * Evidently's default drift test for a column (`_get_default_stattest`), from its type,
 * the reference size and the number of distinct values in reference ∪ current — both
 * counted after missing values are dropped:
 *
 * | column      | reference rows ≤ 1000                          | > 1000                              |
 * |-------------|------------------------------------------------|-------------------------------------|
 * | numerical   | ≤ 2 values: z; 3–5: chisquare; > 5: ks         | ≤ 5 values: jensenshannon; else wasserstein |
 * | categorical | > 2 values: chisquare; else z                  | jensenshannon                       |
 */
import type { DriftColumnType } from './binning.js';
import type { DriftTestName } from './result.js';

export function defaultDriftTest(
  columnType: DriftColumnType,
  referenceRows: number,
  distinctValues: number,
): DriftTestName {
  if (referenceRows <= 1000) {
    if (columnType === 'numerical') {
      if (distinctValues <= 5) return distinctValues > 2 ? 'chisquare' : 'z';
      return 'ks';
    }
    return distinctValues > 2 ? 'chisquare' : 'z';
  }
  if (columnType === 'numerical') return distinctValues <= 5 ? 'jensenshannon' : 'wasserstein';
  return 'jensenshannon';
}
