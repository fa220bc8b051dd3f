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

/** A parameter that takes one of a fixed set of strings. */
interface EnumParam<V extends string = string> {
  default: V;
  values: readonly V[];
  description: string;
}

type ParamDef = NumericParam | EnumParam;

/** How the model's score is mapped to a calibrated probability inside the exported graph. */
export const CALIBRATION_METHODS = ['none', 'platt', 'isotonic'] as const;
export type CalibrationMethod = (typeof CALIBRATION_METHODS)[number];

/** Every algorithm takes this parameter. */
const CALIBRATION_PARAM = {
  calibration: {
    default: 'none',
    values: CALIBRATION_METHODS,
    description:
      "calibrator fitted on options.validation and exported inside the ONNX graph: 'none', 'platt' (sigmoid of an affine map of the score) or 'isotonic' (piecewise-linear)",
  } satisfies EnumParam<CalibrationMethod>,
};

/** Hyper-parameters of histogram gradient boosting with logistic loss. */
export const GBT_PARAMS = {
  nEstimators: { default: 200, integer: true, min: 1, max: 100_000, description: 'boosting rounds (trees)' },
  learningRate: { default: 0.05, min: 0, minExclusive: true, max: 10, description: 'shrinkage per tree' },
  maxDepth: { default: 4, integer: true, min: 1, max: 16, description: 'depth of each tree' },
  minChildWeight: { default: 1, min: 0, max: Number.MAX_VALUE, description: 'minimum hessian sum per child' },
  minSamplesLeaf: {
    default: 1,
    integer: true,
    min: 1,
    max: 1_000_000_000,
    description:
      "minimum training rows per child, missing-value rows included (scikit-learn HGB's min_samples_leaf, whose default is 20)",
  },
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
  ...CALIBRATION_PARAM,
} satisfies Record<string, ParamDef>;

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
  ...CALIBRATION_PARAM,
} satisfies Record<string, ParamDef>;

/** Deepest CART tree this trainer grows (a backup tree must stay readable as rules). */
export const CART_MAX_DEPTH = 4;
export const CART_CRITERIA = ['gini', 'log_loss'] as const;
export type CartCriterion = (typeof CART_CRITERIA)[number];

/** Hyper-parameters of a single CART classification tree (the readable backup model). */
export const CART_PARAMS = {
  maxDepth: {
    default: CART_MAX_DEPTH,
    integer: true,
    min: 1,
    max: CART_MAX_DEPTH,
    description: `depth of the tree (at most ${CART_MAX_DEPTH})`,
  },
  minSamplesLeaf: {
    default: 20,
    integer: true,
    min: 1,
    max: 1_000_000_000,
    description: 'minimum training rows in each leaf (missing-value rows included)',
  },
  minImpurityDecrease: {
    default: 0,
    min: 0,
    max: 1,
    description:
      "a node is split only if the weighted impurity decreases by at least this (sklearn's convention)",
  },
  criterion: {
    default: 'gini',
    values: CART_CRITERIA,
    description: "split criterion: 'gini' impurity or 'log_loss' (entropy, base 2)",
  } satisfies EnumParam<CartCriterion>,
  ...CALIBRATION_PARAM,
} satisfies Record<string, ParamDef>;

/**
 * Hyper-parameters of the temporal convolutional network (adapters/node-trainer README, "TCN").
 * The PyTorch trainer takes the same names with the same meaning.
 */
