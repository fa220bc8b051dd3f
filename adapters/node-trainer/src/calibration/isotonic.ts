/**
 * Isotonic calibration as `sklearn.isotonic.IsotonicRegression(out_of_bounds='clip')` fits and
 * predicts it (increasing, unit weights): scores sorted (ties by label), duplicates averaged
 * (`_make_unique`), pool-adjacent-violators (`_inplace_contiguous_isotonic_regression`, the
 * same single-pass algorithm), redundant interior knots dropped, then linear interpolation
 * between knots with scores clipped to [min, max] of the fitted scores.
 */
export interface IsotonicCalibrator {
  method: 'isotonic';
  /** Knot scores, strictly increasing (sklearn's `X_thresholds_`). */
  x: number[];
  /** Calibrated probability at each knot, non-decreasing (sklearn's `y_thresholds_`). */
  y: number[];
}

/** numpy's `finfo(float64).resolution`: sklearn merges scores closer than this. */
const RESOLUTION = 1e-15;

export function fitIsotonic(scores: ArrayLike<number>, labels: ArrayLike<number>): IsotonicCalibrator {
  const n = scores.length;
  if (n === 0 || labels.length !== n)
    throw new RangeError(`fitIsotonic: ${n} scores, ${labels.length} labels`);
  // np.lexsort((y, X)): by score, then label.
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (i, j) => scores[i]! - scores[j]! || labels[i]! - labels[j]! || i - j,
  );
  const ux: number[] = [];
  const uy: number[] = [];
  const uw: number[] = [];
  let currentX = scores[order[0]!]!;
  let currentY = 0;
  let currentW = 0;
  for (const j of order) {
    const x = scores[j]!;
    if (x - currentX >= RESOLUTION) {
      ux.push(currentX);
      uw.push(currentW);
      uy.push(currentY / currentW);
      currentX = x;
      currentW = 1;
      currentY = labels[j]!;
    } else {
      currentW += 1;
      currentY += labels[j]!;
    }
  }
  ux.push(currentX);
  uw.push(currentW);
  uy.push(currentY / currentW);

  // Pool adjacent violators, exactly as sklearn's Cython loop.
  const m = uy.length;
  const y = uy;
  const w = uw;
  const target = Array.from({ length: m }, (_, i) => i);
  let i = 0;
  while (i < m) {
    let k = target[i]! + 1;
    if (k === m) break;
    if (y[i]! < y[k]!) {
      i = k;
      continue;
    }
    let sumWy = w[i]! * y[i]!;
    let sumW = w[i]!;
    for (;;) {
      const prevY = y[k]!;
      sumWy += w[k]! * y[k]!;
      sumW += w[k]!;
      k = target[k]! + 1;
      if (k === m || prevY < y[k]!) {
        y[i] = sumWy / sumW;
        w[i] = sumW;
        target[i] = k - 1;
        target[k - 1] = i;
        if (i > 0) i = target[i - 1]!;
        break;
      }
    }
  }
  i = 0;
  while (i < m) {
    const k = target[i]! + 1;
    for (let j = i + 1; j < k; j++) y[j] = y[i]!;
    i = k;
  }
  // Keep the first and last knot and every knot whose value differs from a neighbour's.
  const x: number[] = [];
  const yy: number[] = [];
  for (let j = 0; j < m; j++) {
    if (j === 0 || j === m - 1 || y[j] !== y[j - 1] || y[j] !== y[j + 1]) {
      x.push(ux[j]!);
      yy.push(y[j]!);
    }
  }
  return { method: 'isotonic', x, y: yy };
}

/** sklearn's prediction: clip to the knots' range, then scipy `interp1d(kind='linear')`. */
export function isotonicProbability(c: IsotonicCalibrator, score: number): number {
  const { x, y } = c;
  const m = x.length;
  if (m === 1) return y[0]!;
  const s = Math.min(Math.max(score, x[0]!), x[m - 1]!);
  // searchsorted(x, s, side='left'), clipped to 1..m-1
  let lo = 0;
  let hi = m;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x[mid]! < s) lo = mid + 1;
    else hi = mid;
  }
  const idx = Math.min(Math.max(lo, 1), m - 1);
  const x0 = x[idx - 1]!;
  const x1 = x[idx]!;
  const y0 = y[idx - 1]!;
  const y1 = y[idx]!;
  const slope = (y1 - y0) / (x1 - x0);
  return slope * (s - x0) + y0;
}
