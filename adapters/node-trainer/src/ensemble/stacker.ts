/**
 * The stacking layer: logistic regression of the label on the base models' out-of-fold logits,
 * `logit = Σ w_m · s_m + b`, fitted by Newton's method with a small L2 penalty on the weights
 * (keeps the fit finite when the classes separate). Deterministic.
 */
export interface Stacker {
  weights: number[];
  intercept: number;
}

export function fitStacker(
  scores: readonly Float32Array[],
  y: Uint8Array,
  l2 = 1e-3,
  iterations = 50,
): Stacker {
  const m = scores.length;
  const n = y.length;
  const p = m + 1;
  const beta = new Float64Array(p);
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i]!;
  // Start at the base rate with zero weights.
  const rate = Math.min(Math.max(positives / Math.max(n, 1), 1e-6), 1 - 1e-6);
  beta[m] = Math.log(rate / (1 - rate));
  const grad = new Float64Array(p);
  const hess = new Float64Array(p * p);
  const row = new Float64Array(p);
  row[m] = 1;
  for (let iter = 0; iter < iterations; iter++) {
    grad.fill(0);
    hess.fill(0);
    for (let i = 0; i < n; i++) {
      let z = beta[m]!;
      for (let j = 0; j < m; j++) {
        row[j] = scores[j]![i]!;
        z += beta[j]! * row[j]!;
      }
      const q = 1 / (1 + Math.exp(-z));
      const w = q * (1 - q);
      const r = q - y[i]!;
      for (let a = 0; a < p; a++) {
        grad[a] = grad[a]! + r * row[a]!;
        for (let b = 0; b <= a; b++) hess[a * p + b] = hess[a * p + b]! + w * row[a]! * row[b]!;
      }
    }
    for (let a = 0; a < m; a++) {
      grad[a] = grad[a]! + l2 * n * beta[a]!;
      hess[a * p + a] = hess[a * p + a]! + l2 * n;
    }
    for (let a = 0; a < p; a++) for (let b = a + 1; b < p; b++) hess[a * p + b] = hess[b * p + a]!;
    const step = solve(hess, grad, p);
    let change = 0;
    for (let a = 0; a < p; a++) {
      beta[a] = beta[a]! - step[a]!;
      change = Math.max(change, Math.abs(step[a]!));
    }
    if (change < 1e-10) break;
  }
  return { weights: Array.from(beta.subarray(0, m)), intercept: beta[m]! };
}

/** Solve A x = b for a small symmetric positive-definite A (Gaussian elimination, partial pivoting). */
function solve(a: Float64Array, b: Float64Array, p: number): Float64Array {
  const m = Float64Array.from(a);
  const x = Float64Array.from(b);
  for (let c = 0; c < p; c++) {
    let pivot = c;
    for (let r = c + 1; r < p; r++) if (Math.abs(m[r * p + c]!) > Math.abs(m[pivot * p + c]!)) pivot = r;
    if (pivot !== c) {
      for (let k = 0; k < p; k++) [m[c * p + k], m[pivot * p + k]] = [m[pivot * p + k]!, m[c * p + k]!];
      [x[c], x[pivot]] = [x[pivot]!, x[c]!];
    }
    const d = m[c * p + c]!;
    if (d === 0) continue;
    for (let r = c + 1; r < p; r++) {
      const f = m[r * p + c]! / d;
      if (f === 0) continue;
      for (let k = c; k < p; k++) m[r * p + k] = m[r * p + k]! - f * m[c * p + k]!;
      x[r] = x[r]! - f * x[c]!;
    }
  }
  for (let c = p - 1; c >= 0; c--) {
    let s = x[c]!;
    for (let k = c + 1; k < p; k++) s -= m[c * p + k]! * x[k]!;
    const d = m[c * p + c]!;
    x[c] = d === 0 ? 0 : s / d;
  }
  return x;
}
