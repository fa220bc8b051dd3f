import { defineStep, type Registry, VigilError } from '@vigil/core';
import { DEFAULT_PARAMS } from '../config.js';
import { groupedStratifiedFolds, nestedGroupedFolds } from '../evaluation/grouped-folds.js';
import { withoutTestPatients } from '../evaluation/without-test-patients.js';
import type { PatientSplit, StoredDataset } from '../steps/feature-steps.js';
import type { AdverseEventsConfig } from '../steps/job-config.js';
import type { SchedulerKind } from './rung-scheduler.js';
import type { Params } from './search-space.js';
import type { TrialJob } from './study.js';
import {
  type ResolvedTuning,
  resolveStrategy,
  resolveTuning,
  type SamplerKind,
  type TuneConfig,
} from './tune-config.js';
import { makeScheduler, type NestedResult, nestedTuning, type TuneSettings, tuneOnFolds } from './tuner.js';

type TuneSlice = Omit<TuneConfig, 'method' | 'sampler' | 'scheduler' | 'resource' | 'space'> &
  ResolvedTuning & {
    algorithm: string;
    base: Params;
    seed: number;
    experiment: string;
    sampler: SamplerKind;
    scheduler: SchedulerKind;
  };

export interface TrialResult {
  trial: number;
  /** Hyperband bracket (0 for the other schedulers). */
  bracket: number;
  /** Params at the trial's last rung (base, sampled, and the resource). */
  params: Params;
  /** Resource (boosting rounds, epochs) of the trial's last rung. */
  resource: number;
  /** Mean AUROC over the inner folds at that resource. */
  auroc: number | null;
  /** Every rung the trial finished, lowest first. */
  rungs: { resource: number; auroc: number | null }[];
  runId: string;
}

/**
 * tune: a sampler (random or TPE) proposes configurations, a scheduler (none, synchronous
 * halving, ASHA or Hyperband) early-stops them over a resource (boosting rounds, epochs), on
 * patient-grouped inner folds of the non-test patients; optionally nested CV estimates how
 * the tuned model generalises. Each trial is a child run of the tuning run in the registry
 * (`mlflow.parentRunId`); each nested outer fold is a child run with its own trials under
 * it. The test patients never reach it.
 */
