/** Bin index reserved for a missing (NaN) value. */
export const MISSING_BIN = 255;
/** At most this many value bins per feature (bins 0‥254; 255 is the missing bin). */
export const MAX_VALUE_BINS = 255;

/**
 * Features discretised once, before boosting: per feature up to 255 quantile bins. Bin `b`
 * holds values in `(edges[b-1], edges[b]]`, so the split "bin ≤ b" is exactly the float32
 * comparison `x <= edges[b]` the exported ONNX tree makes.
 */
export interface QuantileBins {
  rows: number;
  features: number;
  /**
   * features × rows, column-major: feature `f` of row `r` is at `f * rows + r` (one contiguous
   * column per feature, which the histogram loop walks); {@link MISSING_BIN} for NaN.
   */
  binned: Uint8Array;
  /** Upper edge (inclusive) of each value bin, per feature; float32 data values. */
  edges: Float32Array[];
}

export function quantileBins(x: Float32Array, rows: number, features: number): QuantileBins {
  const binned = new Uint8Array(rows * features);
  const edges: Float32Array[] = [];
  const column = new Float32Array(rows);
  for (let f = 0; f < features; f++) {
    let m = 0;
    for (let r = 0; r < rows; r++) {
      const v = x[r * features + f]!;
      if (!Number.isNaN(v)) column[m++] = v;
    }
    const sorted = column.subarray(0, m).sort();
    let unique = 0;
    for (let i = 0; i < m; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) unique++;
    const cut: number[] = [];
    if (unique <= MAX_VALUE_BINS) {
      for (let i = 0; i < m; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) cut.push(sorted[i]!);
    } else {
      for (let k = 1; k <= MAX_VALUE_BINS; k++) {
        const v = sorted[Math.ceil((k * m) / MAX_VALUE_BINS) - 1]!;
        if (cut.length === 0 || v > cut[cut.length - 1]!) cut.push(v);
      }
    }
    const featureEdges = Float32Array.from(cut);
    edges.push(featureEdges);
    const out = f * rows;
    for (let r = 0; r < rows; r++) {
      const v = x[r * features + f]!;
      if (Number.isNaN(v)) {
        binned[out + r] = MISSING_BIN;
        continue;
      }
      // First edge >= v.
      let lo = 0;
      let hi = featureEdges.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (featureEdges[mid]! >= v) hi = mid;
        else lo = mid + 1;
      }
      binned[out + r] = lo;
    }
  }
  return { rows, features, binned, edges };
}
