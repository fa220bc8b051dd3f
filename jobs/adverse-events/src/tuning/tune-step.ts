import { auroc, defineStep, type Registry } from '@vigil/core';
import { DEFAULT_PARAMS } from '../config.js';
import { groupedStratifiedFolds } from '../evaluation/grouped-folds.js';
import { withoutTestPatients } from '../evaluation/without-test-patients.js';
import { splitPatients, subset } from '../pipeline/training-set.js';
import type { PatientSplit, StoredDataset } from '../steps/feature-steps.js';
import type { AdverseEventsConfig } from '../steps/job-config.js';
import { halvingSchedule, type ParamRange, type Params, sampleConfigurations } from './search-space.js';

type TuneSlice = {
  algorithm: string;
  base: Params;
  seed: number;
  experiment: string;
  trials: number;
  method: 'random' | 'halving';
  folds: number;
  space: Record<string, ParamRange>;
  resource: { param: string; min: number; max: number; eta: number };
};

export interface TrialResult {
  trial: number;
  params: Params;
  /** Resource (e.g. boosting rounds) of the trial's last rung. */
  resource: number | null;
  /** Mean AUROC over the inner folds at that resource. */
  auroc: number | null;
  runId: string;
}

/**
 * tune: seeded random search, or successive halving over a resource (boosting rounds), on
 * patient-grouped inner folds of the non-test patients. Each trial is a child run of the
 * tuning run in the registry (`mlflow.parentRunId`). The test patients never reach it.
 */
export const tuneStep = defineStep<AdverseEventsConfig, TuneSlice>({
  name: 'tune',
  version: 1,
  description:
    'Hyper-parameter search (random or successive halving) on grouped inner folds; trials as child runs.',
  inputs: ['training-set.dataset', 'training-set.split'],
  outputs: ['best', 'trials', 'parentRunId'],
  requires: ['trainer', 'registry'],
  pool: 'trainer',
  config: (c) => ({
    algorithm: c.job.model.algorithm,
    base: c.job.model.params ?? DEFAULT_PARAMS[c.job.model.algorithm] ?? {},
    seed: c.seed,
    experiment: c.job.model.experiment,
    ...c.job.tune,
  }),
  async run(ctx, inputs) {
    const c = ctx.config;
    const trainer = ctx.port('trainer');
    const registry = ctx.port('registry');
    const split = inputs['training-set.split'] as PatientSplit;
    const rest = withoutTestPatients(inputs['training-set.dataset'] as StoredDataset, split);
    const folds = groupedStratifiedFolds(rest.groups, rest.y, {
      k: c.folds,
      seed: c.seed,
      testPatients: split.test,
    });
    const configurations = sampleConfigurations(c.space, c.trials, c.seed);
    const parent = await registry.createRun({
      experiment: c.experiment,
      name: `tune-${ctx.runId.slice(0, 8)}`,
      tags: { 'vigil.runId': ctx.runId, 'vigil.tune.method': c.method },
    });
    const total =
      c.method === 'halving'
        ? halvingSchedule(c.trials, {
            minResource: c.resource.min,
            maxResource: c.resource.max,
            eta: c.resource.eta,
          }).reduce((a, r) => a + r.keep, 0)
        : c.trials;
    let done = 0;
    /** Mean inner-fold AUROC of one configuration. */
    const score = async (params: Params): Promise<number | null> => {
      const aurocs: number[] = [];
      for (let fold = 0; fold < folds.k; fold++) {
        const testPatients = new Set([...folds.patientFold].filter(([, f]) => f === fold).map(([p]) => p));
        const trainPatients = [...folds.patientFold.keys()].filter((p) => !testPatients.has(p));
        const [validation, train] = splitPatients(trainPatients, [0.15], c.seed) as [string[], string[]];
        const result = await trainer.train(
          subset(rest, new Set(train)),
          { algorithm: c.algorithm, params, seed: c.seed },
          { validation: subset(rest, new Set(validation)), signal: ctx.signal },
        );
        const test = subset(rest, testPatients);
        const a = auroc(await trainer.predict(result.artifact, test.x, test.y.length), test.y);
        if (a !== null) aurocs.push(a);
      }
      ctx.progress(++done, total, `trial ${done}/${total}`);
      return aurocs.length ? aurocs.reduce((x, y) => x + y, 0) / aurocs.length : null;
    };
    const results: TrialResult[] = [];
    const log = async (trial: number, params: Params, resource: number | null, value: number | null) => {
      const run = await childRun(registry, c.experiment, parent.runId, trial, ctx.runId);
      await registry.logParams(run, params);
      if (value !== null) await registry.logMetrics(run, [{ key: 'cv_auroc', value, step: resource ?? 0 }]);
      await registry.endRun(run, 'FINISHED');
      return run;
    };
    if (c.method === 'random') {
      for (const [i, p] of configurations.entries()) {
        const params = { ...c.base, ...p };
        const value = await score(params);
        results.push({
          trial: i,
          params,
          resource: null,
          auroc: value,
          runId: await log(i, params, null, value),
        });
      }
    } else {
      let alive = configurations.map((p, i) => ({
        trial: i,
        params: { ...c.base, ...p } as Params,
        auroc: null as number | null,
      }));
      const rungs = halvingSchedule(c.trials, {
        minResource: c.resource.min,
        maxResource: c.resource.max,
        eta: c.resource.eta,
      });
      for (const [r, rung] of rungs.entries()) {
        for (const t of alive) t.auroc = await score({ ...t.params, [c.resource.param]: rung.resource });
        alive.sort((a, b) => (b.auroc ?? -1) - (a.auroc ?? -1) || a.trial - b.trial);
        const next = rungs[r + 1];
        const stopped = next ? alive.slice(next.keep) : [];
        for (const t of next ? stopped : alive) {
          const params = { ...t.params, [c.resource.param]: rung.resource };
          results.push({
            trial: t.trial,
            params,
            resource: rung.resource,
            auroc: t.auroc,
            runId: await log(t.trial, params, rung.resource, t.auroc),
          });
        }
        if (next) alive = alive.slice(0, next.keep);
      }
    }
    results.sort((a, b) => a.trial - b.trial);
    const best = [...results].sort((a, b) => (b.auroc ?? -1) - (a.auroc ?? -1) || a.trial - b.trial)[0]!;
    await registry.logParams(parent.runId, { best_trial: best.trial, method: c.method, trials: c.trials });
    if (best.auroc !== null)
      await registry.logMetrics(parent.runId, [{ key: 'best_cv_auroc', value: best.auroc }]);
    await registry.endRun(parent.runId, 'FINISHED');
    return {
      best: { params: best.params, auroc: best.auroc, trial: best.trial },
      trials: results,
      parentRunId: parent.runId,
    };
  },
});

async function childRun(
  registry: Registry,
  experiment: string,
  parent: string,
  trial: number,
  runId: string,
): Promise<string> {
  const run = await registry.createRun({
    experiment,
    name: `trial-${trial}`,
    tags: { 'mlflow.parentRunId': parent, 'vigil.runId': runId, 'vigil.trial': String(trial) },
  });
  return run.runId;
}
