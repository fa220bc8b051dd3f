import { checkBinaryInput, checkProbabilities } from './binary-input.js';

/** Brier score: the mean squared difference between the predicted probability and the 0/1 outcome. */
export function brierScore(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkBinaryInput('brierScore', scores, labels);
  checkProbabilities('brierScore', scores);
  if (scores.length === 0) throw new RangeError('brierScore: no rows');
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += (scores[i]! - labels[i]!) ** 2;
  return sum / scores.length;
}
