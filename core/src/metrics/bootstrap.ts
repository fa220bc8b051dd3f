import { createRng, type Rng } from '../random.js';

/**
 * Stratified bootstrap over binary labels: each replicate draws as many positives as
 * there are, with replacement, from the positives, and likewise the negatives, so every
 * replicate keeps the class balance and never becomes single-class. A replicate is
 * returned as per-row counts (reused buffer: read it before the next call).
 */
export function stratifiedResampler(labels: ArrayLike<number>, seed: number | string): () => Uint32Array {
  const positives: number[] = [];
  const negatives: number[] = [];
  for (let i = 0; i < labels.length; i++) (labels[i] === 1 ? positives : negatives).push(i);
  const rng: Rng = createRng(seed).fork('stratified-bootstrap');
  const counts = new Uint32Array(labels.length);
  return () => {
    counts.fill(0);
    for (let k = 0; k < positives.length; k++) counts[positives[rng.int(positives.length)]!]!++;
    for (let k = 0; k < negatives.length; k++) counts[negatives[rng.int(negatives.length)]!]!++;
    return counts;
  };
}

export function checkBootstrapOptions(fn: string, samples: number, level: number): void {
  if (!Number.isInteger(samples) || samples < 1)
    throw new RangeError(`${fn}: samples must be a positive integer, got ${samples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`${fn}: level must be in (0, 1), got ${level}`);
}
