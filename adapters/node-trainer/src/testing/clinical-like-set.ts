import { createRng, type TrainingSet } from '@vigil/core';

/** Features of {@link clinicalLikeSet} before the noise columns, in column order. */
export const CLINICAL_LIKE_FEATURES = [
  'age',
  'hr_var_24h',
  'hr_baseline_dev',
  'sbp',
  'temp_c',
  'alt',
  'creatinine',
  'days_since_lab',
  'dose_mg',
  'adherence_7d',
  'symptom_score',
  'weight_change_7d',
] as const;

/**
 * A tabular set shaped like the adverse-event job's features, for parity tests and benchmarks:
 * skewed lab values (log-normal ALT and creatinine), discrete doses and symptom counts, a
 * threshold effect, a dose × liver-enzyme interaction, missingness that carries signal (labs go
 * missing more often when the last draw is old; symptom reports when adherence is poor) and
 * `noiseFeatures` uninformative columns (normal, log-normal, uniform, some NaN). The label is
 * Bernoulli(sigmoid(logit)), its intercept set so that about `positiveRate` (default 7 %) of
 * the rows are positive. Seeded: the same arguments give the same set.
 */
export function clinicalLikeSet(
  seed: number,
  rows: number,
  options: { noiseFeatures?: number; positiveRate?: number } = {},
): TrainingSet {
  const noise = options.noiseFeatures ?? 8;
  const rate = options.positiveRate ?? 0.07;
  const rng = createRng(seed);
  const base = CLINICAL_LIKE_FEATURES.length;
  const d = base + noise;
  const x = new Float32Array(rows * d);
  const logit = new Float64Array(rows);
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
  for (let r = 0; r < rows; r++) {
    const frailty = rng.normal();
    const age = clamp(58 + 12 * rng.normal() + 3 * frailty, 18, 95);
    const hrVar = Math.exp(3 + 0.5 * rng.normal() + 0.15 * frailty);
    const hrDev = 6 * rng.normal() + 2 * frailty;
    const sbp = 125 + 15 * rng.normal() + 0.3 * (age - 58);
    const temp = 36.8 + 0.35 * rng.normal() + (rng.next() < 0.03 ? 1.5 * rng.next() : 0);
    const liver = rng.normal() + 0.3 * frailty;
    const alt = Math.exp(3.2 + 0.6 * liver);
    const creatinine = Math.exp(-0.1 + 0.3 * rng.normal() + 0.01 * (age - 58));
    const daysSinceLab = Math.floor(-Math.log(1 - rng.next()) * 6);
    const dose = [0, 50, 100, 200][rng.int(4)]!;
    const adherence = clamp(
      1 - Math.abs(0.15 * rng.normal()) - (rng.next() < 0.1 ? 0.5 * rng.next() : 0),
      0,
      1,
    );
    let symptoms = 0;
    const symptomRate = Math.exp(0.2 + 0.5 * frailty);
    for (let t = -Math.log(1 - rng.next()); t < symptomRate && symptoms < 12; t -= Math.log(1 - rng.next())) {
      symptoms++;
    }
    const weightChange = 1.2 * rng.normal() - 0.4 * frailty;
    logit[r] =
      0.025 * (age - 58) +
      0.0006 * (age - 58) ** 2 +
      0.9 * Math.max(0, Math.log(hrVar) - 3.3) +
      0.05 * Math.abs(hrDev) +
      0.5 * (temp > 37.8 ? 1 : 0) +
      0.55 * liver +
      0.5 * (dose / 100) * Math.max(0, liver) +
      0.9 * Math.max(0, creatinine - 1.2) +
      0.12 * symptoms -
      1.1 * (adherence - 0.85) -
      0.15 * weightChange;
    const row = [
      age,
      hrVar,
      hrDev,
      sbp,
      temp,
      alt,
      creatinine,
      daysSinceLab,
      dose,
      adherence,
      symptoms,
      weightChange,
    ];
    // Missingness: labs more often missing the older the last draw; symptom reports from the
    // less adherent; vitals at random.
    const labMissing = rng.next() < 0.05 + 0.02 * Math.min(daysSinceLab, 15);
    if (labMissing) {
      row[5] = Number.NaN;
      row[6] = Number.NaN;
    }
    if (rng.next() < 0.03) row[7] = Number.NaN;
    if (rng.next() < 0.05 + 0.4 * (1 - adherence)) row[10] = Number.NaN;
    if (rng.next() < 0.05) row[1] = Number.NaN;
    if (rng.next() < 0.05) row[2] = Number.NaN;
    if (rng.next() < 0.08) row[11] = Number.NaN;
    const o = r * d;
    for (let j = 0; j < base; j++) x[o + j] = row[j]!;
    for (let j = 0; j < noise; j++) {
      const kind = j % 3;
      const v = kind === 0 ? rng.normal() : kind === 1 ? Math.exp(rng.normal()) : rng.next();
      x[o + base + j] = rng.next() < 0.05 ? Number.NaN : v;
    }
  }
  // The intercept that makes the expected positive rate `rate`, by bisection.
  let lo = -20;
  let hi = 20;
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    let sum = 0;
    for (let r = 0; r < rows; r++) sum += 1 / (1 + Math.exp(-(logit[r]! + mid)));
    if (sum / rows < rate) lo = mid;
    else hi = mid;
  }
  const intercept = (lo + hi) / 2;
  const y = new Uint8Array(rows);
  const labels = rng.fork('labels');
  for (let r = 0; r < rows; r++) y[r] = labels.next() < 1 / (1 + Math.exp(-(logit[r]! + intercept))) ? 1 : 0;
  return {
    featureNames: [...CLINICAL_LIKE_FEATURES, ...Array.from({ length: noise }, (_, j) => `noise_${j}`)],
    x,
    y,
    groups: Array.from({ length: rows }, (_, r) => `p${r}`),
    lineage: { lakeCommit: 'test', featureViews: [] },
  };
}
