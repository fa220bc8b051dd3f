import type { TrainingSet } from '../domain/dataset.js';
import { VigilError } from '../errors.js';

/** A row-per-point training set, optionally with each row's time (then rows may come in any order). */
export type SequenceSource = Pick<TrainingSet, 'featureNames' | 'x' | 'groups'> & {
  /** Time of each row (Date or epoch ms). Without it, rows are taken to be in time order within a group. */
  at?: ArrayLike<Date | number>;
};

function invalid(message: string): VigilError {
  return new VigilError('VIGIL_TRAINER_INVALID_DATASET', message);
}

/**
 * Turn a row-per-point set (one row per patient and time) into the TCN's input matrix
 * `[rows, L·d]`, time-major: for each row, the L − 1 earlier rows of the same group (patient)
 * then the row itself, so step L − 1 (the last d columns) is the row and step 0 the oldest.
 * A patient with fewer than L − 1 earlier rows is padded with NaN (missing) at the start.
 *
 * "Earlier" is by `at` when given (rows at the same time as the row are not its history; ties
 * between earlier rows keep their order in the set), otherwise by position within the group.
 * Output row i belongs to input row i.
 */
export function toSequences(set: SequenceSource, sequenceLength: number): Float32Array {
  const L = sequenceLength;
  if (!Number.isInteger(L) || L < 1) throw invalid(`sequenceLength must be an integer >= 1, got ${L}`);
  const d = set.featureNames.length;
  const rows = set.groups.length;
  if (set.x.length !== rows * d) {
    throw invalid(`x has ${set.x.length} values but groups × features = ${rows} × ${d} = ${rows * d}`);
  }
  const times = set.at === undefined ? undefined : Float64Array.from(set.at, (t) => +t);
  if (times !== undefined) {
    if (times.length !== rows) throw invalid(`at has ${times.length} entries, expected ${rows}`);
    const bad = times.findIndex((t) => !Number.isFinite(t));
    if (bad >= 0) throw invalid(`at[${bad}] is not a valid time`);
  }
  const byGroup = new Map<string, number[]>();
  for (let r = 0; r < rows; r++) {
    const g = set.groups[r]!;
    const list = byGroup.get(g);
    if (list) list.push(r);
    else byGroup.set(g, [r]);
  }
  const out = new Float32Array(rows * L * d).fill(Number.NaN);
  const width = L * d;
  for (const list of byGroup.values()) {
    if (times !== undefined) list.sort((a, b) => times[a]! - times[b]! || a - b);
    for (let k = 0; k < list.length; k++) {
      const row = list[k]!;
      const base = row * width;
      // The row itself is the last step.
      out.set(set.x.subarray(row * d, row * d + d), base + (L - 1) * d);
      // Its history: earlier rows (strictly earlier in time when `at` is given).
      let step = L - 2;
      let h = k - 1;
      if (times !== undefined) while (h >= 0 && times[list[h]!]! >= times[row]!) h--;
      for (; step >= 0 && h >= 0; step--, h--) {
        const src = list[h]!;
        out.set(set.x.subarray(src * d, src * d + d), base + step * d);
      }
    }
  }
  return out;
}

/**
 * The current row of each sequence: the last `d` of every `width` values (`width = L·d`, oldest
 * step first, as toSequences lays them out). Row inputs (`width = d`) come back as they are.
 */
export function lastSteps(x: Float32Array, rows: number, width: number, d: number): Float32Array {
  if (width === d) return x;
  const out = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) out.set(x.subarray(r * width + width - d, (r + 1) * width), r * d);
  return out;
}
