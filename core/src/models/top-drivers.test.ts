import { describe, expect, it } from 'vitest';
import type { FeatureAttributions } from '../domain/explanation.js';
import { isVigilError } from '../errors.js';
import { formatFeatureValue, shortFeatureName, topDrivers } from './top-drivers.js';

const names = [
  'patient_daily__alt_baseline_ratio',
  'patient_daily__spo2_baseline_dev',
  'patient_daily__symptom_count_3d',
  'patient_daily__days_since_lab',
  'patient_profile__age',
];

function explanation(values: number[][], x: number[][]): FeatureAttributions {
  return {
    method: 'tree-shap',
    scoreKind: 'logit',
    featureNames: names,
    rows: values.length,
    base: -2.5,
    values: Float64Array.from(values.flat()),
    raw: Float64Array.from(values, (v) => -2.5 + v.reduce((a, b) => a + b, 0)),
    probability: new Float32Array(values.length),
    x: Float32Array.from(x.flat()),
  };
}

describe('topDrivers', () => {
  const e = explanation(
    [
      [0.9, 0.4, -0.05, 0, -0.4],
      [0.1, 0, 0, 0.3, 0],
    ],
    [
      [3.1, -4, 2, 1, 71],
      [1.05, Number.NaN, 0, Number.NaN, 40],
    ],
  );

  it('ranks by |SHAP|, says the direction and uses the caller’s phrases', () => {
    const phrases = {
      alt_baseline_ratio: (v: number) => `ALT ${v.toFixed(1)}× its baseline`,
      patient_daily__spo2_baseline_dev: (v: number) =>
        v < 0 ? `SpO2 dipped ${Math.abs(v).toFixed(0)} points below the patient's baseline` : undefined,
    };
    const drivers = topDrivers(e, 0, names, phrases, 3);
    expect(drivers.map((x) => x.text)).toEqual([
      'ALT 3.1× its baseline (raises risk)',
      // Tie at |0.4|: the lower column first.
      "SpO2 dipped 4 points below the patient's baseline (raises risk)",
      'age = 71 (lowers risk)',
    ]);
    expect(drivers[0]).toMatchObject({ index: 0, feature: names[0], contribution: 0.9, direction: 'raises' });
    expect(drivers[2]!.value).toBe(71);
  });

  it('falls back to "name = value", says when a value is missing, leaves out zero contributions', () => {
    const drivers = topDrivers(e, 1, names, new Map(), 5);
    expect(drivers.map((x) => x.text)).toEqual([
      'days_since_lab is missing (raises risk)',
      'alt_baseline_ratio = 1.05 (raises risk)',
    ]);
    expect(topDrivers(e, 0, names).map((x) => x.text)).toEqual([
      'alt_baseline_ratio = 3.10 (raises risk)',
      'spo2_baseline_dev = -4 (raises risk)',
      'age = 71 (lowers risk)',
    ]);
    expect(topDrivers(e, 0, names, undefined, 0)).toEqual([]);
  });

  it('formats values and names', () => {
    expect(shortFeatureName('patient_daily__alt')).toBe('alt');
    expect(shortFeatureName('alt')).toBe('alt');
    expect(formatFeatureValue(Math.fround(3.1))).toBe('3.10');
    expect(formatFeatureValue(142.25)).toBe('142.3');
    expect(formatFeatureValue(2)).toBe('2');
  });

  it('rejects a row outside the explanation or names that do not fit', () => {
    for (const call of [() => topDrivers(e, 2, names), () => topDrivers(e, 0, names.slice(1))]) {
      try {
        call();
        expect.unreachable();
      } catch (error) {
        expect(isVigilError(error, 'VIGIL_EXPLAIN_INVALID_REQUEST')).toBe(true);
      }
    }
  });
});
