const EVENT_KINDS = ['vital', 'lab', 'dose', 'symptom', 'adverse_event', 'enrolment'] as const;

export type FieldType = 'string' | 'number' | 'boolean' | 'timestamp';

/**
 * Every ClinicalEvent field a mapping may fill, with its JSON type, in the order mapped
 * events are written (base fields, then the fields of each kind).
 */
export const EVENT_FIELDS = {
  eventId: 'string',
  kind: 'string',
  patientId: 'string',
  siteId: 'string',
  observedAt: 'timestamp',
  recordedAt: 'timestamp',
  origin: 'string',
  measure: 'string',
  value: 'number',
  unit: 'string',
  doseMg: 'number',
  taken: 'boolean',
  symptom: 'string',
  severity: 'number',
  grade: 'number',
  term: 'string',
  age: 'number',
  sex: 'string',
  arm: 'string',
} as const satisfies Record<string, FieldType>;

export type EventField = keyof typeof EVENT_FIELDS;
export const EVENT_FIELD_NAMES = Object.keys(EVENT_FIELDS) as EventField[];

/** Fields each kind needs besides the base fields (mirrors the silver expectations). */
export const KIND_REQUIRED: Readonly<Record<(typeof EVENT_KINDS)[number], readonly EventField[]>> = {
  vital: ['measure', 'value', 'unit'],
  lab: ['measure', 'value', 'unit'],
  dose: ['doseMg', 'taken'],
  symptom: ['symptom', 'severity'],
  adverse_event: ['grade', 'term'],
  enrolment: ['age', 'sex', 'arm'],
};

/** Base fields a mapping must fill; `eventId` and `recordedAt` have defaults (see the docs). */
export const REQUIRED_BASE: readonly EventField[] = ['kind', 'patientId', 'siteId', 'observedAt', 'origin'];

export const ORIGIN_VALUES = ['ehr', 'device', 'app', 'site'] as const;

/** Fields whose bare string in a mapping is a constant when it is one of these values (`kind: vital`). */
export const ENUM_CONSTANTS: Partial<Record<EventField, readonly string[]>> = {
  kind: EVENT_KINDS,
  origin: ORIGIN_VALUES,
};
