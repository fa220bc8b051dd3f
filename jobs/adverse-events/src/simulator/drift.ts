import { z } from 'zod';
import { MEASURES, type MeasureName } from '../medallion/measure-catalog.js';
import type { RiskModel } from './risk-model.js';

/**
 * Drift scheduled in the simulated trial (README.md, "Drift"): from a trial day on, optionally at
 * some sites only, recorded measurements change (`measurement`), a new cohort of different patients
 * enrols (`population`) or the hazard's relation to the latent state changes (`concept`).
 */

const MEASURE_NAMES = Object.keys(MEASURES) as [MeasureName, ...MeasureName[]];

const fromDay = z
  .number()
  .int()
  .min(1)
  .describe(
    'Trial day (0 = the first) from which the drift applies; it must be below `days`. Everything observed before it is unchanged.',
  );
const sites = z
  .array(z.string().regex(/^site-\d{2}$/, 'expected a site id such as site-02'))
  .min(1)
  .optional()
  .describe('Site ids it applies at (site-01 … site-NN, one per configured site); every site when omitted.');

export const measurementDriftSchema = z
  .strictObject({
    kind: z
      .literal('measurement')
      .describe('Covariate drift: a measure’s recorded values change; the latent state does not.'),
    fromDay,
    sites,
    measure: z.enum(MEASURE_NAMES).describe('The measure whose recorded values change (e.g. alt).'),
    scale: z
      .number()
      .positive()
      .default(1)
      .describe('Factor on the value in canonical units (e.g. 1.4 for an assay reading 40 % high).'),
    shift: z.number().default(0).describe('Added to the value in canonical units after `scale`.'),
  })
  .describe(
    'A measure’s recorded value becomes `scale · value + shift` (canonical units, before the range clamp and the site’s unit) for readings observed from `fromDay` on at `sites`.',
  );

export const populationDriftSchema = z
  .strictObject({
    kind: z.literal('population').describe('Population drift: a new cohort of different patients enrols.'),
    fromDay,
    sites,
    patients: z
      .number()
      .int()
      .min(1)
      .max(200_000)
      .describe('Patients of the new cohort, all enrolled on `fromDay`, on top of `patients`.'),
    ageShift: z
      .number()
      .int()
      .min(-40)
      .max(40)
      .default(0)
      .describe(
        'Years added to the cohort’s ages (uniform 18–80 otherwise; clamped to 18–100). The hazard rises with age.',
      ),
    susceptibilityShift: z
      .number()
      .min(-3)
      .max(3)
      .default(0)
      .describe(
        'Shift of the cohort’s latent liver susceptibility (standard normal otherwise): positive is sicker.',
      ),
  })
  .describe(
    'A cohort of `patients` more patients enrols on `fromDay` at `sites` (drawn uniformly among them), with shifted age and susceptibility; the patients already enrolled do not change.',
  );

export const conceptDriftSchema = z
  .strictObject({
    kind: z
      .literal('concept')
      .describe('Concept drift: the relation between the latent state and the adverse event changes.'),
    fromDay,
    sites,
    eventRateScale: z
      .number()
      .positive()
      .default(1)
      .describe('Factor on the odds of the daily hazard (the intercept moves by its log).'),
    liverScale: z
      .number()
      .min(0)
      .default(1)
      .describe('Factor on the hazard’s coefficient of liver injury (seen in ALT, AST, bilirubin).'),
    inflammationScale: z
      .number()
      .min(0)
      .default(1)
      .describe(
        'Factor on the hazard’s coefficient of inflammation (seen in temperature, heart rate, SpO2).',
      ),
  })
  .describe(
    'From `fromDay` on at `sites` the daily hazard uses the changed coefficients; the latent state and the observations do not change, only when adverse events happen (and the oracle probabilities with them).',
  );

export const driftSchema = z
  .discriminatedUnion('kind', [measurementDriftSchema, populationDriftSchema, conceptDriftSchema])
  .describe('One scheduled change of the trial: kind measurement, population or concept.');

export const driftListSchema = z
  .array(driftSchema)
  .max(100)
  .describe(
    'Drift scheduled in the simulated trial, in order (several concept or measurement drifts compose). Omitted: none, and the trial is exactly the one without drift.',
  );

export type DriftInput = z.input<typeof driftSchema>;
export type Drift = z.output<typeof driftSchema>;
export type MeasurementDrift = z.output<typeof measurementDriftSchema>;
export type PopulationDrift = z.output<typeof populationDriftSchema>;
export type ConceptDrift = z.output<typeof conceptDriftSchema>;

/** The checks a drift list needs beyond its schema: days and sites of the trial it is scheduled in. */
export function driftTrialIssues(
  drift: readonly Drift[],
  trial: { days: number; sites: number },
): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  drift.forEach((d, i) => {
    if (d.fromDay >= trial.days) {
      issues.push({
        path: [i, 'fromDay'],
        message: `must be below days (${trial.days}), got ${d.fromDay}`,
      });
    }
    (d.sites ?? []).forEach((site, j) => {
      const n = Number(site.slice(5));
      if (!(n >= 1 && n <= trial.sites)) {
        issues.push({
          path: [i, 'sites', j],
          message: `is not a site of this trial (site-01 … site-${String(trial.sites).padStart(2, '0')}), got ${site}`,
        });
      }
    });
  });
  return issues;
}

/** The hazard coefficients concept drift can change. */
export type HazardCoefficients = Pick<RiskModel, 'intercept' | 'liver' | 'inflammation' | 'age'>;

/** A validated drift list, ready for the simulator: what applies on a trial day at a site. */
export class DriftSchedule {
  readonly measurements: readonly MeasurementDrift[];
  readonly populations: readonly PopulationDrift[];
  readonly concepts: readonly ConceptDrift[];

  constructor(drift: readonly Drift[]) {
    this.measurements = drift.filter((d): d is MeasurementDrift => d.kind === 'measurement');
    this.populations = drift.filter((d): d is PopulationDrift => d.kind === 'population');
    this.concepts = drift.filter((d): d is ConceptDrift => d.kind === 'concept');
  }

  /** The recorded value (canonical units) of `measure` observed on `day` at `site`. */
  recorded(measure: MeasureName, value: number, day: number, site: string): number {
    let v = value;
    for (const d of this.measurements) {
      if (d.measure === measure && applies(d, day, site)) v = d.scale * v + d.shift;
    }
    return v;
  }

  /** Whether any concept drift applies at `site` on some day up to `day` (it lasts from its day on). */
  conceptIn(day: number, site: string): boolean {
    return this.concepts.some((d) => d.fromDay <= day && onSite(d, site));
  }

  /** The hazard coefficients on `day` at `site`: `model`'s own when no concept drift applies. */
  hazardAt(model: RiskModel, day: number, site: string): HazardCoefficients {
    let c: HazardCoefficients = model;
    for (const d of this.concepts) {
      if (!applies(d, day, site)) continue;
      c = {
        intercept: c.intercept + Math.log(d.eventRateScale),
        liver: c.liver * d.liverScale,
        inflammation: c.inflammation * d.inflammationScale,
        age: c.age,
      };
    }
    return c;
  }
}

const onSite = (d: Drift, site: string): boolean => d.sites === undefined || d.sites.includes(site);
const applies = (d: Drift, day: number, site: string): boolean => day >= d.fromDay && onSite(d, site);
