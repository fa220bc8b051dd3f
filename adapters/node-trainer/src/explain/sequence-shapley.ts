/** Scores `[rows, L·d]` sequences (NaN = missing); returns one raw score (logit) per row. */
export type SequenceScorer = (x: Float32Array, rows: number) => Float32Array;

export interface SequenceAttributions {
  /** The score of the all-missing sequence (every value at the training mean for the TCN). */
  base: number;
  /** Per row and feature (all L steps of the feature together), row-major `[rows, d]`. */
  values: Float64Array;
  /** Per row: the scorer's value for the row (float32 as computed), = base + Σ values. */
  raw: Float64Array;
}

/** Sequences scored per chunk: bounds the batch memory at about 16 MiB of float32 inputs. */
const CHUNK_VALUES = 4 << 20;

/**
 * Attribution of a sequence model's score to its d features, each feature taken over all L time
 * steps at once (the players of the game are the d features, not the L·d cells). The game:
 * v(S) = f(x with every feature outside S missing at every step), so v(∅) = f(all missing) is the
 * base and v(all) = f(x). For the TCN "missing" means the training mean (its graph maps NaN to a
 * standardised 0), so v(S) is the model with the other features held at their means.
 *
 * Each feature gets the mean of its two extreme marginal contributions, taken last (leave-one-out:
 * f(x) − f(x without j)) and taken first (add-one-in: f(base with j) − f(base)). That is exactly
 * its Shapley value when the game has no interaction among three or more features (additive plus
 * pairwise terms); what higher-order interactions leave over, the residual
 * `(f(x) − base) − Σ φ_j`, is spread over the features in proportion to |φ_j| (evenly if all are
 * 0), so `base + Σ values = f(x)` by construction. 2d + 1 scores per row (+ 1 for the base).
 * Deterministic: no sampling.
 */
export function sequenceShapley(
  score: SequenceScorer,
  x: Float32Array,
  rows: number,
  L: number,
  d: number,
): SequenceAttributions {
  const width = L * d;
  const perRow = 2 * d + 1;
  const baseline = new Float32Array(width).fill(Number.NaN);
  const base = score(baseline, 1)[0]!;
  const values = new Float64Array(rows * d);
  const raw = new Float64Array(rows);
  const chunkRows = Math.max(1, Math.floor(CHUNK_VALUES / (perRow * width)));
  const batch = new Float32Array(Math.min(rows, chunkRows) * perRow * width);
  for (let from = 0; from < rows; from += chunkRows) {
    const n = Math.min(chunkRows, rows - from);
    for (let r = 0; r < n; r++) {
      const row = x.subarray((from + r) * width, (from + r + 1) * width);
      const at = r * perRow * width;
      batch.set(row, at);
      for (let j = 0; j < d; j++) {
        // Sequence 1 + j: the row without feature j; sequence 1 + d + j: only feature j.
        const without = at + (1 + j) * width;
        const only = at + (1 + d + j) * width;
        batch.set(row, without);
        batch.fill(Number.NaN, only, only + width);
        for (let t = 0; t < L; t++) {
          batch[without + t * d + j] = Number.NaN;
          batch[only + t * d + j] = row[t * d + j]!;
        }
      }
    }
    const s = score(batch.subarray(0, n * perRow * width), n * perRow);
    for (let r = 0; r < n; r++) {
      const o = r * perRow;
      const fx = s[o]!;
      const phi = values.subarray((from + r) * d, (from + r + 1) * d);
      let sum = 0;
      let magnitude = 0;
      for (let j = 0; j < d; j++) {
        const last = fx - s[o + 1 + j]!;
        const first = s[o + 1 + d + j]! - base;
        phi[j] = 0.5 * (last + first);
        sum += phi[j]!;
        magnitude += Math.abs(phi[j]!);
      }
      const residual = fx - base - sum;
      for (let j = 0; j < d; j++) {
        phi[j] = phi[j]! + (magnitude > 0 ? (residual * Math.abs(phi[j]!)) / magnitude : residual / d);
      }
      raw[from + r] = fx;
    }
  }
  return { base, values, raw };
}
