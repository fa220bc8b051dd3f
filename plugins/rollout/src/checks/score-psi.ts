/**
 * PSI of a challenger's score distribution against the champion's: 10 quantile bins of
 * the champion's scores (numpy's linear quantiles; bins right-closed, duplicate edges
 * merged), shares per bin, empty bins filled as Evidently fills them (10⁻⁴, or the
 * smallest non-zero share / 10⁶ when that is ≤ 10⁻⁴), then core's
 * `populationStabilityIndex`: Σ (r − c) · ln(r / c).
 */
import { fillEmptyBins, linearQuantileSorted, populationStabilityIndex, VigilError } from '@vigil/core';

export { fillEmptyBins };

/** Interior edges of `bins` quantile bins of `reference`, duplicates merged (ties collapse bins). */
export function quantileEdges(reference: ArrayLike<number>, bins = 10): Float64Array {
  const sorted = Float64Array.from(reference).sort();
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const edge = linearQuantileSorted(sorted, k / bins);
    if (edges.length === 0 || edge > edges[edges.length - 1]!) edges.push(edge);
  }
  return Float64Array.from(edges);
}

/** Share of `values` in each bin (−∞, e₁], (e₁, e₂], …, (eₖ, ∞). */
export function binShares(values: ArrayLike<number>, edges: Float64Array): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    let lo = 0;
    let hi = edges.length;
    // first edge >= v: v falls in that edge's bin
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (edges[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    counts[lo]! += 1;
  }
  return counts.map((c) => c / values.length);
}

export interface ScorePsi {
  psi: number;
  /** Bins used (fewer than asked when the reference has ties at the edges). */
  bins: number;
}

/** PSI of `current` against quantile bins of `reference` (both non-empty, finite). */
export function scorePsi(reference: ArrayLike<number>, current: ArrayLike<number>, bins = 10): ScorePsi {
  for (const [name, values] of [
    ['reference', reference],
    ['current', current],
  ] as const) {
    if (values.length === 0) {
      throw new VigilError('VIGIL_DRIFT_INVALID_INPUT', `scorePsi: ${name} is empty`);
    }
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) {
        throw new VigilError('VIGIL_DRIFT_INVALID_INPUT', `scorePsi: ${name}[${i}] is not a finite number`);
      }
    }
  }
  const edges = quantileEdges(reference, bins);
  const ref = fillEmptyBins(binShares(reference, edges));
  const cur = fillEmptyBins(binShares(current, edges));
  return { psi: populationStabilityIndex(ref, cur), bins: edges.length + 1 };
}
