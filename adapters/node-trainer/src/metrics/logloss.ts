/** Mean binary cross-entropy of probabilities against 0/1 labels, probabilities clipped to [1e-15, 1 − 1e-15]. */
export function logloss(probabilities: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = probabilities.length;
  if (labels.length !== n) throw new RangeError(`logloss: ${n} probabilities but ${labels.length} labels`);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.min(Math.max(probabilities[i]!, 1e-15), 1 - 1e-15);
    sum -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / n;
}
