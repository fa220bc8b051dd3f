import { describe, expect, it } from 'vitest';
import { jobConfigSchema } from '../config.js';
import {
  resolveStrategy,
  resolveTuning,
  resourceParam,
  TUNING_DEFAULTS,
  tuneConfigSchema,
} from './tune-config.js';

/** Issues of a job section with this tune section (and model), as path + message. */
const issues = (tune: unknown, model: unknown = { algorithm: 'gbt' }) => {
  const r = jobConfigSchema.safeParse({ tune, model });
  return r.success ? [] : r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
};

describe('job.tune config', () => {
  it('defaults: off (0 trials), TPE + ASHA when turned on, not nested, one evaluation at a time', () => {
    const t = tuneConfigSchema.parse(undefined);
    expect(t.trials).toBe(0);
    expect(resolveStrategy(t)).toEqual({ sampler: 'tpe', scheduler: 'asha' });
    expect(t.nested).toBe(false);
    expect(t.concurrency).toBe(1);
    expect(t.resource).toEqual({ eta: 3 });
    expect(t.tpe).toEqual({ startupTrials: 10, candidates: 24, gamma: 0.1, priorWeight: 1 });
    expect(jobConfigSchema.parse({}).tune).toEqual(t);
  });

  it('space and resource default per algorithm: boosting rounds for gbt, epochs for tcn', () => {
    const t = tuneConfigSchema.parse({ trials: 10 });
    const gbt = resolveTuning(t, 'gbt');
    expect(gbt.ok && gbt.value.resource).toEqual({ param: 'nEstimators', min: 25, max: 400, eta: 3 });
    expect(gbt.ok && Object.keys(gbt.value.space).sort()).toEqual([
      'colsample',
      'learningRate',
      'maxDepth',
      'minChildWeight',
      'subsample',
    ]);
    const tcn = resolveTuning(t, 'tcn');
    expect(tcn.ok && tcn.value.resource).toEqual({ param: 'maxEpochs', min: 3, max: 27, eta: 3 });
    expect(tcn.ok && tcn.value.space).toEqual(TUNING_DEFAULTS.tcn!.space);
    // what is given wins
    const mine = resolveTuning(
      tuneConfigSchema.parse({ space: { lambda: { low: 0.1, high: 10, log: true } }, resource: { max: 90 } }),
      'gbt',
    );
    expect(mine.ok && mine.value.resource).toEqual({ param: 'nEstimators', min: 25, max: 90, eta: 3 });
    expect(mine.ok && Object.keys(mine.value.space)).toEqual(['lambda']);
    expect(resourceParam(t, 'logistic')).toBeUndefined();
    expect(resourceParam(tuneConfigSchema.parse({ resource: { param: 'maxIter' } }), 'logistic')).toBe(
      'maxIter',
    );
  });

  it('method is a shorthand (random and halving keep their meaning)', () => {
    const of = (method: string) => resolveStrategy(tuneConfigSchema.parse({ trials: 4, method }));
    expect(of('random')).toEqual({ sampler: 'random', scheduler: 'none' });
    expect(of('halving')).toEqual({ sampler: 'random', scheduler: 'halving' });
    expect(of('tpe')).toEqual({ sampler: 'tpe', scheduler: 'none' });
    expect(of('asha')).toEqual({ sampler: 'tpe', scheduler: 'asha' });
    expect(of('hyperband')).toEqual({ sampler: 'tpe', scheduler: 'hyperband' });
    expect(resolveStrategy(tuneConfigSchema.parse({ sampler: 'random', scheduler: 'hyperband' }))).toEqual({
      sampler: 'random',
      scheduler: 'hyperband',
    });
  });

  it('names the field of every mistake, all at once', () => {
    expect(
      issues({
        trials: 20,
        method: 'asha',
        sampler: 'random',
        space: { nEstimators: { low: 10, high: 100 } },
        resource: { min: 50, max: 10 },
        tpe: { gamma: 1.5 },
        concurrency: 0,
      })
        .map((i) => i.path)
        .sort(),
    ).toEqual([
      'tune.concurrency',
      'tune.method',
      'tune.resource.max',
      'tune.space.nEstimators',
      'tune.tpe.gamma',
    ]);
    // a section that is not even an object is reported as such, nothing else
    expect(issues(5).map((i) => i.path)).toEqual(['tune']);
    expect(issues({ trials: 3 }, 7).map((i) => i.path)).toEqual(['model']);
    const cross = issues({
      trials: 20,
      space: { nEstimators: { low: 10, high: 100 } },
      resource: { min: 50, max: 10 },
    });
    expect(cross.map((i) => i.path).sort()).toEqual(['tune.resource.max', 'tune.space.nEstimators']);
    const both = issues({ method: 'asha', sampler: 'random' });
    expect(both.map((i) => i.path)).toEqual(['tune.method']);
    expect(both[0]!.message).toMatch(/either method or sampler\/scheduler/);
    expect(issues({ method: 'bayes' })[0]!.path).toBe('tune.method');
    // a range over the resource is fine without a scheduler
    expect(
      issues({ trials: 5, scheduler: 'none', space: { nEstimators: { low: 10, high: 100, integer: true } } }),
    ).toEqual([]);
  });

  it('the ensemble (the default model) has no default space or resource: tuning it names both, tuning off is fine', () => {
    const ensemble = { algorithm: 'ensemble' };
    expect(issues({}, ensemble)).toEqual([]);
    const off = jobConfigSchema.safeParse({});
    expect(off.success).toBe(true);
    const on = issues({ trials: 10 }, ensemble);
    expect(on.map((i) => i.path).sort()).toEqual(['tune.resource.param', 'tune.space']);
    expect(on.find((i) => i.path === 'tune.space')!.message).toMatch(/gbt\.maxDepth/);
    expect(
      issues(
        {
          trials: 10,
          space: { 'gbt.maxDepth': { low: 2, high: 4, integer: true } },
          resource: { param: 'gbt.nEstimators', min: 100, max: 900 },
        },
        ensemble,
      ),
    ).toEqual([]);
  });
});
