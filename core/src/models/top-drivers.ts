import type { FeatureAttributions } from '../domain/explanation.js';
import { VigilError } from '../errors.js';

/**
 * Turns a feature's value into a clinician's phrase without the direction, e.g.
 * `(v) => \`ALT ${v.toFixed(1)}× its baseline\``. Called with NaN when the value is missing;
 * return undefined to fall back to the generic phrase.
 */
export type FeaturePhrase = (value: number) => string | undefined;

/** Phrases by feature name: the full name (`patient_daily__alt_baseline_ratio`) or the name after the last `__`. */
export type FeaturePhrases = ReadonlyMap<string, FeaturePhrase> | Readonly<Record<string, FeaturePhrase>>;

export interface Driver {
  /** The feature's column in the explanation. */
  index: number;
  /** The feature's name as given. */
  feature: string;
  /** The feature's value in the explained row (NaN = missing; the last step for a sequence model). */
  value: number;
  /** Its attribution (SHAP value) to the raw score. */
  contribution: number;
  direction: 'raises' | 'lowers';
  /** E.g. "ALT 3.1× its baseline (raises risk)", or generically "alt_baseline_ratio = 3.10 (raises risk)". */
  text: string;
}

/** The name after the feature view's `__` prefix: `patient_daily__alt` → `alt`. */
export function shortFeatureName(name: string): string {
  const at = name.lastIndexOf('__');
  return at >= 0 ? name.slice(at + 2) : name;
}

/** A value for the generic phrase: integers as they are, others with 2 decimals (1 from 100 up). */
export function formatFeatureValue(value: number): string {
  if (Number.isNaN(value)) return 'missing';
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(1) : value.toFixed(2);
}

function phraseFor(phrases: FeaturePhrases | undefined, name: string): FeaturePhrase | undefined {
  if (!phrases) return undefined;
  const short = shortFeatureName(name);
  if (phrases instanceof Map) return phrases.get(name) ?? phrases.get(short);
  const record = phrases as Readonly<Record<string, FeaturePhrase>>;
  if (Object.hasOwn(record, name)) return record[name];
  return Object.hasOwn(record, short) ? record[short] : undefined;
}

/**
 * The `k` features that moved row `row`'s score most (largest |SHAP value|; ties to the lower
 * column; features with exactly 0 left out), each with its direction and a short sentence built
 * from the feature's value: the caller's phrase for that feature when `phrases` has one (looked up
 * by full name, then by the name after `__`), else `name = value`, then "(raises risk)" or
 * "(lowers risk)". `featureNames` (one per column of the explanation) are the names printed and
 * looked up; pass `explanation.featureNames` for the model's own.
 */
export function topDrivers(
  explanation: FeatureAttributions,
  row: number,
  featureNames: readonly string[],
  phrases?: FeaturePhrases,
  k = 3,
): Driver[] {
  const d = explanation.featureNames.length;
  if (!Number.isInteger(row) || row < 0 || row >= explanation.rows) {
    throw new VigilError(
      'VIGIL_EXPLAIN_INVALID_REQUEST',
      `row ${row} is outside the explanation's ${explanation.rows} rows`,
    );
  }
  if (featureNames.length !== d) {
    throw new VigilError(
      'VIGIL_EXPLAIN_INVALID_REQUEST',
      `featureNames has ${featureNames.length} names, the explanation ${d} features`,
    );
  }
  const order: number[] = [];
  for (let j = 0; j < d; j++) if (explanation.values[row * d + j] !== 0) order.push(j);
  const at = (j: number) => Math.abs(explanation.values[row * d + j]!);
  order.sort((a, b) => at(b) - at(a) || a - b);
  return order.slice(0, Math.max(0, k)).map((index) => {
    const feature = featureNames[index]!;
    const value = explanation.x[row * d + index]!;
    const contribution = explanation.values[row * d + index]!;
    const direction = contribution > 0 ? 'raises' : 'lowers';
    const custom = phraseFor(phrases, feature)?.(value);
    const short = shortFeatureName(feature);
    const phrase =
      custom ?? (Number.isNaN(value) ? `${short} is missing` : `${short} = ${formatFeatureValue(value)}`);
    return { index, feature, value, contribution, direction, text: `${phrase} (${direction} risk)` };
  });
}