export const tuneStep = defineStep<AdverseEventsConfig, TuneSlice>({
  name: 'tune',
  version: 2,
  description:
    'Hyper-parameter search (random/TPE sampler; none/halving/ASHA/Hyperband scheduler) on grouped inner folds, optional nested CV; trials as child runs.',
  inputs: ['training-set.dataset', 'training-set.split'],
  outputs: ['best', 'trials', 'parentRunId', 'strategy', 'nested'],
  requires: ['trainer', 'registry'],
  pool: 'trainer',
  config: (c) => {
    const { method: _method, sampler: _sampler, scheduler: _scheduler, ...tune } = c.job.tune;
    const algorithm = c.job.model.algorithm;
    const resolved = resolveTuning(c.job.tune, algorithm);
    if (!resolved.ok)
      throw new VigilError(
        'VIGIL_CONFIG_INVALID',
        `job.tune: ${resolved.issues.map((i) => `${['job', 'tune', ...i.path].join('.')}: ${i.message}`).join('; ')}`,
        {
          details: {
            issues: resolved.issues.map((i) => ({
              path: ['job', 'tune', ...i.path].join('.'),
              message: i.message,
            })),
          },
        },
      );
    return {
      ...tune,
      ...resolveStrategy(c.job.tune),
      ...resolved.value,
      algorithm,
      base: c.job.model.params ?? DEFAULT_PARAMS[algorithm] ?? {},
      seed: c.seed,
      experiment: c.job.model.experiment,
    };
  },
  async run(ctx, inputs) {
    const c = ctx.config;
    const trainer = ctx.port('trainer');
    const registry = ctx.port('registry');
    const split = inputs['training-set.split'] as PatientSplit;
    const rest = withoutTestPatients(inputs['training-set.dataset'] as StoredDataset, split);
    const settings: TuneSettings = {
      algorithm: c.algorithm,
      base: c.base,
      seed: c.seed,
      trials: c.trials,
      sampler: c.sampler,
      scheduler: c.scheduler,
      concurrency: c.concurrency,
      space: c.space,
      resource: { min: c.resource.min, max: c.resource.max, eta: c.resource.eta },
      resourceParam: c.resource.param,
      tpe: c.tpe,
    };
    const folds = groupedStratifiedFolds(rest.groups, rest.y, {
      k: c.folds,
      seed: c.seed,
      testPatients: split.test,
    });
    const parent = await registry.createRun({
      experiment: c.experiment,
      name: `tune-${ctx.runId.slice(0, 8)}`,
      tags: {
        'vigil.runId': ctx.runId,
        'vigil.tune.sampler': c.sampler,
        'vigil.tune.scheduler': c.scheduler,
      },
    });
    const opened: TrialRuns[] = [];
    const outerIds: string[] = [];
    try {
      const total = makeScheduler(settings).estimatedJobs() * (1 + (c.nested ? c.outerFolds : 0));
      let done = 0;
      const progressed = () => ctx.progress(++done, Math.max(total, done), `tuning job ${done}`);

      const main = new TrialRuns(registry, c.experiment, parent.runId, ctx.runId, c.resource.param, 'trial');
      opened.push(main);
      const study = await tuneOnFolds(
        trainer,
        rest,
        folds.splits.map((s) => ({ train: s.train, test: s.test })),
        settings,
        main.hooks(progressed, ctx.signal),
      );
      await main.finish();

      let nested: NestedResult | null = null;
      if (c.nested) {
        const outerFolds = nestedGroupedFolds(rest.groups, rest.y, {
          outerK: c.outerFolds,
          innerK: c.folds,
          seed: c.seed,
          testPatients: split.test,
        });
        const outerRuns = new Map<number, { runId: string; trials: TrialRuns }>();
        nested = await nestedTuning(trainer, rest, outerFolds, settings, {
          signal: ctx.signal,
          forFold: async (fold) => {
            const run = await registry.createRun({
              experiment: c.experiment,
              name: `tune-outer-${fold}`,
              tags: {
                'mlflow.parentRunId': parent.runId,
                'vigil.runId': ctx.runId,
                'vigil.tune.outerFold': String(fold),
              },
            });
            const trials = new TrialRuns(
              registry,
              c.experiment,
              run.runId,
              ctx.runId,
              c.resource.param,
              `outer-${fold}-trial`,
            );
            outerRuns.set(fold, { runId: run.runId, trials });
            opened.push(trials);
            outerIds.push(run.runId);
            return trials.hooks(progressed, ctx.signal);
          },
        });
        for (const o of nested.outer) {
          const r = outerRuns.get(o.fold)!;
          await r.trials.finish();
          await registry.logParams(r.runId, { best_trial: o.best.trial });
          await registry.logMetrics(r.runId, [
            ...(o.best.cvAuroc !== null ? [{ key: 'best_cv_auroc', value: o.best.cvAuroc }] : []),
            ...(o.auroc !== null ? [{ key: 'outer_auroc', value: o.auroc }] : []),
          ]);
          await registry.endRun(r.runId, 'FINISHED');
          outerIds.splice(outerIds.indexOf(r.runId), 1);
        }
      }

      const trials = study.trials.map(
        (t): TrialResult => ({
          trial: t.trial,
          bracket: t.bracket,
          params: {
            ...c.base,
            ...t.sampled,
            ...(c.resource.param !== undefined && t.rungs.length
              ? { [c.resource.param]: t.rungs.at(-1)!.resource }
              : {}),
          },
          resource: t.rungs.at(-1)?.resource ?? c.resource.max,
          auroc: t.rungs.at(-1)?.value ?? null,
          rungs: t.rungs.map((r) => ({ resource: r.resource, auroc: r.value })),
          runId: main.runId(t.trial)!,
        }),
      );
      await registry.logParams(parent.runId, {
        best_trial: study.best.trial,
        sampler: c.sampler,
        scheduler: c.scheduler,
        trials: c.trials,
        jobs: study.jobs,
      });
      await registry.logMetrics(parent.runId, [
        ...(study.best.value !== null ? [{ key: 'best_cv_auroc', value: study.best.value }] : []),
        ...(nested?.aurocMean != null ? [{ key: 'nested_auroc_mean', value: nested.aurocMean }] : []),
        ...(nested?.aurocSd != null ? [{ key: 'nested_auroc_sd', value: nested.aurocSd }] : []),
      ]);
      await registry.endRun(parent.runId, 'FINISHED');
      return {
        best: {
          params: study.best.params,
          auroc: study.best.value,
          trial: study.best.trial,
          resource: study.best.resource,
        },
        trials,
        parentRunId: parent.runId,
        strategy: {
          sampler: c.sampler,
          scheduler: c.scheduler,
          jobs: study.jobs,
          concurrency: c.concurrency,
        },
        nested,
      };
    } catch (error) {
      // leave no run RUNNING: the trials and the tuning run end FAILED (best effort), the error goes on
      for (const runs of opened) await runs.finish('FAILED').catch(() => {});
      for (const id of [...outerIds, parent.runId]) await registry.endRun(id, 'FAILED').catch(() => {});
      throw error;
    }
  },
});

