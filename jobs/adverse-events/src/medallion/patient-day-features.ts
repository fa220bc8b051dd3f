/** A feature column of `gold/patient_day`. */
export interface PatientDayFeature {
  name: string;
  dtype: 'float64' | 'int64';
  description: string;
}

/**
 * The engineered feature columns of `gold/patient_day`, one row per patient per calendar day,
 * valid from the row's `event_timestamp` (the end of that day). Float features are null when
 * their inputs are missing; the `*_missing` indicators say so explicitly.
 */
export const PATIENT_DAY_FEATURES: readonly PatientDayFeature[] = [
  { name: 'hr_mean_24h', dtype: 'float64', description: 'Mean heart rate over the day (bpm).' },
  { name: 'hr_var_24h', dtype: 'float64', description: 'Sample variance of heart rate over the day (bpm²).' },
  {
    name: 'hr_baseline',
    dtype: 'float64',
    description: "Patient's own baseline heart rate: mean over the first 7 study days seen so far.",
  },
  { name: 'hr_baseline_dev', dtype: 'float64', description: 'hr_mean_24h minus hr_baseline.' },
  { name: 'temp_max_24h', dtype: 'float64', description: 'Highest temperature of the day (°C).' },
  { name: 'spo2_min_24h', dtype: 'float64', description: 'Lowest SpO2 of the day (%).' },
  { name: 'sbp_mean_24h', dtype: 'float64', description: 'Mean systolic blood pressure of the day (mmHg).' },
  { name: 'dbp_mean_24h', dtype: 'float64', description: 'Mean diastolic blood pressure of the day (mmHg).' },
  { name: 'weight_kg', dtype: 'float64', description: 'Latest weight, carried forward (kg).' },
  {
    name: 'weight_change_7d',
    dtype: 'float64',
    description: 'weight_kg minus weight_kg seven days earlier (kg).',
  },
  { name: 'alt', dtype: 'float64', description: 'Latest ALT, carried forward (U/L).' },
  { name: 'ast', dtype: 'float64', description: 'Latest AST, carried forward (U/L).' },
  { name: 'bilirubin', dtype: 'float64', description: 'Latest total bilirubin, carried forward (mg/dL).' },
  { name: 'creatinine', dtype: 'float64', description: 'Latest creatinine, carried forward (mg/dL).' },
  {
    name: 'days_since_lab',
    dtype: 'float64',
    description: 'Days from the latest lab draw to event_timestamp.',
  },
  {
    name: 'alt_roc_7d',
    dtype: 'float64',
    description: 'ALT rate of change over 7 days ((alt − alt 7 days earlier) / 7, U/L per day).',
  },
  { name: 'alt_uln_ratio', dtype: 'float64', description: 'ALT over its upper limit of normal (40 U/L).' },
  {
    name: 'alt_baseline_ratio',
    dtype: 'float64',
    description: "Deviation from the patient's own baseline: latest ALT over the patient's first ALT.",
  },
  { name: 'ast_baseline_ratio', dtype: 'float64', description: "Latest AST over the patient's first AST." },
  {
    name: 'bilirubin_baseline_ratio',
    dtype: 'float64',
    description: "Latest bilirubin over the patient's first bilirubin.",
  },
  {
    name: 'weight_baseline_change',
    dtype: 'float64',
    description: "weight_kg minus the patient's first recorded weight (kg).",
  },
  {
    name: 'temp_baseline_dev',
    dtype: 'float64',
    description: "temp_max_24h minus the patient's mean daily maximum over the first 7 study days (°C).",
  },
  {
    name: 'spo2_baseline_dev',
    dtype: 'float64',
    description: "spo2_min_24h minus the patient's mean daily minimum over the first 7 study days (%).",
  },
  {
    name: 'alt_gt_3uln',
    dtype: 'int64',
    description: '1 when ALT exceeds three times the upper limit of normal (0 when unknown).',
  },
  {
    name: 'adherence_7d',
    dtype: 'float64',
    description: 'Share of the last 7 study days (fewer early on) with a dose taken.',
  },
  {
    name: 'dose_mg_mean_7d',
    dtype: 'float64',
    description: 'Mean daily dose taken over the last 7 study days (mg).',
  },
  {
    name: 'dose_x_alt',
    dtype: 'float64',
    description: 'Interaction: dose_mg_mean_7d / 100 × alt_uln_ratio.',
  },
  {
    name: 'symptom_max_severity_3d',
    dtype: 'float64',
    description: 'Highest symptom severity over the last 3 days (0 when none).',
  },
  { name: 'symptom_count_3d', dtype: 'int64', description: 'Symptom reports over the last 3 days.' },
  { name: 'hr_missing', dtype: 'int64', description: '1 when no heart rate was recorded that day.' },
  { name: 'temp_missing', dtype: 'int64', description: '1 when no temperature was recorded that day.' },
  { name: 'weight_missing', dtype: 'int64', description: '1 when no weight has been recorded yet.' },
  {
    name: 'labs_missing',
    dtype: 'int64',
    description: '1 when there is no lab result, or the latest is more than 10 days old.',
  },
  {
    name: 'days_on_study',
    dtype: 'int64',
    description: 'Calendar days since enrolment (0 on the enrolment day).',
  },
];
