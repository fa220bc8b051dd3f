import type { FeatureRef, FeatureView } from '@vigil/core';
import { PATIENT_DAY_FEATURES } from '../medallion/index.js';

const DAY = 86_400;

/**
 * Feature views of the adverse-event job, over the gold tables.
 * `patient_daily` carries the engineered daily signals (24 h heart-rate variance,
 * deviation from the patient's own baseline, 7-day rates of change, clinical
 * threshold crossings, dose × ALT, missingness indicators); a day's row is valid for
 * two days. `patient_profile` carries what is known at enrolment.
 */
export function adverseEventViews(): FeatureView[] {
  return [
    {
      name: 'patient_daily',
      entities: ['patient_id'],
      features: PATIENT_DAY_FEATURES.map((f) => ({ name: f.name, dtype: f.dtype })),
      ttlSeconds: 2 * DAY,
      source: {
        path: 'gold/patient_day/',
        timestampField: 'event_timestamp',
        createdTimestampField: 'created_timestamp',
      },
      version: 1,
      description:
        'Daily per-patient vitals, labs, adherence and symptom aggregates, known at the end of each day.',
    },
    {
      name: 'patient_profile',
      entities: ['patient_id'],
      features: [
        { name: 'age', dtype: 'int64' },
        { name: 'treated', dtype: 'int64' },
        { name: 'female', dtype: 'int64' },
      ],
      ttlSeconds: 0,
      source: { path: 'gold/patients/', timestampField: 'enrolled_at' },
      version: 2,
      description:
        'Baseline characteristics recorded at enrolment: age, randomised arm (treated = 1 on the treatment arm) and sex (female = 1).',
    },
  ];
}

export function featureRefs(views: FeatureView[]): FeatureRef[] {
  return views.flatMap((v) => v.features.map((f) => `${v.name}:${f.name}` as FeatureRef));
}
