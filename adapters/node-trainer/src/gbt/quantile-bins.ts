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

/**
 * Sort `keys[0, m)` ascending with a three-pass LSD radix sort (11 + 11 + 10 bits); `tmp` is
 * scratch of the same length. Stable and data-independent in time: faster than a comparison sort
 * on a column of a hundred thousand values.
 */
function radixSort(keys: Uint32Array, tmp: Uint32Array, m: number, counts: Int32Array): void {
  let from = keys;
  let to = tmp;
  for (let shift = 0; shift < 32; shift += 11) {
    counts.fill(0);
    for (let i = 0; i < m; i++) counts[(from[i]! >>> shift) & 2047]!++;
    let sum = 0;
    for (let b = 0; b < 2048; b++) {
      const c = counts[b]!;
      counts[b] = sum;
      sum += c;
    }
    for (let i = 0; i < m; i++) {
      const k = from[i]!;
      to[counts[(k >>> shift) & 2047]!++] = k;
    }
    const t = from;
    from = to;
    to = t;
  }
  // Three passes: the result is in `tmp`.
  keys.set(from.subarray(0, m));
}

/**
 * Bin every feature: its non-missing values sorted (float32 bit patterns mapped to unsigned keys
 * in numeric order, −0 before +0, as `Float32Array.prototype.sort` orders them), up to 255
 * quantile edges, then each value's bin by a fixed eight-step search over the edges padded
 * with +∞ to 256.
 */
export function quantileBins(x: Float32Array, rows: number, features: number): QuantileBins {
  const binned = new Uint8Array(rows * features);
  const edges: Float32Array[] = [];
  const column = new Float32Array(rows);
  const sortedBuffer = new Float32Array(rows);
  const keys = new Uint32Array(sortedBuffer.buffer);
  const tmp = new Uint32Array(rows);
  const counts = new Int32Array(2048);
  const padded = new Float32Array(256);
  for (let f = 0; f < features; f++) {
    let m = 0;
    for (let r = 0; r < rows; r++) {
      const v = x[r * features + f]!;
      column[r] = v;
      if (!Number.isNaN(v)) sortedBuffer[m++] = v;
    }
    // Order-preserving keys: flip the sign bit of positives, every bit of negatives.
    for (let i = 0; i < m; i++) {
      const u = keys[i]!;
      keys[i] = (u ^ ((u >> 31) | 0x80000000)) >>> 0;
    }
    radixSort(keys, tmp, m, counts);
    for (let i = 0; i < m; i++) {
      const k = keys[i]!;
      keys[i] = (k ^ ((~k >> 31) | 0x80000000)) >>> 0;
    }
    const sorted = sortedBuffer.subarray(0, m);
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
    padded.fill(Number.POSITIVE_INFINITY);
    padded.set(featureEdges);
    binColumn(column, rows, padded, binned, f * rows);
  }
  return { rows, features, binned, edges };
}

/**
 * `out[offset + r]` = index of the first edge ≥ `column[r]` (the number of edges below it), or
 * {@link MISSING_BIN} for NaN. `padded` holds the edges then +∞ up to 256 entries, so eight
 * halving steps always land on a real edge for a value within the edges' range.
 */
function binColumn(
  column: Float32Array,
  rows: number,
  padded: Float32Array,
  out: Uint8Array,
  offset: number,
): void {
  for (let r = 0; r < rows; r++) {
    const v = column[r]!;
    if (Number.isNaN(v)) {
      out[offset + r] = MISSING_BIN;
      continue;
    }
    let b = 0;
    b += padded[b + 127]! < v ? 128 : 0;
    b += padded[b + 63]! < v ? 64 : 0;
    b += padded[b + 31]! < v ? 32 : 0;
    b += padded[b + 15]! < v ? 16 : 0;
    b += padded[b + 7]! < v ? 8 : 0;
    b += padded[b + 3]! < v ? 4 : 0;
    b += padded[b + 1]! < v ? 2 : 0;
    b += padded[b]! < v ? 1 : 0;
    out[offset + r] = b;
  }
}
