import type { ModelArtifact, TrainingSet } from '@vigil/core';
import type { Calibrator } from '../calibration/calibrator.js';
import type { LogisticParams } from '../spec/train-params.js';
import type { RunControl } from '../training/run-control.js';
import { lbfgs } from './lbfgs.js';
import { logisticRegressionOnnx } from './logistic-regression-onnx.js';

export interface LogisticTrainOutcome {
  artifact: ModelArtifact;
  /** The same model exported again, with a calibrator inside the graph. */
  build(calibration?: Calibrator): ModelArtifact;
  iterations: number;
  converged: boolean;
}

/** Column means and standard deviations over non-missing values (sd 1 for constant or empty columns). */
function columnMoments(x: Float32Array, rows: number, d: number): { mean: Float64Array; sd: Float64Array } {
  const mean = new Float64Array(d);
  const sd = new Float64Array(d);
  const count = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < d; j++) {
      const v = x[r * d + j]!;
      if (!Number.isNaN(v)) {
        mean[j] = mean[j]! + v;
        count[j] = count[j]! + 1;
      }
    }
  }
  for (let j = 0; j < d; j++) mean[j] = count[j]! > 0 ? mean[j]! / count[j]! : 0;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < d; j++) {
      const v = x[r * d + j]!;
      if (!Number.isNaN(v)) sd[j] = sd[j]! + (v - mean[j]!) ** 2;
    }
  }
  for (let j = 0; j < d; j++) {
    const s = count[j]! > 0 ? Math.sqrt(sd[j]! / count[j]!) : 0;
    sd[j] = s > 1e-12 ? s : 1;
  }
  return { mean, sd };
}

/**
 * L2-regularised logistic regression on standardised features (NaN → training mean), fitted
 * with L-BFGS. Objective (sklearn's convention with C = `c`): ½‖w‖² + C Σᵢ logloss(yᵢ, σ(b + w·zᵢ)),
 * scaled by 1/(C n); the intercept is not penalised. Coefficients are mapped back to the raw
 * feature scale for export.
 */
export async function trainLogistic(
  data: TrainingSet,
  params: LogisticParams,
  control: RunControl,
): Promise<LogisticTrainOutcome> {
  const rows = data.y.length;
  const d = data.featureNames.length;
  const { mean, sd } = columnMoments(data.x, rows, d);
  const z = new Float64Array(rows * d);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < d; j++) {
      const v = data.x[r * d + j]!;
      z[r * d + j] = Number.isNaN(v) ? 0 : (v - mean[j]!) / sd[j]!;
    }
  }
  const y = data.y;
  const penalty = 1 / (params.c * rows);
  // theta = [w_0 … w_{d-1}, b]
  const evaluate = (theta: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    const b = theta[d]!;
    let loss = 0;
    for (let r = 0; r < rows; r++) {
      const base = r * d;
      let m = b;
      for (let j = 0; j < d; j++) m += theta[j]! * z[base + j]!;
      // log(1 + e^{-m}) for y=1, log(1 + e^{m}) for y=0, computed stably.
      const s = y[r] === 1 ? -m : m;
      loss += s > 0 ? s + Math.log1p(Math.exp(-s)) : Math.log1p(Math.exp(s));
      const p = 1 / (1 + Math.exp(-m));
      const residual = p - y[r]!;
      for (let j = 0; j < d; j++) grad[j] = grad[j]! + residual * z[base + j]!;
      grad[d] = grad[d]! + residual;
    }
    let reg = 0;
    for (let j = 0; j < d; j++) {
      reg += theta[j]! * theta[j]!;
      grad[j] = grad[j]! / rows + penalty * theta[j]!;
    }
    grad[d] = grad[d]! / rows;
    return loss / rows + 0.5 * penalty * reg;
  };
  const result = await lbfgs(evaluate, new Float64Array(d + 1), {
    maxIter: params.maxIter,
    gradientTolerance: params.tol,
    onIteration: async (iteration, value) => {
      control.progress(iteration / params.maxIter, `iteration ${iteration}`, { objective: value });
      await control.checkpoint();
    },
  });
  const weights: number[] = [];
  let bias = result.x[d]!;
  for (let j = 0; j < d; j++) {
    const w = result.x[j]! / sd[j]!;
    weights.push(w);
    bias -= w * mean[j]!;
  }
  const build = (calibration?: Calibrator) =>
    logisticRegressionOnnx({
      weights,
      bias,
      featureNames: data.featureNames,
      imputeValues: Array.from(mean),
      ...(calibration ? { calibration } : {}),
    });
  return { artifact: build(), build, iterations: result.iterations, converged: result.converged };
}
