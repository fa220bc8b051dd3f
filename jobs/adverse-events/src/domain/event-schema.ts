import type { FieldType, RecordSchema } from '@vigil/core';
import { EVENT_KINDS, type EventKind } from './clinical-event.js';

/** Fields every event must carry, with their JSON type. */
export const BASE_FIELDS: readonly [string, FieldType][] = [
  ['eventId', 'string'],
  ['kind', 'string'],
  ['patientId', 'string'],
  ['siteId', 'string'],
  ['observedAt', 'timestamp'],
  ['recordedAt', 'timestamp'],
  ['origin', 'string'],
];

/** Fields each kind adds. */
export const KIND_FIELDS: Readonly<Record<EventKind, readonly [string, FieldType][]>> = {
  vital: [
    ['measure', 'string'],
    ['value', 'number'],
    ['unit', 'string'],
  ],
  lab: [
    ['measure', 'string'],
    ['value', 'number'],
    ['unit', 'string'],
  ],
  dose: [
    ['doseMg', 'number'],
    ['taken', 'boolean'],
  ],
  symptom: [
    ['symptom', 'string'],
    ['severity', 'number'],
  ],
  adverse_event: [
    ['grade', 'number'],
    ['term', 'string'],
  ],
  enrolment: [
    ['age', 'number'],
    ['sex', 'string'],
    ['arm', 'string'],
  ],
  visit: [],
};

/** Where a measurement came from, ranked by reliability when deduplicating. */
export const ORIGINS = ['ehr', 'site', 'device', 'app'] as const;

/**
 * The clinical event as a RecordSchema: what the kernel hands adapters that build events
 * from foreign data (file extracts), so they check mappings without knowing the domain.
 */
export const clinicalEventSchema: RecordSchema = {
  fields: Object.fromEntries([...BASE_FIELDS, ...Object.values(KIND_FIELDS).flat()]),
  required: ['kind', 'patientId', 'siteId', 'observedAt', 'origin'],
  defaulted: ['eventId', 'recordedAt'],
  discriminator: {
    field: 'kind',
    kinds: Object.fromEntries(EVENT_KINDS.map((k) => [k, KIND_FIELDS[k].map(([name]) => name)])),
  },
  enums: { kind: EVENT_KINDS, origin: ORIGINS },
};
