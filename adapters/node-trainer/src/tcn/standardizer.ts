/**
 * Per-feature standardisation of the TCN's input, inside the graph:
 * `z = (x − mean) · scale`, then NaN → 0 (so a missing value, and the NaN padding before a
 * patient's first row, sit at the training mean). `mean` and `scale` (1 / sd) are float32,
 * computed over every non-missing value of each feature in the training rows.
 */
export interface Standardizer {
  mean: Float32Array;
  scale: Float32Array;
}

export function fitStandardizer(x: Float32Array, rows: number, d: number): Standardizer {
  const sum = new Float64Array(d);
  const count = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < d; j++) {
      const v = x[r * d + j]!;
      if (!Number.isNaN(v)) {
        sum[j] = sum[j]! + v;
        count[j] = count[j]! + 1;
      }
    }
  }
  const mean = new Float64Array(d);
  for (let j = 0; j < d; j++) mean[j] = count[j]! > 0 ? sum[j]! / count[j]! : 0;
  const ss = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < d; j++) {
      const v = x[r * d + j]!;
      if (!Number.isNaN(v)) ss[j] = ss[j]! + (v - mean[j]!) ** 2;
    }
  }
  const scale = new Float32Array(d);
  for (let j = 0; j < d; j++) {
    const sd = count[j]! > 0 ? Math.sqrt(ss[j]! / count[j]!) : 0;
    scale[j] = sd > 1e-12 ? 1 / sd : 1;
  }
  return { mean: Float32Array.from(mean), scale };
}

const f32 = Math.fround;

/**
 * Standardise a `[rows, L·d]` sequence matrix as the graph does (float32 Sub then Mul, then
 * NaN → 0), into `out` (same length).
 */
export function standardize(seq: Float32Array, d: number, s: Standardizer, out: Float32Array): Float32Array {
  for (let i = 0; i < seq.length; i++) {
    const j = i % d;
    const v = seq[i]!;
    out[i] = Number.isNaN(v) ? 0 : f32(f32(v - s.mean[j]!) * s.scale[j]!);
  }
  return out;
}
