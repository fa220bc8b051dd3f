import type { EventKind } from './clinical-event.js';

export type EventTopic =
  | 'vitals'
  | 'labs'
  | 'doses'
  | 'symptoms'
  | 'adverse-events'
  | 'enrolments'
  | 'visits';

/** Topic each event kind is produced to (before any deployment prefix). */
export const TOPIC_OF_KIND: Readonly<Record<EventKind, EventTopic>> = {
  vital: 'vitals',
  lab: 'labs',
  dose: 'doses',
  symptom: 'symptoms',
  adverse_event: 'adverse-events',
  enrolment: 'enrolments',
  visit: 'visits',
};

/** Every topic the job reads, one per event kind. */
export const SIMULATED_TOPICS: readonly EventTopic[] = Object.values(TOPIC_OF_KIND);
