import { type TrainSpec, VigilError } from '@vigil/core';

interface NumericParam {
  default: number;
  integer?: boolean;
  /** Inclusive lower bound unless `minExclusive`. */
  min: number;
  minExclusive?: boolean;
  max: number;
  description: string;
}

/** Hyper-parameters of histogram gradient boosting with logistic loss. */
export const GBT_PARAMS = {
  nEstimators: { default: 200, integer: true, min: 1, max: 100_000, description: 'boosting rounds (trees)' },
  learningRate: { default: 0.05, min: 0, minExclusive: true, max: 10, description: 'shrinkage per tree' },
  maxDepth: { default: 4, integer: true, min: 1, max: 16, description: 'depth of each tree' },
  minChildWeight: { default: 1, min: 0, max: Number.MAX_VALUE, description: 'minimum hessian sum per child' },
  lambda: { default: 1, min: 0, max: Number.MAX_VALUE, description: 'L2 penalty on leaf values' },
  subsample: { default: 1, min: 0, minExclusive: true, max: 1, description: 'row fraction sampled per tree' },
  colsample: {
    default: 1,
    min: 0,
    minExclusive: true,
    max: 1,
    description: 'feature fraction sampled per tree',
  },
  earlyStoppingRounds: {
    default: 30,
    integer: true,
    min: 1,
    max: 100_000,
    description: 'rounds without validation-logloss improvement before stopping',
  },
} satisfies Record<string, NumericParam>;

/** Hyper-parameters of L2-regularised logistic regression (sklearn's `C` convention). */
export const LOGISTIC_PARAMS = {
  c: { default: 1, min: 0, minExclusive: true, max: Number.MAX_VALUE, description: 'inverse L2 strength' },
  maxIter: { default: 500, integer: true, min: 1, max: 1_000_000, description: 'L-BFGS iterations' },
  tol: {
    default: 1e-6,
    min: 0,
    minExclusive: true,
    max: 1,
    description: 'gradient-norm convergence tolerance',
  },
} satisfies Record<string, NumericParam>;

export const ALGORITHMS = { gbt: GBT_PARAMS, logistic: LOGISTIC_PARAMS } as const;
export type Algorithm = keyof typeof ALGORITHMS;
export type GbtParams = { [K in keyof typeof GBT_PARAMS]: number };
export type LogisticParams = { [K in keyof typeof LOGISTIC_PARAMS]: number };

function invalid(message: string): VigilError {
  return new VigilError('VIGIL_TRAINER_INVALID_SPEC', message);
}

/** Validate a spec and fill in defaults; every problem names the offending field. */
export function resolveSpec(
  spec: TrainSpec,
): { algorithm: 'gbt'; params: GbtParams } | { algorithm: 'logistic'; params: LogisticParams } {
  if (!spec || typeof spec !== 'object') throw invalid('spec must be an object');
  const algorithm = spec.algorithm;
  if (!Object.hasOwn(ALGORITHMS, algorithm)) {
    throw invalid(
      `spec.algorithm '${String(algorithm)}' is unknown; expected one of ${Object.keys(ALGORITHMS).join(', ')}`,
    );
  }
  if (!Number.isInteger(spec.seed)) throw invalid(`spec.seed must be an integer, got ${String(spec.seed)}`);
  const defs: Record<string, NumericParam> = ALGORITHMS[algorithm as Algorithm];
  const given = spec.params ?? {};
  if (typeof given !== 'object') throw invalid('spec.params must be an object');
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(defs, key)) {
      throw invalid(
        `spec.params.${key} is not a parameter of '${algorithm}'; known: ${Object.keys(defs).join(', ')}`,
      );
    }
  }
  const params: Record<string, number> = {};
  for (const [key, def] of Object.entries(defs)) {
    const value = given[key] ?? def.default;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw invalid(
        `spec.params.${key} must be a finite number (${def.description}), got ${JSON.stringify(value)}`,
      );
    }
    if (def.integer && !Number.isInteger(value))
      throw invalid(`spec.params.${key} must be an integer, got ${value}`);
    const belowMin = def.minExclusive ? value <= def.min : value < def.min;
    if (belowMin || value > def.max) {
      const lower = def.minExclusive ? `> ${def.min}` : `>= ${def.min}`;
      throw invalid(`spec.params.${key} must be ${lower} and <= ${def.max}, got ${value}`);
    }
    params[key] = value;
  }
  return algorithm === 'gbt'
    ? { algorithm, params: params as GbtParams }
    : { algorithm: 'logistic', params: params as LogisticParams };
}
