/**
 * Column types as Evidently infers them.
 *
 * JavaScript values carry no dtype, so one is read from the values the way pandas builds
 * a Series from them: all booleans → `bool`; all strings → `string`; all numbers →
 * `int` when every value is an integer and none is missing (pandas turns an integer
 * column with a gap into float64), else `float`. Pass `dtype` to say what the source
 * declared instead (e.g. a float column whose values happen to be whole numbers).
 *
 * Rules (Evidently 0.7.21):
 * - `current` (`evidently.core.datasets.infer_column_type`, the `Report`/`Dataset` API;
 *   applied to the current sample): float → numerical; int → categorical when it has at
 *   most 10 distinct values, else numerical; bool and category → categorical; string →
 *   text when more than half its non-missing values are distinct, else categorical.
 * - `legacy` (`legacy.utils.data_preprocessing._get_column_type`): int → categorical when
 *   the reference (or, if it has none, the current) has at most 5 distinct values, else
 *   numerical; float → numerical; bool, category and string → categorical.
 */
import { VigilError } from '../../errors.js';
import type { DriftColumnType } from './binning.js';
import type { DriftValue } from './sample.js';

export type DriftDtype = 'float' | 'int' | 'bool' | 'string' | 'category';
export type InferredColumnType = DriftColumnType | 'text';
export type ColumnTypeRule = 'current' | 'legacy';

/** pandas' dtype for a Series built from these values. */
export function inferDtype(values: ArrayLike<DriftValue>, argument = 'values'): DriftDtype {
  let kind: string | undefined;
  let missing = false;
  let integral = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) {
      missing = true;
      continue;
    }
    const type = typeof v;
    if (type !== 'number' && type !== 'string' && type !== 'boolean')
      throw new VigilError('VIGIL_DRIFT_INVALID_INPUT', `inferDtype: ${argument}[${i}] is a ${type}`, {
        details: { argument, index: i },
      });
    if (kind === undefined) kind = type;
    else if (kind !== type)
      throw new VigilError(
        'VIGIL_DRIFT_INVALID_INPUT',
        `inferDtype: ${argument}[${i}] is a ${type} but earlier values are ${kind}s; one column holds one kind of value`,
        { details: { argument, index: i } },
      );
    if (type === 'number' && !Number.isInteger(v)) integral = false;
  }
  if (kind === 'boolean') return 'bool';
  if (kind === 'string') return 'string';
  if (kind === 'number' && integral && !missing) return 'int';
  return 'float';
}

/** pandas' `nunique()` and `count()`: null, undefined and NaN are missing; ±Infinity counts. */
function distinctNonMissing(values: ArrayLike<DriftValue>): { distinct: number; count: number } {
  const set = new Set<DriftValue>();
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || Number.isNaN(v)) continue;
    set.add(v);
    count++;
  }
  return { distinct: set.size, count };
}

/** Evidently's column type for a column with these reference and current values. */
export function inferColumnType(
  reference: ArrayLike<DriftValue>,
  current: ArrayLike<DriftValue>,
  options: { dtype?: DriftDtype; rule?: ColumnTypeRule } = {},
): InferredColumnType {
  const rule = options.rule ?? 'current';
  if (rule !== 'current' && rule !== 'legacy')
    throw new VigilError(
      'VIGIL_DRIFT_INVALID_INPUT',
      `inferColumnType: rule is ${String(rule)}; use 'current' or 'legacy'`,
      {
        details: { argument: 'rule' },
      },
    );
  const dtype = options.dtype ?? inferDtype(current, 'current');
  if (dtype === 'float') return 'numerical';
  if (dtype === 'bool' || dtype === 'category') return 'categorical';
  if (rule === 'current') {
    const { distinct, count } = distinctNonMissing(current);
    if (dtype === 'int') return distinct <= 10 ? 'categorical' : 'numerical';
    return distinct > count * 0.5 ? 'text' : 'categorical';
  }
  if (dtype === 'int') {
    const distinct = distinctNonMissing(reference).distinct || distinctNonMissing(current).distinct;
    return distinct <= 5 ? 'categorical' : 'numerical';
  }
  return 'categorical';
}
