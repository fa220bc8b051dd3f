import { z } from 'zod';
import { durationSeconds } from './features/duration.js';
import { loopConfigSchema } from './loop/loop-config.js';
import { buildCatalog, measuresConfigSchema, signsConfigSchema } from './medallion/catalog-config.js';
import { buildExpectationSuite, expectationsConfigSchema } from './medallion/expectations.js';
import { driftListSchema, driftTrialIssues } from './simulator/drift.js';
import { checkTuning, tuneConfigSchema } from './tuning/tune-config.js';

/**
 * Regularised boosting for a rare, patient-correlated label: larger leaves, row and column
 * sampling, and patience on the validation patients.
 */
export const DEFAULT_GBT_PARAMS = {
  minChildWeight: 10,
  subsample: 0.8,
  colsample: 0.8,
  earlyStoppingRounds: 50,
};

/**
 * The default model: the stacked TCN + GBT ensemble (3 grouped folds for its out-of-fold
 * logits), Platt-calibrated inside the graph. Its GBT member is shallow and strongly regularised
 * and its TCN reads 28 days: chosen by 5-fold patient-grouped CV on the training patients of the
 * default trial (docs/jobs/adverse-events.md, "Model"), never on the test patients.
 */
export const DEFAULT_ENSEMBLE_PARAMS = {
  folds: 3,
  calibration: 'platt',
  'gbt.learningRate': 0.03,
  'gbt.nEstimators': 1500,
  'gbt.maxDepth': 2,
  'gbt.minChildWeight': 50,
  'gbt.subsample': 0.7,
  'gbt.colsample': 0.5,
  'gbt.earlyStoppingRounds': 100,
  'tcn.sequenceLength': 28,
  'tcn.dropout': 0.2,
  'tcn.maxEpochs': 20,
  'tcn.patience': 4,
};

/** Default hyper-parameters per algorithm; an algorithm not listed uses the trainer's own defaults. */
export const DEFAULT_PARAMS: Readonly<Record<string, Record<string, number | string | boolean>>> = {
  gbt: DEFAULT_GBT_PARAMS,
  ensemble: DEFAULT_ENSEMBLE_PARAMS,
};

const duration = (what: string) =>
  z.union([z.string(), z.number().nonnegative()]).refine((v) => durationSeconds(v) !== undefined, {
    message: `${what}: expected a duration such as 12h, 7d, 90d, 1y or a number of seconds`,
  });

const COMPARISONS = ['>=', '>', '<=', '<', '==', '!='] as const;
export type Comparison = (typeof COMPARISONS)[number];

const eventPredicate = z
  .strictObject({
    kind: z
      .string()
      .min(1)
      .describe('Event kind the outcome is (adverse_event, lab, vital, symptom, dose, …).'),
    measure: z.string().min(1).optional().describe('For measurements: the measure (e.g. platelets).'),
    symptom: z.string().min(1).optional().describe('For symptoms: the sign (e.g. nausea).'),
    field: z
      .enum(['grade', 'value', 'severity', 'dose_mg'])
      .optional()
      .describe(
        'Silver column compared (grade of an adverse event, value of a measurement, severity of a symptom).',
      ),
    op: z.enum(COMPARISONS).optional().describe('Comparison with `value`.'),
    value: z.number().optional().describe('Threshold the field is compared with.'),
  })
  .refine(
    (p) =>
      (p.field === undefined) === (p.op === undefined) && (p.op === undefined) === (p.value === undefined),
    {
      message: 'field, op and value go together: give all three or none',
    },
  );
export type EventPredicate = z.output<typeof eventPredicate>;

