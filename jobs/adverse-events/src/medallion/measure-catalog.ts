import type { LabEvent, VitalEvent } from '../domain/clinical-event.js';

export type MeasureName = VitalEvent['measure'] | LabEvent['measure'];

/** A unit a site may report a measure in, and how to reach the canonical unit: `canonical = value * factor + offset`. */
export interface UnitConversion {
  unit: string;
  factor: number;
  offset: number;
}

export interface MeasureSpec {
  kind: 'vital' | 'lab';
  /** The unit silver stores the measure in. */
  canonicalUnit: string;
  /** Every unit accepted for the measure, the canonical one included. */
  units: readonly UnitConversion[];
  /** Physiologically possible range in the canonical unit (inclusive); outside it a value is quarantined. */
  min: number;
  max: number;
}

const same = (unit: string): UnitConversion => ({ unit, factor: 1, offset: 0 });

/**
 * Every vital and lab measure the trial collects: canonical unit, accepted unit variants
 * with their conversion, and the range a value must fall in after normalisation.
 * The simulator reports site-specific variants from this table; silver converts back with it.
 */
export const MEASURES: Readonly<Record<MeasureName, MeasureSpec>> = {
  heart_rate: {
    kind: 'vital',
    canonicalUnit: 'bpm',
    units: [same('bpm'), same('beats/min')],
    min: 20,
    max: 250,
  },
  systolic_bp: { kind: 'vital', canonicalUnit: 'mmHg', units: [same('mmHg')], min: 50, max: 260 },
  diastolic_bp: { kind: 'vital', canonicalUnit: 'mmHg', units: [same('mmHg')], min: 20, max: 160 },
  temperature: {
    kind: 'vital',
    canonicalUnit: '°C',
    units: [same('°C'), { unit: '°F', factor: 5 / 9, offset: (-32 * 5) / 9 }],
    min: 30,
    max: 44,
  },
  weight: {
    kind: 'vital',
    canonicalUnit: 'kg',
    units: [same('kg'), { unit: 'lb', factor: 0.45359237, offset: 0 }],
    min: 25,
    max: 300,
  },
  spo2: { kind: 'vital', canonicalUnit: '%', units: [same('%')], min: 50, max: 100 },
  alt: { kind: 'lab', canonicalUnit: 'U/L', units: [same('U/L')], min: 1, max: 5000 },
  ast: { kind: 'lab', canonicalUnit: 'U/L', units: [same('U/L')], min: 1, max: 5000 },
  bilirubin: {
    kind: 'lab',
    canonicalUnit: 'mg/dL',
    units: [same('mg/dL'), { unit: 'µmol/L', factor: 1 / 17.1, offset: 0 }],
    min: 0.05,
    max: 40,
  },
  creatinine: {
    kind: 'lab',
    canonicalUnit: 'mg/dL',
    units: [same('mg/dL'), { unit: 'µmol/L', factor: 1 / 88.42, offset: 0 }],
    min: 0.1,
    max: 20,
  },
};

export const VITAL_MEASURES = [
  'heart_rate',
  'systolic_bp',
  'diastolic_bp',
  'temperature',
  'weight',
  'spo2',
] as const;
export const LAB_MEASURES = ['alt', 'ast', 'bilirubin', 'creatinine'] as const;

/** The built-in graded symptoms (severity 0–10), reported as `symptom` events. */
export const SYMPTOM_NAMES = ['fatigue', 'nausea', 'headache', 'rash', 'dizziness'] as const;

/** Upper limit of normal for ALT (U/L); `alt_gt_3uln` crosses at three times this. */
export const ALT_ULN = 40;

/** Convert a value from a canonical unit to a variant (the simulator's site-specific reporting). */
export function fromCanonical(measure: MeasureName, unit: string, value: number): number {
  const conversion = MEASURES[measure].units.find((u) => u.unit === unit);
  if (!conversion) throw new RangeError(`unit '${unit}' is not known for measure '${measure}'`);
  return (value - conversion.offset) / conversion.factor;
}
