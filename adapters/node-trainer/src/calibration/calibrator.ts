import { type IsotonicCalibrator, isotonicProbability } from './isotonic.js';
import { type PlattCalibrator, plattProbability } from './platt.js';

/** A calibrator fitted on validation scores; maps a model's score to a probability. */
export type Calibrator = PlattCalibrator | IsotonicCalibrator;

/** The calibrated probability of one score, in float64 (the fitted function itself). */
export function calibratedProbability(c: Calibrator, score: number): number {
  return c.method === 'platt' ? plattProbability(c, score) : isotonicProbability(c, score);
}
