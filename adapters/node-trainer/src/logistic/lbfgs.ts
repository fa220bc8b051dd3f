/**
 * Limited-memory BFGS (two-loop recursion, Armijo backtracking) for smooth convex objectives.
 * `evaluate(x, grad)` writes the gradient into `grad` and returns the objective.
 */
export interface LbfgsOptions {
  maxIter: number;
  /** Converged when the largest gradient component is at most this. */
  gradientTolerance: number;
  /** Converged when the objective's relative decrease falls below this. */
  functionTolerance?: number;
  memory?: number;
  /** Called after each iteration (await it for cooperative cancellation). */
  onIteration?: (iteration: number, value: number) => Promise<void> | void;
}

export interface LbfgsResult {
  x: Float64Array;
  value: number;
  iterations: number;
  converged: boolean;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

export async function lbfgs(
  evaluate: (x: Float64Array, grad: Float64Array) => number,
  x0: Float64Array,
  options: LbfgsOptions,
): Promise<LbfgsResult> {
  const n = x0.length;
  const memory = options.memory ?? 10;
  const ftol = options.functionTolerance ?? 1e-12;
  let x = Float64Array.from(x0);
  let grad = new Float64Array(n);
  let value = evaluate(x, grad);
  const sHist: Float64Array[] = [];
  const yHist: Float64Array[] = [];
  const rhoHist: number[] = [];
  const alpha = new Float64Array(memory);
  const direction = new Float64Array(n);
  let xNew = new Float64Array(n);
  let gradNew = new Float64Array(n);
  let iterations = 0;
  let converged = maxAbs(grad) <= options.gradientTolerance;
  while (!converged && iterations < options.maxIter) {
    // Two-loop recursion: direction = -H·grad.
    for (let i = 0; i < n; i++) direction[i] = -grad[i]!;
    const k = sHist.length;
    for (let j = k - 1; j >= 0; j--) {
      const a = rhoHist[j]! * dot(sHist[j]!, direction);
      alpha[j] = a;
      const y = yHist[j]!;
      for (let i = 0; i < n; i++) direction[i] = direction[i]! - a * y[i]!;
    }
    if (k > 0) {
      const gamma = dot(sHist[k - 1]!, yHist[k - 1]!) / dot(yHist[k - 1]!, yHist[k - 1]!);
      for (let i = 0; i < n; i++) direction[i] = direction[i]! * gamma;
    } else {
      const scale = 1 / Math.max(1, Math.sqrt(dot(grad, grad)));
      for (let i = 0; i < n; i++) direction[i] = direction[i]! * scale;
    }
    for (let j = 0; j < k; j++) {
      const b = rhoHist[j]! * dot(yHist[j]!, direction);
      const s = sHist[j]!;
      for (let i = 0; i < n; i++) direction[i] = direction[i]! + (alpha[j]! - b) * s[i]!;
    }
    let slope = dot(grad, direction);
    if (!(slope < 0)) {
      // Not a descent direction: drop the history and take a steepest-descent step.
      sHist.length = 0;
      yHist.length = 0;
      rhoHist.length = 0;
      for (let i = 0; i < n; i++) direction[i] = -grad[i]!;
      slope = dot(grad, direction);
    }
    let step = 1;
    let valueNew = Number.NaN;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i]! + step * direction[i]!;
      valueNew = evaluate(xNew, gradNew);
      if (valueNew <= value + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    iterations++;
    if (!(valueNew <= value)) break; // line search failed: x is as good as we can get
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i]! - x[i]!;
      y[i] = gradNew[i]! - grad[i]!;
    }
    const sy = dot(s, y);
    if (sy > 1e-12) {
      if (sHist.length === memory) {
        sHist.shift();
        yHist.shift();
        rhoHist.shift();
      }
      sHist.push(s);
      yHist.push(y);
      rhoHist.push(1 / sy);
    }
    const decrease = value - valueNew;
    [x, xNew] = [xNew, x];
    [grad, gradNew] = [gradNew, grad];
    value = valueNew;
    converged = maxAbs(grad) <= options.gradientTolerance || decrease <= ftol * Math.max(1, Math.abs(value));
    await options.onIteration?.(iterations, value);
  }
  return { x, value, iterations, converged };
}
