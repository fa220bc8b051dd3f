/**
 * Platt scaling as scikit-learn fits it (`CalibratedClassifierCV(method='sigmoid')`, i.e.
 * `sklearn.calibration._sigmoid_calibration`): P(event | score f) = 1 / (1 + exp(a·f + b)),
 * (a, b) minimising the cross-entropy against Platt's smoothed targets
 * T₊ = (N₊ + 1)/(N₊ + 2), T₋ = 1/(N₋ + 2). Solved here by Newton's method with backtracking,
 * to far tighter tolerances than sklearn's L-BFGS-B.
 */
export interface PlattCalibrator {
  method: 'platt';
  /** Slope: P = 1 / (1 + exp(a·score + b)); negative for a score that rises with risk. */
  a: number;
  b: number;
}

function objective(f: ArrayLike<number>, t: Float64Array, a: number, b: number): number {
  let loss = 0;
  for (let i = 0; i < t.length; i++) {
    const r = -(a * f[i]! + b); // raw prediction, P = sigmoid(r)
    // -T log σ(r) - (1-T) log(1-σ(r)) = log(1+e^r) - T r, computed stably
    const softplus = r > 0 ? r + Math.log1p(Math.exp(-r)) : Math.log1p(Math.exp(r));
    loss += softplus - t[i]! * r;
  }
  return loss;
}

export function fitPlatt(scores: ArrayLike<number>, labels: ArrayLike<number>): PlattCalibrator {
  const n = scores.length;
  if (n === 0 || labels.length !== n) throw new RangeError(`fitPlatt: ${n} scores, ${labels.length} labels`);
  let maxAbs = 0;
  for (let i = 0; i < n; i++) maxAbs = Math.max(maxAbs, Math.abs(scores[i]!));
  // Like sklearn, work on scores scaled into [-1, 1] when they are large (the optimum is unchanged).
  const scale = maxAbs >= 30 ? maxAbs : 1;
  const f = new Float64Array(n);
  for (let i = 0; i < n; i++) f[i] = scores[i]! / scale;
  let negatives = 0;
  for (let i = 0; i < n; i++) if (!(labels[i]! > 0)) negatives++;
  const positives = n - negatives;
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) t[i] = labels[i]! > 0 ? (positives + 1) / (positives + 2) : 1 / (negatives + 2);

  let a = 0;
  let b = Math.log((negatives + 1) / (positives + 1));
  let loss = objective(f, t, a, b);
  for (let iteration = 0; iteration < 200; iteration++) {
    let ga = 0;
    let gb = 0;
    let haa = 0;
    let hab = 0;
    let hbb = 0;
    for (let i = 0; i < n; i++) {
      const r = -(a * f[i]! + b);
      const p = 1 / (1 + Math.exp(-r));
      const d = p - t[i]!;
      ga -= d * f[i]!;
      gb -= d;
      const w = Math.max(p * (1 - p), 1e-300);
      haa += w * f[i]! * f[i]!;
      hab += w * f[i]!;
      hbb += w;
    }
    if (Math.max(Math.abs(ga), Math.abs(gb)) <= 1e-13 * n) break;
    // Newton step, with a tiny ridge for constant scores (singular Hessian).
    const ridge = 1e-12 * (haa + hbb);
    const det = (haa + ridge) * (hbb + ridge) - hab * hab;
    const da = -((hbb + ridge) * ga - hab * gb) / det;
    const db = -((haa + ridge) * gb - hab * ga) / det;
    let step = 1;
    let next = objective(f, t, a + da, b + db);
    while (next > loss && step > 1e-10) {
      step /= 2;
      next = objective(f, t, a + step * da, b + step * db);
    }
    if (next > loss) break;
    a += step * da;
    b += step * db;
    const improved = loss - next;
    loss = next;
    if (improved <= 1e-16 * Math.max(1, Math.abs(loss)) && Math.abs(step * da) + Math.abs(step * db) < 1e-15)
      break;
  }
  return { method: 'platt', a: a / scale, b };
}

export function plattProbability(c: PlattCalibrator, score: number): number {
  return 1 / (1 + Math.exp(c.a * score + c.b));
}
