/**
 * Input checks shared by the drift tests. Missing values are dropped the way Evidently
 * drops them before any test (`replace([-inf, inf], nan).dropna()`): null, undefined,
 * NaN and ±Infinity. An empty sample after that, or a value of the wrong type, is a
 * `VIGIL_DRIFT_INVALID_INPUT` naming the function, the argument and the first offending row.
 */
import { VigilError } from '../../errors.js';

/** A value of a column: numbers for numerical columns; strings, numbers or booleans for categorical ones. */
export type DriftValue = number | string | boolean | null | undefined;
/** A non-missing categorical value. */
export type CategoryValue = number | string | boolean;

export type SampleArgument = 'reference' | 'current';

export function isMissing(value: unknown): boolean {
  return value === null || value === undefined || (typeof value === 'number' && !Number.isFinite(value));
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : `${String(value)} (${typeof value})`;
}

function empty(fn: string, argument: SampleArgument, length: number, dropped: number): VigilError {
  return new VigilError(
    'VIGIL_DRIFT_INVALID_INPUT',
    length === 0
      ? `${fn}: ${argument} is empty`
      : `${fn}: ${argument} is empty after dropping its ${dropped} missing values (null, NaN, ±Infinity), as Evidently does`,
    { details: { argument, length, dropped } },
  );
}

function checkArray(
  fn: string,
  argument: SampleArgument,
  values: unknown,
): asserts values is ArrayLike<unknown> {
  if (
    values === null ||
    typeof values !== 'object' ||
    typeof (values as { length?: unknown }).length !== 'number'
  )
    throw new VigilError('VIGIL_DRIFT_INVALID_INPUT', `${fn}: ${argument} must be an array of values`, {
      details: { argument },
    });
}

/** The finite numbers of a numerical sample, in input order; missing values dropped. */
export function numericSample(
  fn: string,
  argument: SampleArgument,
  values: ArrayLike<DriftValue>,
): Float64Array {
  checkArray(fn, argument, values);
  const out = new Float64Array(values.length);
  let size = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (isMissing(value)) continue;
    if (typeof value !== 'number')
      throw new VigilError(
        'VIGIL_DRIFT_INVALID_INPUT',
        `${fn}: ${argument}[${i}] is ${describe(value)}; a numerical column takes numbers only`,
        { details: { argument, index: i } },
      );
    out[size++] = value;
  }
  if (size === 0) throw empty(fn, argument, values.length, values.length);
  return out.subarray(0, size);
}

/** The non-missing values of a categorical sample; all of one kind (all strings, all numbers or all booleans). */
export function categoricalSample(
  fn: string,
  argument: SampleArgument,
  values: ArrayLike<DriftValue>,
  kind?: string,
): CategoryValue[] {
  checkArray(fn, argument, values);
  const out: CategoryValue[] = [];
  let seen = kind;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (isMissing(value)) continue;
    const type = typeof value;
    if (type !== 'number' && type !== 'string' && type !== 'boolean')
      throw new VigilError(
        'VIGIL_DRIFT_INVALID_INPUT',
        `${fn}: ${argument}[${i}] is ${describe(value)}; a categorical value is a string, number or boolean`,
        { details: { argument, index: i } },
      );
    if (seen === undefined) seen = type;
    else if (type !== seen)
      throw new VigilError(
        'VIGIL_DRIFT_INVALID_INPUT',
        `${fn}: ${argument}[${i}] is ${describe(value)} but the column's values are ${seen}s; one column holds one kind of value`,
        { details: { argument, index: i } },
      );
    out.push(value as CategoryValue);
  }
  if (out.length === 0) throw empty(fn, argument, values.length, values.length);
  return out;
}

/** Both samples of a categorical column, checked to hold the same kind of value. */
export function categoricalSamples(
  fn: string,
  reference: ArrayLike<DriftValue>,
  current: ArrayLike<DriftValue>,
): { reference: CategoryValue[]; current: CategoryValue[] } {
  const ref = categoricalSample(fn, 'reference', reference);
  return { reference: ref, current: categoricalSample(fn, 'current', current, typeof ref[0]) };
}

export function checkThreshold(fn: string, threshold: number): number {
  if (typeof threshold !== 'number' || !Number.isFinite(threshold))
    throw new VigilError(
      'VIGIL_DRIFT_INVALID_INPUT',
      `${fn}: threshold is ${String(threshold)}; it must be a finite number`,
      {
        details: { argument: 'threshold' },
      },
    );
  return threshold;
}