export const TCN_PARAMS = {
  sequenceLength: {
    default: 14,
    integer: true,
    min: 1,
    max: 1000,
    description:
      "L: time steps per sequence (the row and its patient's L − 1 earlier rows); the model's input is [N, L·d]",
  },
  blocks: {
    default: 3,
    integer: true,
    min: 1,
    max: 16,
    description: 'residual blocks; block b has dilation 2^b',
  },
  kernelSize: {
    default: 3,
    integer: true,
    min: 1,
    max: 32,
    description: 'kernel size of every causal convolution',
  },
  hidden: { default: 32, integer: true, min: 1, max: 1024, description: 'channels of every block' },
  dropout: {
    default: 0.1,
    min: 0,
    max: 0.9,
    description: 'dropout rate after each ReLU inside a block (training only)',
  },
  learningRate: { default: 0.001, min: 0, minExclusive: true, max: 1, description: 'Adam step size' },
  beta1: { default: 0.9, min: 0, max: 0.999999, description: "Adam's first-moment decay" },
  beta2: { default: 0.999, min: 0, max: 0.99999999, description: "Adam's second-moment decay" },
  epsilon: { default: 1e-8, min: 0, minExclusive: true, max: 1, description: "Adam's denominator epsilon" },
  batchSize: { default: 256, integer: true, min: 1, max: 1_000_000, description: 'sequences per mini-batch' },
  maxEpochs: {
    default: 50,
    integer: true,
    min: 1,
    max: 100_000,
    description: 'passes over the training set',
  },
  patience: {
    default: 5,
    integer: true,
    min: 1,
    max: 100_000,
    description: 'epochs without validation-logloss improvement before stopping (with options.validation)',
  },
  ...CALIBRATION_PARAM,
} satisfies Record<string, ParamDef>;

/**
 * Parameters of the stacked ensemble (TCN + GBT, adapters/node-trainer README, "Ensemble").
 * Its members' parameters are given with a prefix: `gbt.maxDepth`, `tcn.hidden`, …
 */
export const ENSEMBLE_PARAMS = {
  folds: {
    default: 5,
    integer: true,
    min: 2,
    max: 20,
    description: 'patient-grouped folds whose out-of-fold logits the stacker is fitted on',
  },
  ...CALIBRATION_PARAM,
} satisfies Record<string, ParamDef>;

/** The ensemble's members, by the prefix of their parameters. */
export const ENSEMBLE_MEMBERS = ['gbt', 'tcn'] as const;

export const ALGORITHMS = {
  gbt: GBT_PARAMS,
  logistic: LOGISTIC_PARAMS,
  cart: CART_PARAMS,
  tcn: TCN_PARAMS,
  ensemble: ENSEMBLE_PARAMS,
} as const;
export type Algorithm = keyof typeof ALGORITHMS;
type Resolved<T> = {
  [K in keyof T]: T[K] extends EnumParam<infer V> ? V : number;
};
export type GbtParams = Resolved<typeof GBT_PARAMS>;
export type LogisticParams = Resolved<typeof LOGISTIC_PARAMS>;
export type CartParams = Resolved<typeof CART_PARAMS>;
export type TcnParams = Resolved<typeof TCN_PARAMS>;
export type EnsembleParams = Resolved<typeof ENSEMBLE_PARAMS> & { gbt: GbtParams; tcn: TcnParams };
export type ResolvedSpec =
  | { algorithm: 'gbt'; params: GbtParams }
  | { algorithm: 'logistic'; params: LogisticParams }
  | { algorithm: 'cart'; params: CartParams }
  | { algorithm: 'tcn'; params: TcnParams }
  | { algorithm: 'ensemble'; params: EnsembleParams };

function invalid(message: string): VigilError {
  return new VigilError('VIGIL_TRAINER_INVALID_SPEC', message);
}

/** Validate a spec and fill in defaults; every problem names the offending field. */
export function resolveSpec(spec: TrainSpec): ResolvedSpec {
  if (!spec || typeof spec !== 'object') throw invalid('spec must be an object');
  const algorithm = spec.algorithm;
  if (!Object.hasOwn(ALGORITHMS, algorithm)) {
    throw invalid(
      `spec.algorithm '${String(algorithm)}' is unknown; expected one of ${Object.keys(ALGORITHMS).join(', ')}`,
    );
  }
  if (!Number.isInteger(spec.seed)) throw invalid(`spec.seed must be an integer, got ${String(spec.seed)}`);
  const given = spec.params ?? {};
  if (typeof given !== 'object') throw invalid('spec.params must be an object');
  if (algorithm === 'ensemble') return resolveEnsemble(given);
  return {
    algorithm,
    params: resolveParams(ALGORITHMS[algorithm as Algorithm], given, algorithm, 'spec.params'),
  } as ResolvedSpec;
}

