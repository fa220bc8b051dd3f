import type { Trainer } from '@vigil/core';
import type { NestedFolds } from '../evaluation/grouped-folds.js';
import { type FoldRows, FoldScorer, type RowSet } from './fold-scorer.js';
import { type ResourceRange, RungScheduler, type SchedulerKind } from './rung-scheduler.js';
import { randomSampler, type Sampler, type TpeOptions, tpeSampler } from './samplers.js';
import type { ParamRange, Params } from './search-space.js';
import { runStudy, type StudyResult, type TrialJob } from './study.js';

/** Everything a tuning study needs besides the data and the trainer. */
export interface TuneSettings {
  algorithm: string;
  /** Params every trial starts from (model.params or the algorithm's defaults). */
  base: Params;
  seed: number;
  /** New configurations tried. */
  trials: number;
  sampler: 'random' | 'tpe';
  scheduler: SchedulerKind;
  concurrency: number;
  space: Record<string, ParamRange>;
  resource: ResourceRange;
  /** Where the rung's resource goes (undefined: nowhere; only with scheduler none). */
  resourceParam: string | undefined;
  tpe: TpeOptions;
}

export interface StudyHooks {
  onStart?(job: TrialJob): Promise<void> | void;
  onResult?(job: TrialJob, value: number | null): Promise<void> | void;
  signal?: AbortSignal;
}

export function makeSampler(s: Pick<TuneSettings, 'sampler' | 'space' | 'seed' | 'tpe'>): Sampler {
  return s.sampler === 'tpe' ? tpeSampler(s.space, s.seed, s.tpe) : randomSampler(s.space, s.seed);
}

export function makeScheduler(s: Pick<TuneSettings, 'scheduler' | 'trials' | 'resource'>): RungScheduler {
  return new RungScheduler(s.scheduler, s.trials, s.resource);
}

/** Tune on `folds` (row indices into `set`): each job is scored by its mean AUROC over them. */
export async function tuneOnFolds(
  trainer: Trainer,
  set: RowSet,
  folds: readonly FoldRows[],
  s: TuneSettings,
  hooks: StudyHooks = {},
): Promise<StudyResult> {
  const scorer = new FoldScorer(trainer, set, folds, {
    algorithm: s.algorithm,
    seed: s.seed,
    ...(hooks.signal ? { signal: hooks.signal } : {}),
  });
  return runStudy({
    sampler: makeSampler(s),
    scheduler: makeScheduler(s),
    base: s.base,
    resourceParam: s.resourceParam,
    concurrency: s.concurrency,
    evaluate: (job) => scorer.score(job.params),
    ...(hooks.onStart ? { onStart: hooks.onStart } : {}),
    ...(hooks.onResult ? { onResult: hooks.onResult } : {}),
    ...(hooks.signal ? { signal: hooks.signal } : {}),
  });
}

export interface OuterFoldResult {
  fold: number;
  /** Patients in the outer training part (tuned on) and the outer test part (scored). */
  patients: { train: number; test: number };
  /** The winner of the tuning inside the outer training part, with its inner-fold AUROC. */
  best: { trial: number; params: Params; cvAuroc: number | null };
  /** AUROC of the winner, refitted on the outer training part, on the outer test part. */
  auroc: number | null;
}

export interface NestedResult {
  folds: number;
  aurocs: (number | null)[];
  aurocMean: number | null;
  aurocSd: number | null;
  outer: OuterFoldResult[];
}

/** Mean and sample SD of the defined values. */
export function meanSd(values: readonly (number | null)[]): { mean: number | null; sd: number | null } {
  const ok = values.filter((a): a is number => a !== null);
  const mean = ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : null;
  const sd =
    mean !== null && ok.length > 1
      ? Math.sqrt(ok.reduce((a, b) => a + (b - mean) ** 2, 0) / (ok.length - 1))
      : null;
  return { mean, sd };
}

/**
 * Nested CV of the whole tuning procedure: for each outer fold, the same study (same
 * settings, same budget) runs on the inner folds of the outer training part only; its winner
 * is refitted on the outer training part (early-stopping on 15 % of its patients) and scored
 * on the outer test part, which the study never saw. The mean of those AUROCs estimates how
 * well "tune, then fit the best" generalises; the tuned model's own inner-CV score is
 * optimistic by selection.
 */
export async function nestedTuning(
  trainer: Trainer,
  set: RowSet,
  nested: NestedFolds,
  s: TuneSettings,
  hooks: { forFold?(fold: number): Promise<StudyHooks> | StudyHooks; signal?: AbortSignal } = {},
): Promise<NestedResult> {
  const outer: OuterFoldResult[] = [];
  for (const fold of nested.folds) {
    const studyHooks = (await hooks.forFold?.(fold.fold)) ?? {};
    const study = await tuneOnFolds(trainer, set, fold.inner, s, {
      ...studyHooks,
      ...(hooks.signal ? { signal: hooks.signal } : {}),
    });
    const refit = new FoldScorer(trainer, set, [{ train: fold.train, test: fold.test }], {
      algorithm: s.algorithm,
      seed: s.seed,
      ...(hooks.signal ? { signal: hooks.signal } : {}),
    });
    const patients = (rows: readonly number[]) => new Set(rows.map((i) => set.groups[i]!)).size;
    outer.push({
      fold: fold.fold,
      patients: { train: patients(fold.train), test: patients(fold.test) },
      best: { trial: study.best.trial, params: study.best.params, cvAuroc: study.best.value },
      auroc: await refit.score(study.best.params),
    });
  }
  const aurocs = outer.map((o) => o.auroc);
  const { mean, sd } = meanSd(aurocs);
  return { folds: outer.length, aurocs, aurocMean: mean, aurocSd: sd, outer };
}