/**
 * One registry run per trial, a child of `parent`: created when the trial starts (params
 * without the resource, which changes as it is promoted), `cv_auroc` logged at each rung
 * with the rung's resource as the step, ended when the study ends with its last rung tagged.
 */
class TrialRuns {
  readonly #runs = new Map<number, string>();
  readonly #registry: Registry;
  readonly #experiment: string;
  readonly #parent: string;
  readonly #vigilRunId: string;
  readonly #resourceParam: string | undefined;
  readonly #prefix: string;
  readonly #last = new Map<number, TrialJob>();
  readonly #ended = new Set<number>();

  constructor(
    registry: Registry,
    experiment: string,
    parent: string,
    vigilRunId: string,
    resourceParam: string | undefined,
    prefix: string,
  ) {
    this.#registry = registry;
    this.#experiment = experiment;
    this.#parent = parent;
    this.#vigilRunId = vigilRunId;
    this.#resourceParam = resourceParam;
    this.#prefix = prefix;
  }

  runId(trial: number): string | undefined {
    return this.#runs.get(trial);
  }

  hooks(progressed: () => void, signal: AbortSignal) {
    return {
      signal,
      onStart: async (job: TrialJob) => {
        this.#last.set(job.trial, job);
        if (this.#runs.has(job.trial)) return;
        const run = await this.#registry.createRun({
          experiment: this.#experiment,
          name: `${this.#prefix}-${job.trial}`,
          tags: {
            'mlflow.parentRunId': this.#parent,
            'vigil.runId': this.#vigilRunId,
            'vigil.trial': String(job.trial),
            'vigil.tune.bracket': String(job.bracket),
          },
        });
        this.#runs.set(job.trial, run.runId);
        const { [this.#resourceParam ?? '']: _resource, ...params } = job.params;
        await this.#registry.logParams(run.runId, params);
      },
      onResult: async (job: TrialJob, value: number | null) => {
        progressed();
        if (value !== null)
          await this.#registry.logMetrics(this.#runs.get(job.trial)!, [
            { key: 'cv_auroc', value, step: job.resource },
          ]);
      },
    };
  }

  /** End every trial run (once), tagging its last rung. */
  async finish(status: 'FINISHED' | 'FAILED' = 'FINISHED'): Promise<void> {
    const open = [...this.#runs].filter(([trial]) => !this.#ended.has(trial)).sort(([a], [b]) => a - b);
    for (const [trial, runId] of open) {
      this.#ended.add(trial);
      const last = this.#last.get(trial)!;
      await this.#registry.setRunTag(runId, 'vigil.tune.rung', String(last.rung));
      await this.#registry.setRunTag(runId, 'vigil.tune.resource', String(last.resource));
      await this.#registry.endRun(runId, status);
    }
  }
}
