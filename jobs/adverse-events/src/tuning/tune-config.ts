import { z } from 'zod';
import type { SchedulerKind } from './rung-scheduler.js';
import { DEFAULT_TPE } from './samplers.js';
import { type ParamRange, paramRangeSchema } from './search-space.js';

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

/** What tuning grows and searches for an algorithm when `resource` and `space` do not say. */
export interface TuningDefaults {
  resource: { param: string; min: number; max: number };
  space: Record<string, ParamRange>;
}

/**
 * Per-algorithm defaults: boosting rounds and a regularisation space for gbt; epochs and an
 * optimiser/architecture space for tcn. Other algorithms (the ensemble: dotted member keys such
 * as `gbt.maxDepth`, `gbt.nEstimators`) name their own `space` and `resource.param`.
 */
export const TUNING_DEFAULTS: Readonly<Record<string, TuningDefaults>> = {
  gbt: {
    resource: { param: 'nEstimators', min: 25, max: 400 },
    space: {
      learningRate: { low: 0.01, high: 0.3, log: true, integer: false },
      maxDepth: { low: 2, high: 6, log: false, integer: true },
      minChildWeight: { low: 1, high: 50, log: true, integer: false },
      subsample: { low: 0.5, high: 1, log: false, integer: false },
      colsample: { low: 0.5, high: 1, log: false, integer: false },
    },
  },
  tcn: {
    resource: { param: 'maxEpochs', min: 3, max: 27 },
    space: {
      learningRate: { low: 1e-4, high: 1e-2, log: true, integer: false },
      dropout: { low: 0, high: 0.5, log: false, integer: false },
      hidden: { values: [16, 32, 64] },
      blocks: { low: 2, high: 4, log: false, integer: true },
    },
  },
};

/** The resource a scheduler grows, per algorithm, when `resource.param` is not given. */
export const RESOURCE_PARAM: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(TUNING_DEFAULTS).map(([a, d]) => [a, d.resource.param]),
);

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
      .optional()
      .describe(
        'Hyper-parameter ranges, merged over model.params (default per algorithm: gbt learningRate, maxDepth, minChildWeight, subsample, colsample; tcn learningRate, dropout, hidden, blocks; others must name theirs).',
      ),
    resource: z
      .strictObject({
        param: z
          .string()
          .min(1)
          .optional()
          .describe('The parameter the scheduler grows (default: nEstimators for gbt, maxEpochs for tcn).'),
        min: z
          .number()
          .int()
          .min(1)
          .optional()
          .describe('Resource of the first rung (default: 25 rounds for gbt, 3 epochs for tcn).'),
        max: z
          .number()
          .int()
          .min(1)
          .optional()
          .describe(
            'Resource of the last rung, and of every trial with scheduler none (default: 400 rounds for gbt, 27 epochs for tcn).',
          ),
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

export interface ResolvedTuning {
  space: Record<string, ParamRange>;
  resource: { param: string | undefined; min: number; max: number; eta: number };
}

/**
 * `job.tune` completed with the model's algorithm's defaults, or the problems (path relative
 * to `job.tune`, message) that keep it from running: no space, no resource to grow, min above
 * max, a range over the resource the scheduler grows.
 */
export function resolveTuning(
  t: TuneConfig,
  algorithm: string,
): { ok: true; value: ResolvedTuning } | { ok: false; issues: { path: string[]; message: string }[] } {
  const defaults = TUNING_DEFAULTS[algorithm];
  const { scheduler } = resolveStrategy(t);
  const issues: { path: string[]; message: string }[] = [];
  const space = t.space ?? defaults?.space;
  if (space === undefined || Object.keys(space).length === 0)
    issues.push({
      path: ['space'],
      message: `algorithm '${algorithm}' has no default search space: name the ranges to search (e.g. for the ensemble, dotted member keys such as gbt.maxDepth)`,
    });
  const param = resourceParam(t, algorithm);
  if (param === undefined && scheduler !== 'none')
    issues.push({
      path: ['resource', 'param'],
      message: `algorithm '${algorithm}' has no default resource for scheduler '${scheduler}': name the parameter to grow (e.g. gbt.nEstimators for the ensemble), or use scheduler none`,
    });
  const min = t.resource.min ?? defaults?.resource.min ?? 1;
  const max = t.resource.max ?? defaults?.resource.max ?? Math.max(min, 1);
  if (max < min)
    issues.push({ path: ['resource', 'max'], message: `max (${max}) must be at least min (${min})` });
  if (space && param !== undefined && scheduler !== 'none' && Object.hasOwn(space, param))
    issues.push({
      path: ['space', param],
      message: `${param} is the resource scheduler '${scheduler}' grows (resource.param): set resource.min/max instead of a range`,
    });
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, value: { space: space!, resource: { param, min, max, eta: t.resource.eta } } };
}

/**
 * The check the job's schema runs across sections: with tuning on, `job.tune` must resolve
 * against `job.model.algorithm` (issues are reported under `tune`).
 */
export function checkTuning(
  job: { tune: TuneConfig; model: { algorithm: string } },
  ctx: { addIssue(issue: { code: 'custom'; path: (string | number)[]; message: string }): void },
): void {
  // zod runs this even when a field failed: only check a section that parsed into shape
  const t = job.tune as Partial<TuneConfig> | undefined;
  if (
    typeof t !== 'object' ||
    t === null ||
    typeof t.resource !== 'object' ||
    typeof job.model?.algorithm !== 'string'
  )
    return;
  if (job.tune.trials === 0) return;
  const r = resolveTuning(job.tune, job.model.algorithm);
  if (!r.ok)
    for (const i of r.issues) ctx.addIssue({ code: 'custom', path: ['tune', ...i.path], message: i.message });
}
