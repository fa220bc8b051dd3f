import { describe, expect, it } from 'vitest';
import { jobConfigSchema } from '../config.js';
import { resolveStrategy, resourceParam, tuneConfigSchema } from './tune-config.js';

const issues = (tune: unknown) => {
  const r = jobConfigSchema.safeParse({ tune });
  return r.success ? [] : r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
};

describe('job.tune config', () => {
  it('defaults: off (0 trials), TPE + ASHA when turned on, not nested, one evaluation at a time', () => {
    const t = tuneConfigSchema.parse(undefined);
    expect(t.trials).toBe(0);
    expect(resolveStrategy(t)).toEqual({ sampler: 'tpe', scheduler: 'asha' });
    expect(t.nested).toBe(false);
    expect(t.concurrency).toBe(1);
    expect(t.resource).toEqual({ min: 25, max: 400, eta: 3 });
    expect(t.tpe).toEqual({ startupTrials: 10, candidates: 24, gamma: 0.1, priorWeight: 1 });
    expect(Object.keys(t.space).sort()).toEqual([
      'colsample',
      'learningRate',
      'maxDepth',
      'minChildWeight',
      'subsample',
    ]);
    expect(jobConfigSchema.parse({}).tune).toEqual(t);
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

  it('the resource defaults to boosting rounds for gbt and epochs for tcn', () => {
    const t = tuneConfigSchema.parse({});
    expect(resourceParam(t, 'gbt')).toBe('nEstimators');
    expect(resourceParam(t, 'tcn')).toBe('maxEpochs');
    expect(resourceParam(t, 'logistic')).toBeUndefined();
    expect(resourceParam(tuneConfigSchema.parse({ resource: { param: 'maxIter' } }), 'logistic')).toBe(
      'maxIter',
    );
  });

  it('names the field of every mistake, all at once', () => {
    expect(
      issues({
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
    const cross = issues({
      method: 'asha',
      sampler: 'random',
      space: { nEstimators: { low: 10, high: 100 } },
    });
    expect(cross.map((i) => i.path).sort()).toEqual(['tune.method', 'tune.space.nEstimators']);
    expect(cross.find((i) => i.path === 'tune.method')!.message).toMatch(
      /either method or sampler\/scheduler/,
    );
    expect(issues({ method: 'bayes' })[0]!.path).toBe('tune.method');
    // a range over the resource is fine without a scheduler
    expect(
      issues({ scheduler: 'none', space: { nEstimators: { low: 10, high: 100, integer: true } } }),
    ).toEqual([]);
  });
});
