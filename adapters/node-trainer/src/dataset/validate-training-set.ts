import { type TrainingSet, VigilError } from '@vigil/core';

function invalid(message: string): VigilError {
  return new VigilError('VIGIL_TRAINER_INVALID_DATASET', message);
}

/**
 * Check a training (or validation) set's shape and values; returns its row and feature counts.
 * `label` prefixes field names in messages (`data`, `validation`). A training set must hold both
 * classes; a validation set may hold one (its AUROC is then not reported).
 */
export function validateTrainingSet(
  set: TrainingSet,
  label: string,
  options: { requireBothClasses: boolean; featureNames?: readonly string[] },
): { rows: number; features: number } {
  if (!set || typeof set !== 'object') throw invalid(`${label} must be a TrainingSet object`);
  const { featureNames, x, y, groups } = set;
  if (!Array.isArray(featureNames) || featureNames.length === 0) {
    throw invalid(`${label}.featureNames must be a non-empty array of feature names`);
  }
  if (new Set(featureNames).size !== featureNames.length) {
    throw invalid(`${label}.featureNames has duplicate names`);
  }
  if (options.featureNames && featureNames.join('\u0000') !== options.featureNames.join('\u0000')) {
    throw invalid(`${label}.featureNames must equal the training set's featureNames, in the same order`);
  }
  if (!(y instanceof Uint8Array)) throw invalid(`${label}.y must be a Uint8Array of 0/1 labels`);
  if (!(x instanceof Float32Array))
    throw invalid(`${label}.x must be a Float32Array (row-major, NaN = missing)`);
  const rows = y.length;
  const features = featureNames.length;
  if (rows === 0) throw invalid(`${label} has zero rows (${label}.y is empty)`);
  if (x.length !== rows * features) {
    throw invalid(
      `${label}.x has ${x.length} values but rows × features = ${rows} × ${features} = ${rows * features}`,
    );
  }
  if (!Array.isArray(groups) || groups.length !== rows) {
    throw invalid(
      `${label}.groups has ${Array.isArray(groups) ? groups.length : 'no'} entries, expected ${rows}`,
    );
  }
  let positives = 0;
  for (let i = 0; i < rows; i++) {
    const v = y[i]!;
    if (v > 1) throw invalid(`${label}.y[${i}] is ${v}; labels must be 0 or 1`);
    positives += v;
  }
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v === Number.POSITIVE_INFINITY || v === Number.NEGATIVE_INFINITY) {
      throw invalid(
        `${label}.x has an infinite value at row ${Math.floor(i / features)}, feature '${featureNames[i % features]}' (use NaN for missing)`,
      );
    }
  }
  if (options.requireBothClasses && (positives === 0 || positives === rows)) {
    throw invalid(
      `${label}.y has a single class (${positives} positives in ${rows} rows); both 0 and 1 are needed`,
    );
  }
  return { rows, features };
}
