import type { FeaturePhrases } from '@vigil/core';

const times = (v: number): string => {
  if (v >= 1.9 && v < 2.15) return 'doubled';
  if (v >= 2.85 && v < 3.15) return 'tripled';
  if (v >= 3.85 && v < 4.15) return 'quadrupled';
  return `${v.toFixed(1)}×`;
};

const missing = (v: number) => Number.isNaN(v);

/**
 * Clinician-facing phrases for the job's built-in daily features (`patient_daily`), without the
 * direction ("raises risk" is added by topDrivers). Features not listed get the generic
 * `name = value` phrase; a missing value falls back to "… is missing".
 */
export const CLINICAL_PHRASES: FeaturePhrases = {
  alt_baseline_ratio: (v) => (missing(v) ? undefined : `ALT ${times(v)} since the patient's baseline`),
  ast_baseline_ratio: (v) => (missing(v) ? undefined : `AST ${times(v)} since the patient's baseline`),
  bilirubin_baseline_ratio: (v) =>
    missing(v) ? undefined : `bilirubin ${times(v)} since the patient's baseline`,
  alt_roc_7d: (v) =>
    missing(v)
      ? undefined
      : `ALT ${v >= 0 ? 'rising' : 'falling'} ${Math.abs(v).toFixed(1)} U/L a day over 7 days`,
  alt_uln_ratio: (v) => (missing(v) ? undefined : `ALT at ${v.toFixed(1)}× the upper limit of normal`),
  alt_gt_3uln: (v) =>
    missing(v)
      ? undefined
      : v >= 1
        ? 'ALT above 3× the upper limit of normal'
        : 'ALT below 3× the upper limit of normal',
  alt: (v) => (missing(v) ? undefined : `latest ALT ${v.toFixed(0)} U/L`),
  bilirubin: (v) => (missing(v) ? undefined : `latest bilirubin ${v.toFixed(1)} mg/dL`),
  creatinine: (v) => (missing(v) ? undefined : `latest creatinine ${v.toFixed(2)} mg/dL`),
  spo2_min_24h: (v) => (missing(v) ? undefined : `lowest SpO2 today ${v.toFixed(0)} %`),
  spo2_baseline_dev: (v) =>
    missing(v) ? undefined : `SpO2 ${Math.abs(v).toFixed(1)} points ${v < 0 ? 'below' : 'above'} baseline`,
  temp_max_24h: (v) => (missing(v) ? undefined : `highest temperature today ${v.toFixed(1)} °C`),
  temp_baseline_dev: (v) =>
    missing(v) ? undefined : `temperature ${Math.abs(v).toFixed(1)} °C ${v < 0 ? 'below' : 'above'} baseline`,
  hr_baseline_dev: (v) =>
    missing(v) ? undefined : `heart rate ${Math.abs(v).toFixed(0)} bpm ${v < 0 ? 'below' : 'above'} baseline`,
  hr_var_24h: (v) => (missing(v) ? undefined : `heart-rate variance today ${v.toFixed(0)} bpm²`),
  weight_change_7d: (v) =>
    missing(v) ? undefined : `weight ${v >= 0 ? 'up' : 'down'} ${Math.abs(v).toFixed(1)} kg over 7 days`,
  weight_baseline_change: (v) =>
    missing(v) ? undefined : `weight ${v >= 0 ? 'up' : 'down'} ${Math.abs(v).toFixed(1)} kg since baseline`,
  adherence_7d: (v) => (missing(v) ? undefined : `took ${(v * 100).toFixed(0)} % of doses over 7 days`),
  dose_mg_mean_7d: (v) => (missing(v) ? undefined : `mean dose ${v.toFixed(0)} mg over 7 days`),
  symptom_max_severity_3d: (v) =>
    missing(v)
      ? undefined
      : v === 0
        ? 'no symptoms reported in 3 days'
        : `symptoms up to grade ${v.toFixed(0)} in 3 days`,
  symptom_count_3d: (v) => (missing(v) ? undefined : `${v.toFixed(0)} symptom reports in 3 days`),
  days_since_lab: (v) => (missing(v) ? 'no lab draw yet' : `last lab draw ${v.toFixed(0)} days ago`),
  labs_missing: (v) => (missing(v) ? undefined : v >= 1 ? 'no recent labs' : 'recent labs on file'),
  days_on_study: (v) => (missing(v) ? undefined : `day ${v.toFixed(0)} on study`),
  age: (v) => (missing(v) ? undefined : `age ${v.toFixed(0)}`),
  treated: (v) => (missing(v) ? undefined : v >= 1 ? 'on the treatment arm' : 'on the control arm'),
};
