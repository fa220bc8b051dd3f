/**
 * Clinical trial events as they arrive from sites, apps and EHR feeds (bronze shape).
 * `patientId` is a pseudonymous trial identifier; it is still treated as an identifier
 * and never written to logs, metrics or traces.
 */
export const EVENT_KINDS = [
  'vital',
  'lab',
  'dose',
  'symptom',
  'adverse_event',
  'enrolment',
  'visit',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** Where a measurement came from; ranked by reliability when deduplicating (ehr > device > app). */
export type EventOrigin = 'ehr' | 'device' | 'app' | 'site';

export interface ClinicalEventBase {
  /** Globally unique id assigned by the producer; used for idempotence. */
  eventId: string;
  kind: EventKind;
  patientId: string;
  siteId: string;
  /** When the observation was made (ISO-8601 UTC). */
  observedAt: string;
  /** When the event was recorded by the producer (ISO-8601 UTC); later than observedAt for late events. */
  recordedAt: string;
  origin: EventOrigin;
}

export interface VitalEvent extends ClinicalEventBase {
  kind: 'vital';
  measure: 'heart_rate' | 'systolic_bp' | 'diastolic_bp' | 'temperature' | 'weight' | 'spo2';
  value: number;
  unit: string;
}

export interface LabEvent extends ClinicalEventBase {
  kind: 'lab';
  measure: 'alt' | 'ast' | 'bilirubin' | 'creatinine';
  value: number;
  unit: string;
}

export interface DoseEvent extends ClinicalEventBase {
  kind: 'dose';
  /** Dose in mg actually taken (0 when missed). */
  doseMg: number;
  taken: boolean;
}

export interface SymptomEvent extends ClinicalEventBase {
  kind: 'symptom';
  symptom: 'fatigue' | 'nausea' | 'headache' | 'rash' | 'dizziness';
  /** Patient-reported severity 0 (none) – 10 (worst). */
  severity: number;
}

export interface AdverseEvent extends ClinicalEventBase {
  kind: 'adverse_event';
  /** CTCAE grade 1–5. */
  grade: number;
  term: string;
}

export interface EnrolmentEvent extends ClinicalEventBase {
  kind: 'enrolment';
  age: number;
  sex: 'F' | 'M';
  arm: 'treatment' | 'placebo';
}

/**
 * A contact with the patient that carries no measurement: a follow-up visit, or the end of
 * follow-up of a per-patient outcome table (the time a patient was last known event-free).
 * Labels use it to know how long a patient was followed (censoring).
 */
export interface VisitEvent extends ClinicalEventBase {
  kind: 'visit';
}

export type ClinicalEvent =
  | VitalEvent
  | LabEvent
  | DoseEvent
  | SymptomEvent
  | AdverseEvent
  | EnrolmentEvent
  | VisitEvent;

/** A row that failed validation on its way to silver, kept with the reason. */
export interface QuarantinedRecord {
  /** The raw payload exactly as received. */
  raw: string;
  reason: string;
  /** Field the reason is about, when there is one. */
  field?: string;
  stage: 'bronze' | 'silver';
  at: string;
}