/** The `job` section of the config: what the adverse-event job ingests, labels, trains and serves. */
export const jobConfigSchema = z
  .strictObject({
    trial: z
      .strictObject({
        patients: z
          .number()
          .int()
          .min(20)
          .max(200_000)
          .default(1000)
          .describe('Patients enrolled in the simulated trial.'),
        days: z.number().int().min(21).max(730).default(90).describe('Trial length in days.'),
        sites: z.number().int().min(1).max(99).default(4).describe('Trial sites.'),
        start: z.iso.datetime().default('2026-01-05T00:00:00Z').describe('First trial day (UTC).'),
        drift: driftListSchema.optional(),
      })
      .superRefine((trial, ctx) => {
        for (const issue of driftTrialIssues(trial.drift ?? [], trial))
          ctx.addIssue({ code: 'custom', path: ['drift', ...issue.path], message: issue.message });
      })
      .default({ patients: 1000, days: 90, sites: 4, start: '2026-01-05T00:00:00Z' })
      .describe('The synthetic multi-site trial the job generates (data.mode: simulate).'),
    data: z
      .strictObject({
        mode: z
          .enum(['simulate', 'source'])
          .default('simulate')
          .describe(
            'simulate: generate the seeded trial and produce it into the Source first; source: never produce, ingest what the Source holds (Kafka topics filled by others, file-import extracts).',
          ),
        topics: z
          .array(z.string().min(1))
          .min(1)
          .optional()
          .describe(
            'Topics to ingest (default: the job’s six event topics, with topicPrefix, that exist in the Source).',
          ),
        measures: measuresConfigSchema.optional(),
        signs: signsConfigSchema.optional(),
        expectations: expectationsConfigSchema.optional(),
      })
      .default({ mode: 'simulate' })
      .superRefine((data, ctx) => {
        // The catalogue and the suite are checked together (an expectation must name a known measure).
        try {
          buildExpectationSuite(data.expectations ?? [], buildCatalog(data, { path: '' }), {
            path: 'expectations',
          });
        } catch (error) {
          const issues = (error as { details?: { issues?: { path: string; message: string }[] } }).details
            ?.issues;
          if (!issues) throw error;
          for (const issue of issues)
            ctx.addIssue({
              code: 'custom',
              path: issue.path.split('.').filter(Boolean),
              message: issue.message,
            });
        }
      })
      .describe('Where the events come from.'),
    label: z
      .strictObject({
        outcome: eventPredicate
          .default({ kind: 'adverse_event', field: 'grade', op: '>=', value: 2 })
          .describe('The outcome: any predicate over events (default: an adverse event of grade ≥ 2).'),
        horizon: duration('horizon')
          .default('7d')
          .describe('Predict the first outcome within this long after a prediction point (12h … 1y).'),
      })
      .default({ outcome: { kind: 'adverse_event', field: 'grade', op: '>=', value: 2 }, horizon: '7d' })
      .describe(
        'What is predicted. A point after the patient’s first outcome is dropped; a point whose horizon runs past the patient’s last follow-up without the outcome is censored (excluded and counted).',
      ),
    points: z
      .strictObject({
        grid: z
          .enum(['daily', 'observations', 'offsets'])
          .default('daily')
          .describe(
            'daily: every day at 00:00 UTC; observations: every event matching `observation`; offsets: fixed offsets from enrolment.',
          ),
        warmup: duration('warmup')
          .default('7d')
          .describe('daily and observations grids: no point earlier than this after enrolment.'),
        observation: z
          .strictObject({
            kind: z.string().min(1).describe('Event kind of an observation (e.g. lab, vital).'),
            measure: z.string().min(1).optional().describe('Only this measure.'),
          })
          .optional()
          .describe('observations grid: which events are prediction points (e.g. each visit).'),
        offsets: z
          .array(duration('offset'))
          .min(1)
          .optional()
          .describe('offsets grid: points at enrolment + each offset (e.g. [0d, 30d, 90d]).'),
      })
      .default({ grid: 'daily', warmup: '7d' })
      .refine((p) => p.grid !== 'observations' || p.observation !== undefined, {
        message: 'grid observations needs `observation`',
        path: ['observation'],
      })
      .refine((p) => p.grid !== 'offsets' || p.offsets !== undefined, {
        message: 'grid offsets needs `offsets`',
        path: ['offsets'],
      })
      .describe('When predictions are made for each patient.'),
    testFraction: z
      .number()
      .gt(0)
      .lt(0.5)
      .default(0.25)
      .describe('Share of patients held out for the final test (never seen in training).'),
    model: z
      .strictObject({
        name: z
          .string()
          .regex(/^[a-z0-9][a-z0-9-]*$/)
          .default('adverse-event')
          .describe('Registered model name.'),
        experiment: z
          .string()
          .min(1)
          .default('adverse-events')
          .describe('Experiment the training runs are logged under.'),
        algorithm: z
          .string()
          .default('ensemble')
          .describe('Trainer algorithm: ensemble (TCN + GBT, stacked), gbt, tcn, logistic or cart.'),
        params: z
          .record(z.string(), z.union([z.number(), z.string(), z.boolean()]))
          .optional()
          .describe("Algorithm hyper-parameters (replace the algorithm's defaults as a whole)."),
        fallback: z
          .union([
            z.literal(false),
            z.strictObject({
              algorithm: z
                .string()
                .default('cart')
                .describe('Trainer algorithm of the backup model (a small tree).'),
              params: z
                .record(z.string(), z.union([z.number(), z.string(), z.boolean()]))
                .default({ maxDepth: 4 })
                .describe('Its hyper-parameters.'),
            }),
          ])
          .default({ algorithm: 'cart', params: { maxDepth: 4 } })
          .describe(
            'Backup model trained beside each version on the current row’s features (pure TypeScript to score); `vigil serve` answers from it when the model, the online store or the deadline fails. false = none.',
          ),
        minAuroc: z
          .number()
          .min(0)
          .max(1)
          .default(0.7)
          .describe(
            'Evaluation gate: a model below this held-out AUROC is registered but never made champion.',
          ),
        gate: z
          .strictObject({
            margin: z
              .number()
              .min(0)
              .max(1)
              .default(0.02)
              .describe(
                'A challenger must beat the champion’s AUROC by at least this on the same held-out patients.',
              ),
            maxEce: z
              .number()
              .gt(0)
              .max(1)
              .default(0.05)
              .describe('Highest expected calibration error (10 equal-width bins) a champion may have.'),
            samples: z
              .number()
              .int()
              .min(100)
              .max(100_000)
              .default(1000)
              .describe(
                'Paired bootstrap replicates of the AUROC difference (evidence recorded on the version).',
              ),
          })
          .default({ margin: 0.02, maxEce: 0.05, samples: 1000 })
          .describe(
            'Champion/challenger gate, enforced: a refused challenger is never served beyond shadow.',
          ),
        cv: z
          .strictObject({
            folds: z
              .number()
              .int()
              .min(0)
              .max(20)
              .default(3)
              .describe('Patient-grouped stratified k-fold CV on the non-test patients (0 = off).'),
            siteGrouped: z
              .boolean()
              .default(false)
              .describe('Put whole sites in folds, not just whole patients.'),
          })
          .default({ folds: 3, siteGrouped: false })
          .describe('Cross-validation for model selection; the held-out test patients never reach it.'),
        targetRecall: z
          .number()
          .gt(0)
          .max(1)
          .default(0.8)
          .describe('The operating threshold is chosen on validation patients to reach this recall.'),
      })
      .default({
        name: 'adverse-event',
        experiment: 'adverse-events',
        algorithm: 'ensemble',
        fallback: { algorithm: 'cart', params: { maxDepth: 4 } },
        minAuroc: 0.7,
        gate: { margin: 0.02, maxEce: 0.05, samples: 1000 },
        cv: { folds: 3, siteGrouped: false },
        targetRecall: 0.8,
      })
      .describe('Training and registration.'),
    tune: tuneConfigSchema,
    loop: loopConfigSchema,
    serve: z
      .strictObject({
        requests: z
          .number()
          .int()
          .min(10)
          .max(100_000)
          .default(1000)
          .describe('Single-row OIP requests sent over HTTP to measure latency and feed the monitor.'),
        bands: z
          .strictObject({
            medium: z
              .number()
              .gt(0)
              .lt(1)
              .default(0.1)
              .describe('Lowest probability the clinician endpoint calls `medium` risk.'),
            high: z
              .number()
              .gt(0)
              .lt(1)
              .default(0.25)
              .describe('Lowest probability the clinician endpoint calls `high` risk.'),
          })
          .refine((b) => b.medium < b.high, { message: 'medium must be below high', path: ['medium'] })
          .default({ medium: 0.1, high: 0.25 })
          .describe('Risk bands of `GET /patients/{id}/risk`.'),
      })
      .default({ requests: 1000, bands: { medium: 0.1, high: 0.25 } })
      .describe('Serving check after deployment.'),
    topicPrefix: z
      .string()
      .regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, dot, underscore and dash only')
      .default('')
      .describe(
        'Prefix of the event topics in the source (e.g. "trial-42."), so several deployments share one broker; bronze keeps the topic as received.',
      ),
    consumerGroup: z
      .string()
      .min(1)
      .default('vigil-bronze')
      .describe('Consumer group that lands events in bronze.'),
    batchSize: z
      .number()
      .int()
      .min(100)
      .max(100_000)
      .default(20_000)
      .describe('Records per consumer poll on the way to bronze.'),
  })
  // tuning needs a space and a resource for the model's algorithm
  .superRefine(checkTuning)
  .describe('The clinical-trial adverse-event job.');

export type JobConfig = z.output<typeof jobConfigSchema>;