/** The ensemble's own parameters, and each member's under its prefix (`gbt.…`, `tcn.…`). */
function resolveEnsemble(given: TrainSpec['params']): ResolvedSpec {
  const own: TrainSpec['params'] = {};
  const members: Record<string, TrainSpec['params']> = { gbt: {}, tcn: {} };
  for (const [key, value] of Object.entries(given)) {
    const dot = key.indexOf('.');
    const member = dot > 0 ? key.slice(0, dot) : '';
    if (dot < 0) own[key] = value;
    else if (member in members) {
      const name = key.slice(dot + 1);
      if (name === 'calibration') {
        throw invalid(
          `spec.params.${key}: members are not calibrated on their own; calibrate the ensemble with spec.params.calibration`,
        );
      }
      members[member]![name] = value;
    } else {
      throw invalid(
        `spec.params.${key} is not a parameter of 'ensemble'; member parameters start with ${ENSEMBLE_MEMBERS.map((m) => `'${m}.'`).join(' or ')}`,
      );
    }
  }
  const params = {
    ...(resolveParams(ENSEMBLE_PARAMS, own, 'ensemble', 'spec.params') as Resolved<typeof ENSEMBLE_PARAMS>),
    gbt: resolveParams(GBT_PARAMS, members.gbt!, 'gbt', 'spec.params.gbt') as unknown as GbtParams,
    tcn: resolveParams(TCN_PARAMS, members.tcn!, 'tcn', 'spec.params.tcn') as unknown as TcnParams,
  };
  return { algorithm: 'ensemble', params };
}

/** A resolved spec's parameters as one flat record (an ensemble's members under `gbt.` / `tcn.`). */
export function flatParams(resolved: ResolvedSpec): Record<string, number | string> {
  if (resolved.algorithm !== 'ensemble') return { ...resolved.params };
  const { gbt, tcn, ...own } = resolved.params;
  const out: Record<string, number | string> = { ...own };
  for (const [k, v] of Object.entries(gbt)) if (k !== 'calibration') out[`gbt.${k}`] = v;
  for (const [k, v] of Object.entries(tcn)) if (k !== 'calibration') out[`tcn.${k}`] = v;
  return out;
}

function resolveParams(
  defs: Record<string, ParamDef>,
  given: TrainSpec['params'],
  algorithm: string,
  path: string,
): Record<string, number | string> {
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(defs, key)) {
      throw invalid(
        `${path}.${key} is not a parameter of '${algorithm}'; known: ${Object.keys(defs).join(', ')}`,
      );
    }
  }
  const params: Record<string, number | string> = {};
  for (const [key, def] of Object.entries(defs)) {
    const value = given[key] ?? def.default;
    if ('values' in def) {
      if (typeof value !== 'string' || !def.values.includes(value)) {
        throw invalid(
          `${path}.${key} must be one of ${def.values.map((v) => `'${v}'`).join(', ')} (${def.description.split(':')[0]}), got ${JSON.stringify(value)}`,
        );
      }
      params[key] = value;
      continue;
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw invalid(
        `${path}.${key} must be a finite number (${def.description}), got ${JSON.stringify(value)}`,
      );
    }
    if (def.integer && !Number.isInteger(value))
      throw invalid(`${path}.${key} must be an integer, got ${value}`);
    const belowMin = def.minExclusive ? value <= def.min : value < def.min;
    if (belowMin || value > def.max) {
      const lower = def.minExclusive ? `> ${def.min}` : `>= ${def.min}`;
      throw invalid(`${path}.${key} must be ${lower} and <= ${def.max}, got ${value}`);
    }
    params[key] = value;
  }
  return params;
}
