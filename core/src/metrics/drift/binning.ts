/**
 * Evidently's `get_binned_data`, the shares that PSI and Jensen–Shannon compare:
 * - a numerical column with more than 20 distinct reference values: numpy's Sturges
 *   histogram edges over reference ∪ current (`histogram_bin_edges(bins='sturges')`,
 *   edges from `linspace`, the last bin closed), counts divided by each sample's size;
 * - otherwise: the count of each value of the key union divided by the sample's size.
 * With `fillZeros` (PSI), empty bins get min(nonzero share)/10⁶ when that minimum is at
 * most 10⁻⁴, else 10⁻⁴; Jensen–Shannon uses the shares as they are.
 */
import { frequencyTable } from './frequencies.js';
import type { CategoryValue } from './sample.js';

export type DriftColumnType = 'numerical' | 'categorical';

export interface BinnedShares {
  reference: Float64Array;
  current: Float64Array;
  /** Histogram edges (numerical binning) or the sorted key union (categorical). */
  edges?: Float64Array;
  keys?: CategoryValue[];
}

/** numpy's `histogram_bin_edges(values, bins='sturges')`. */
export function sturgesEdges(values: ArrayLike<number>): Float64Array {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = max - min;
  let first = min;
  let last = max;
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  const width = range / (Math.log2(values.length) + 1);
  const bins = width ? Math.ceil((last - first) / width) : 1;
  // numpy.linspace(first, last, bins + 1): i * step + first, the last edge set to `last`
  const step = (last - first) / bins;
  const edges = new Float64Array(bins + 1);
  for (let i = 0; i < bins; i++) edges[i] = i * step + first;
  edges[bins] = last;
  return edges;
}

/** Counts per bin as numpy's `histogram(values, edges)`: [eᵢ, eᵢ₊₁) and the last bin closed. */
export function histogramCounts(values: ArrayLike<number>, edges: Float64Array): Float64Array {
  const sorted = Float64Array.from(values).sort();
  const bins = edges.length - 1;
  const counts = new Float64Array(bins);
  // cumulative: #values < edge (left search) for all but the last edge, #values <= last edge
  const below = (edge: number, inclusive: boolean) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (inclusive ? sorted[mid]! <= edge : sorted[mid]! < edge) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  let previous = below(edges[0]!, false);
  for (let i = 0; i < bins; i++) {
    const next = i + 1 === bins ? below(edges[bins]!, true) : below(edges[i + 1]!, false);
    counts[i] = next - previous;
    previous = next;
  }
  return counts;
}

/** Evidently's fill for empty bins, in place: each 0 share becomes min(non-zero share)/10⁶ when that is ≤ 10⁻⁴, else 10⁻⁴. */
export function fillEmptyBins(shares: Float64Array): Float64Array {
  let min = Number.POSITIVE_INFINITY;
  for (const s of shares) if (s !== 0 && s < min) min = s;
  const fill = min <= 0.0001 ? min / 10 ** 6 : 0.0001;
  for (let i = 0; i < shares.length; i++) if (shares[i] === 0) shares[i] = fill;
  return shares;
}

/** Whether the values hold more than `limit` distinct ones (stops counting there). */
function moreDistinctThan(values: ArrayLike<CategoryValue>, limit: number): boolean {
  const seen = new Set<CategoryValue>();
  for (let i = 0; i < values.length; i++) {
    seen.add(values[i]!);
    if (seen.size > limit) return true;
  }
  return false;
}

/** Evidently's binned shares of reference and current (see the module comment). */
export function binnedShares(
  reference: ArrayLike<CategoryValue>,
  current: ArrayLike<CategoryValue>,
  columnType: DriftColumnType,
  options: { fillZeros?: boolean } = {},
): BinnedShares {
  let result: BinnedShares;
  if (columnType === 'numerical' && moreDistinctThan(reference, 20)) {
    const ref = reference as ArrayLike<number>;
    const cur = current as ArrayLike<number>;
    const combined = new Float64Array(ref.length + cur.length);
    combined.set(ref);
    combined.set(cur, ref.length);
    const edges = sturgesEdges(combined);
    const refCounts = histogramCounts(ref, edges);
    const curCounts = histogramCounts(cur, edges);
    result = {
      reference: refCounts.map((c) => c / ref.length),
      current: curCounts.map((c) => c / cur.length),
      edges,
    };
  } else {
    const table = frequencyTable(reference, current);
    result = {
      reference: table.reference.map((c) => c / reference.length),
      current: table.current.map((c) => c / current.length),
      keys: table.keys,
    };
  }
  if (options.fillZeros) {
    fillEmptyBins(result.reference);
    fillEmptyBins(result.current);
  }
  return result;
}
