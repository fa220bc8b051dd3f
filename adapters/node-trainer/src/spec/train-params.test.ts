import { describe, expect, it } from 'vitest';
import { resolveSpec } from './train-params.js';

function rejects(spec: Parameters<typeof resolveSpec>[0], mention: RegExp) {
  try {
    resolveSpec(spec);
  } catch (error) {
    expect((error as { code?: string }).code).toBe('VIGIL_TRAINER_INVALID_SPEC');
    expect((error as Error).message).toMatch(mention);
    return;
  }
  throw new Error('expected resolveSpec to throw');
}

describe('resolveSpec', () => {
  it('fills defaults for each algorithm', () => {
    expect(resolveSpec({ algorithm: 'logistic', params: {}, seed: 0 }).params).toEqual({
      c: 1,
      maxIter: 500,
      tol: 1e-6,
      calibration: 'none',
    });
    const gbt = resolveSpec({ algorithm: 'gbt', params: { maxDepth: 6 }, seed: 0 });
    expect(gbt.algorithm === 'gbt' && gbt.params.maxDepth).toBe(6);
  });

  it('names the offending field', () => {
    rejects({ algorithm: 'xgboost', params: {}, seed: 0 }, /spec\.algorithm 'xgboost'.*gbt, logistic/);
    rejects({ algorithm: 'gbt', params: { depth: 3 }, seed: 0 }, /spec\.params\.depth.*maxDepth/);
    rejects(
      { algorithm: 'gbt', params: { nEstimators: 0 }, seed: 0 },
      /spec\.params\.nEstimators must be >= 1/,
    );
    rejects(
      { algorithm: 'gbt', params: { maxDepth: 2.5 }, seed: 0 },
      /spec\.params\.maxDepth must be an integer/,
    );
    rejects({ algorithm: 'gbt', params: { subsample: 0 }, seed: 0 }, /spec\.params\.subsample must be > 0/);
    rejects(
      { algorithm: 'gbt', params: { learningRate: '0.1' }, seed: 0 },
      /spec\.params\.learningRate must be a finite number/,
    );
    rejects({ algorithm: 'logistic', params: { c: -1 }, seed: 0 }, /spec\.params\.c must be > 0/);
    rejects(
      { algorithm: 'logistic', params: { nEstimators: 10 }, seed: 0 },
      /spec\.params\.nEstimators is not a parameter of 'logistic'/,
    );
    rejects({ algorithm: 'gbt', params: {}, seed: 1.5 }, /spec\.seed/);
  });
});
