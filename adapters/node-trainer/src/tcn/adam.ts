/** Adam as PyTorch computes it (no weight decay, no amsgrad), on a flat parameter vector. */
export class Adam {
  readonly #m: Float64Array;
  readonly #v: Float64Array;
  #step = 0;

  constructor(
    size: number,
    readonly lr: number,
    readonly beta1: number,
    readonly beta2: number,
    readonly eps: number,
  ) {
    this.#m = new Float64Array(size);
    this.#v = new Float64Array(size);
  }

  /** θ ← θ − lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + ε). */
  step(params: Float32Array | Float64Array, grad: Float64Array): void {
    this.#step++;
    const { beta1, beta2, eps } = this;
    const bc1 = 1 - beta1 ** this.#step;
    const bc2Sqrt = Math.sqrt(1 - beta2 ** this.#step);
    const stepSize = this.lr / bc1;
    const m = this.#m;
    const v = this.#v;
    for (let i = 0; i < params.length; i++) {
      const g = grad[i]!;
      const mi = beta1 * m[i]! + (1 - beta1) * g;
      const vi = beta2 * v[i]! + (1 - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      params[i] = params[i]! - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
    }
  }
}
