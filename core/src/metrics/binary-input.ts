/**
 * Checks shared by the binary-classification metrics: scores and labels of the same
 * length, labels 0 or 1, scores finite. Errors name the function, the argument and the
 * first offending row.
 */
export function checkBinaryInput(fn: string, scores: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (labels.length !== scores.length)
    throw new RangeError(`${fn}: ${scores.length} scores but ${labels.length} labels`);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new RangeError(`${fn}: labels[${i}] is ${y}; labels must be 0 or 1`);
    if (!Number.isFinite(scores[i]))
      throw new RangeError(`${fn}: scores[${i}] is ${scores[i]}; scores must be finite`);
  }
}

/** Positives and negatives among the labels. */
export function classCounts(labels: ArrayLike<number>): { positives: number; negatives: number } {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) positives++;
  return { positives, negatives: labels.length - positives };
}

/** Rows in ascending score order, cut into runs of equal score (ties). */
export interface TieRuns {
  /** Row indices sorted by ascending score. */
  order: Int32Array;
  /** Start offsets into `order` of each run of equal scores, plus a final `order.length`. */
  starts: Int32Array;
}

export function tieRuns(scores: ArrayLike<number>): TieRuns {
  const n = scores.length;
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]! || a - b);
  const starts: number[] = [];
  for (let i = 0; i < n; i++) if (i === 0 || scores[order[i]!] !== scores[order[i - 1]!]) starts.push(i);
  starts.push(n);
  return { order, starts: Int32Array.from(starts) };
}

export function checkProbabilities(fn: string, scores: ArrayLike<number>): void {
  for (let i = 0; i < scores.length; i++)
    if (!(scores[i]! >= 0 && scores[i]! <= 1))
      throw new RangeError(`${fn}: scores[${i}] is ${scores[i]}; probabilities must lie in [0, 1]`);
}
