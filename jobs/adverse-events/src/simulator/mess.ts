/** Rates of real-world mess injected into the simulated feeds (each a probability in [0, 1]). */
export interface MessRates {
  /** Share of vital readings sent a second time from the hospital EHR, with time and value jitter. */
  duplicateRate: number;
  /** Share of weight, temperature, creatinine and bilirubin readings at other sites reported in a non-canonical unit (besides the site conventions). */
  unitVariantRate: number;
  /** Share of patient-days with no vitals or symptom reports, and of weekly lab visits skipped. */
  missedVisitRate: number;
  /** Share of vital, lab, dose and symptom events replaced by a malformed payload. */
  malformedRate: number;
  /** Share of events recorded one to five days after they were observed. */
  lateRate: number;
  /** Share of events the producer sends twice with the same eventId (a retry). */
  resendRate: number;
}

export const defaultMessRates: Readonly<MessRates> = Object.freeze({
  duplicateRate: 0.03,
  unitVariantRate: 0.01,
  missedVisitRate: 0.05,
  malformedRate: 0.005,
  lateRate: 0.01,
  resendRate: 0.002,
});

/**
 * The kinds of malformed payload the simulator injects, each with the silver quarantine
 * `reason` it must end in and the `field` named (for doses and symptoms, `wrong_type` and
 * `impossible_value` name `doseMg` or `severity` instead of `value`).
 */
export const MALFORMED_KINDS = {
  /** The JSON is cut off halfway. */
  bad_json: { reason: 'invalid_json', field: null },
  /** A numeric field arrives as a string. */
  wrong_type: { reason: 'wrong_type', field: 'value' },
  /** A vital or lab without its unit. */
  missing_unit: { reason: 'missing_unit', field: 'unit' },
  /** A physiologically impossible value (heart rate 900, negative dose, severity 42). */
  impossible_value: { reason: 'out_of_range', field: 'value' },
  /** Observed days after it was recorded. */
  future_timestamp: { reason: 'future_timestamp', field: 'observedAt' },
  /** A patient id no enrolment knows. */
  unknown_patient: { reason: 'unknown_patient', field: 'patientId' },
} as const;

export type MalformedKind = keyof typeof MALFORMED_KINDS;
export const MALFORMED_KIND_NAMES = Object.keys(MALFORMED_KINDS) as MalformedKind[];
