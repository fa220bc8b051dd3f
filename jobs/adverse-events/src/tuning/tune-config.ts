import { z } from 'zod';
import type { SchedulerKind } from './rung-scheduler.js';
import { DEFAULT_TPE } from './samplers.js';
import { paramRangeSchema } from './search-space.js';

export const TUNE_METHODS = ['random', 'halving', 'tpe', 'asha', 'hyperband'] as const;
export type TuneMethod = (typeof TUNE_METHODS)[number];
export type SamplerKind = 'random' | 'tpe';

/** What each `method` shorthand stands for. */
export const METHOD_STRATEGY: Readonly<
  Record<TuneMethod, { sampler: SamplerKind; scheduler: SchedulerKind }>
> = {
  random: { sampler: 'random', scheduler: 'none' },
  halving: { sampler: 'random', scheduler: 'halving' },
  tpe: { sampler: 'tpe', scheduler: 'none' },
  asha: { sampler: 'tpe', scheduler: 'asha' },
  hyperband: { sampler: 'tpe', scheduler: 'hyperband' },
};

/** The resource a scheduler grows, per algorithm, when `resource.param` is not given. */
export const RESOURCE_PARAM: Readonly<Record<string, string>> = { gbt: 'nEstimators', tcn: 'maxEpochs' };

const DEFAULT_SPACE = {
  learningRate: { low: 0.01, high: 0.3, log: true, integer: false },
  maxDepth: { low: 2, high: 6, log: false, integer: true },
  minChildWeight: { low: 1, high: 50, log: true, integer: false },
  subsample: { low: 0.5, high: 1, log: false, integer: false },
  colsample: { low: 0.5, high: 1, log: false, integer: false },
};

/** `job.tune`: hyper-parameter tuning on the non-test patients. */
export const tuneConfigSchema = z
  .strictObject({
    trials: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(0)
      .describe('Configurations tried (0 = no tuning: train with model.params).'),
    method: z
      .enum(TUNE_METHODS)
      .optional()
      .describe(
        'Shorthand for sampler + scheduler: random = random + none; halving = random + halving; tpe = tpe + none; asha = tpe + asha; hyperband = tpe + hyperband. Give either method or sampler/scheduler.',
      ),
    sampler: z
      .enum(['random', 'tpe'])
      .optional()
      .describe(
        'How a new trial’s params are chosen: random (seeded, each trial its own stream), or tpe (Tree-structured Parzen Estimator after `tpe.startupTrials` random trials). Default tpe.',
      ),
    scheduler: z
      .enum(['none', 'halving', 'asha', 'hyperband'])
      .optional()
      .describe(
        'Early stopping over `resource`: none (every trial at resource.max), halving (synchronous successive halving), asha (asynchronous successive halving), hyperband (ASHA brackets). Default asha.',
      ),
    folds: z
      .number()
      .int()
      .min(2)
      .max(10)
      .default(3)
      .describe('Patient-grouped inner folds each trial is scored on (mean AUROC).'),
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(1)
      .describe(
        'Trial evaluations in flight at once, through the trainer port. Decisions do not depend on it (a virtual clock orders them); the in-process trainer works on the main thread, so only an out-of-process trainer gains wall time from more than 1.',
      ),
    space: z
      .record(z.string(), paramRangeSchema)
      .default(DEFAULT_SPACE)
      .describe('Hyper-parameter ranges, merged over model.params (default: a GBT space).'),
    resource: z
      .strictObject({
        param: z
          .string()
          .min(1)
          .optional()
          .describe('The parameter the scheduler grows (default: nEstimators for gbt, maxEpochs for tcn).'),
        min: z.number().int().min(1).default(25).describe('Resource of the first rung.'),
        max: z
          .number()
          .int()
          .min(1)
          .default(400)
          .describe('Resource of the last rung (and of every trial with scheduler none).'),
        eta: z
          .number()
          .int()
          .min(2)
          .default(3)
          .describe(
            'Keep the best 1/eta at each rung; grow the resource eta× (rungs: min·eta^k below max, then max).',
          ),
      })
      .prefault({})
      .refine((r) => r.max >= r.min, { message: 'max must be at least min', path: ['max'] })
      .describe('What the scheduler spends.'),
    tpe: z
      .strictObject({
        startupTrials: z
          .number()
          .int()
          .min(1)
          .max(1000)
          .default(DEFAULT_TPE.startupTrials)
          .describe('Random trials before TPE models the results.'),
        candidates: z
          .number()
          .int()
          .min(1)
          .max(10_000)
          .default(DEFAULT_TPE.candidates)
          .describe('Draws from l(x) per new trial; the one with the highest l(x)/g(x) is tried.'),
        gamma: z
          .number()
          .gt(0)
          .lt(1)
          .default(DEFAULT_TPE.gamma)
          .describe('Share of the trials that count as good (at least 1, at most 25).'),
        priorWeight: z
          .number()
          .gt(0)
          .default(DEFAULT_TPE.priorWeight)
          .describe('Weight of the flat prior in each Parzen estimate.'),
      })
      .prefault({})
      .describe('Tree-structured Parzen Estimator settings (sampler tpe).'),
    nested: z
      .boolean()
      .default(false)
      .describe(
        'Also estimate the tuned model’s generalisation by nested CV: tuning re-run inside each of `outerFolds` patient-grouped outer training parts, the outer test part scoring its winner (outerFolds + 1 times the tuning cost).',
      ),
    outerFolds: z
      .number()
      .int()
      .min(2)
      .max(10)
      .default(3)
      .describe('Outer folds of nested CV (with nested: true).'),
  })
  .superRefine((t, ctx) => {
    if (t.method !== undefined && (t.sampler !== undefined || t.scheduler !== undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['method'],
        message: `method '${t.method}' is a shorthand for sampler '${METHOD_STRATEGY[t.method].sampler}' + scheduler '${METHOD_STRATEGY[t.method].scheduler}': give either method or sampler/scheduler, not both`,
      });
    const scheduler = resolveStrategy(t).scheduler;
    for (const name of Object.keys(t.space)) {
      const isResource =
        t.resource.param !== undefined
          ? name === t.resource.param
          : Object.values(RESOURCE_PARAM).includes(name);
      if (isResource && scheduler !== 'none')
        ctx.addIssue({
          code: 'custom',
          path: ['space', name],
          message: `${name} is the resource scheduler '${scheduler}' grows (resource.param): set resource.min/max instead of a range`,
        });
    }
  })
  .prefault({})
  .describe('Hyper-parameter tuning on the non-test patients; the best configuration is what `train` fits.');

export type TuneConfig = z.output<typeof tuneConfigSchema>;

/** The sampler and scheduler a tune config asks for (method shorthand, else the fields, else tpe + asha). */
export function resolveStrategy(t: Pick<TuneConfig, 'method' | 'sampler' | 'scheduler'>): {
  sampler: SamplerKind;
  scheduler: SchedulerKind;
} {
  if (t.method !== undefined) return METHOD_STRATEGY[t.method];
  return { sampler: t.sampler ?? 'tpe', scheduler: t.scheduler ?? 'asha' };
}

/** The parameter the scheduler writes the rung's resource to (undefined: the algorithm has none by default). */
export function resourceParam(t: Pick<TuneConfig, 'resource'>, algorithm: string): string | undefined {
  return t.resource.param ?? RESOURCE_PARAM[algorithm];
}
