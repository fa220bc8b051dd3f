import { z } from 'zod';

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

/** The `job` section of the config: what the adverse-event job simulates, trains and serves. */
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
      })
      .default({ patients: 1000, days: 90, sites: 4, start: '2026-01-05T00:00:00Z' })
      .describe('The synthetic multi-site trial the job generates.'),
    horizonDays: z
      .number()
      .int()
      .min(1)
      .max(30)
      .default(7)
      .describe('Predict an adverse event (grade ≥ 2) within this many days.'),
    minGrade: z
      .number()
      .int()
      .min(1)
      .max(5)
      .default(2)
      .describe('Lowest CTCAE grade that counts as an adverse event.'),
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
        algorithm: z.string().default('gbt').describe('Trainer algorithm.'),
        params: z
          .record(z.string(), z.union([z.number(), z.string(), z.boolean()]))
          .default(DEFAULT_GBT_PARAMS)
          .describe('Algorithm hyper-parameters (replace the defaults as a whole).'),
        minAuroc: z
          .number()
          .min(0)
          .max(1)
          .default(0.7)
          .describe(
            'Evaluation gate: a model below this held-out AUROC is registered but not made champion.',
          ),
      })
      .default({
        name: 'adverse-event',
        experiment: 'adverse-events',
        algorithm: 'gbt',
        params: DEFAULT_GBT_PARAMS,
        minAuroc: 0.7,
      })
      .describe('Training and registration.'),
    serve: z
      .strictObject({
        requests: z
          .number()
          .int()
          .min(10)
          .max(100_000)
          .default(1000)
          .describe('Single-row OIP requests sent over HTTP to measure latency and feed the monitor.'),
      })
      .default({ requests: 1000 })
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
  .describe('The clinical-trial adverse-event job.');

export type JobConfig = z.output<typeof jobConfigSchema>;
