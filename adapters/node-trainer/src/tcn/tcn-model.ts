/**
 * The TCN's parameters and its forward and backward passes on plain typed arrays.
 *
 * Activations are time-major `[n, T, C]` (sample, step, channel), as the model's input is.
 * A causal dilated convolution with kernel size K and dilation δ computes
 * `out[t, o] = b[o] + Σ_j Σ_i W[o, j, i] · in[t − (K − 1 − j)·δ, i]` with `in[t < 0] = 0`,
 * which is PyTorch's `Conv1d(padding=(K−1)·δ)` with the last (K−1)·δ outputs sliced off and
 * ONNX's `Conv(pads=[(K−1)·δ, 0])`. Weights are stored `[Cout, K, Cin]` here (contiguous
 * over input channels for the kernels) and transposed to ONNX/PyTorch's `[Cout, Cin, K]` on export.
 */

export type FloatArray = Float32Array | Float64Array;

export interface TcnShape {
  /** d: features per time step. */
  features: number;
  /** L: time steps per sequence. */
  steps: number;
  blocks: number;
  kernelSize: number;
  hidden: number;
}

export interface ConvSlot {
  /** Offsets into the flat parameter vector. */
  w: number;
  b: number;
  cin: number;
  cout: number;
  k: number;
  dilation: number;
}

export interface BlockLayout {
  conv1: ConvSlot;
  conv2: ConvSlot;
  /** 1×1 convolution on the residual path when the block's input and output channels differ. */
  residual: ConvSlot | null;
}

export interface TcnLayout {
  shape: TcnShape;
  blocks: BlockLayout[];
  headW: number;
  headB: number;
  /** Number of trainable parameters. */
  size: number;
}

export function tcnLayout(shape: TcnShape): TcnLayout {
  let offset = 0;
  const slot = (cin: number, cout: number, k: number, dilation: number): ConvSlot => {
    const w = offset;
    offset += cout * k * cin;
    const b = offset;
    offset += cout;
    return { w, b, cin, cout, k, dilation };
  };
  const blocks: BlockLayout[] = [];
  let cin = shape.features;
  const H = shape.hidden;
  for (let i = 0; i < shape.blocks; i++) {
    const dilation = 2 ** i;
    const conv1 = slot(cin, H, shape.kernelSize, dilation);
    const conv2 = slot(H, H, shape.kernelSize, dilation);
    const residual = cin !== H ? slot(cin, H, 1, 1) : null;
    blocks.push({ conv1, conv2, residual });
    cin = H;
  }
  const headW = offset;
  offset += H;
  const headB = offset;
  offset += 1;
  return { shape, blocks, headW, headB, size: offset };
}

/**
 * He (Kaiming) uniform initialisation for the ReLU convolutions, U(±√(6 / fan_in)) with
 * fan_in = Cin·K; the head is U(±√(3 / H)) (unit-variance logits for unit-variance inputs);
 * every bias starts at 0. `uniform()` draws from [0, 1).
 */
export function initParams(layout: TcnLayout, params: FloatArray, uniform: () => number): void {
  params.fill(0);
  const fill = (from: number, count: number, bound: number) => {
    for (let i = 0; i < count; i++) params[from + i] = (2 * uniform() - 1) * bound;
  };
  for (const block of layout.blocks) {
    for (const c of [block.conv1, block.conv2, block.residual]) {
      if (c) fill(c.w, c.cout * c.k * c.cin, Math.sqrt(6 / (c.cin * c.k)));
    }
  }
  fill(layout.headW, layout.shape.hidden, Math.sqrt(3 / layout.shape.hidden));
}

/** out = causal dilated conv of x, for n sequences of T steps. */
export function convForward(
  x: FloatArray,
  n: number,
  T: number,
  c: ConvSlot,
  params: FloatArray,
  out: FloatArray,
): void {
  const { cin, cout, k, dilation } = c;
  for (let s = 0; s < n; s++) {
    for (let t = 0; t < T; t++) {
      const dst = (s * T + t) * cout;
      for (let o = 0; o < cout; o++) {
        let acc = params[c.b + o]!;
        for (let j = 0; j < k; j++) {
          const shift = (k - 1 - j) * dilation;
          if (t < shift) continue;
          const src = (s * T + t - shift) * cin;
          const w = c.w + (o * k + j) * cin;
          for (let i = 0; i < cin; i++) acc += params[w + i]! * x[src + i]!;
        }
        out[dst + o] = acc;
      }
    }
  }
}

/**
 * Backward of {@link convForward}: adds ∂L/∂W and ∂L/∂b into `grad`, and ∂L/∂x into `dx`
 * when given. `dOut` rows that are all zero are skipped cheaply (per output channel).
 */
export function convBackward(
  x: FloatArray,
  dOut: FloatArray,
  n: number,
  T: number,
  c: ConvSlot,
  params: FloatArray,
  grad: Float64Array,
  dx: FloatArray | null,
): void {
  const { cin, cout, k, dilation } = c;
  for (let s = 0; s < n; s++) {
    for (let t = 0; t < T; t++) {
      const dst = (s * T + t) * cout;
      for (let o = 0; o < cout; o++) {
        const g = dOut[dst + o]!;
        if (g === 0) continue;
        grad[c.b + o] = grad[c.b + o]! + g;
        for (let j = 0; j < k; j++) {
          const shift = (k - 1 - j) * dilation;
          if (t < shift) continue;
          const src = (s * T + t - shift) * cin;
          const w = c.w + (o * k + j) * cin;
          for (let i = 0; i < cin; i++) grad[w + i] = grad[w + i]! + g * x[src + i]!;
          if (dx) for (let i = 0; i < cin; i++) dx[src + i] = dx[src + i]! + g * params[w + i]!;
        }
      }
    }
  }
}

/** What the forward pass keeps for the backward pass, per block. */
interface BlockCache {
  x: FloatArray;
  a1: FloatArray;
  h1: FloatArray;
  a2: FloatArray;
  h2: FloatArray;
  r: FloatArray | null;
  y: FloatArray;
  mask1: FloatArray | null;
  mask2: FloatArray | null;
}

/**
 * Reusable buffers for a batch of up to `capacity` sequences, and the forward/backward passes.
 * `ctor` chooses the float type of activations (Float32Array when training, Float64Array to
 * check gradients against finite differences).
 */
export class TcnWorkspace {
  readonly #layout: TcnLayout;
  readonly #caches: BlockCache[];
  readonly #capacity: number;
  readonly #ctor: Float32ArrayConstructor | Float64ArrayConstructor;
  readonly logits: Float64Array;
  readonly #dY: FloatArray;
  readonly #dA: FloatArray;
  readonly #dH: FloatArray;
  readonly #dX: FloatArray;

  constructor(layout: TcnLayout, capacity: number, ctor: Float32ArrayConstructor | Float64ArrayConstructor) {
    this.#layout = layout;
    this.#capacity = capacity;
    this.#ctor = ctor;
    const { steps: T, hidden: H } = layout.shape;
    const size = capacity * T * H;
    this.#caches = layout.blocks.map((block) => ({
      x: new ctor(0),
      a1: new ctor(size),
      h1: new ctor(size),
      a2: new ctor(size),
      h2: new ctor(size),
      r: block.residual ? new ctor(size) : null,
      y: new ctor(size),
      mask1: null,
      mask2: null,
    }));
    this.logits = new Float64Array(capacity);
    this.#dY = new ctor(size);
    this.#dA = new ctor(size);
    this.#dH = new ctor(size);
    this.#dX = new ctor(capacity * T * Math.max(H, layout.shape.features));
  }

  /**
   * Logits of n sequences `x` (`[n, T, d]`, already standardised with NaN → 0) into
   * `this.logits`. With `dropout` > 0 and `uniform`, inverted dropout masks are drawn after
   * each ReLU inside the blocks (training); otherwise no dropout (inference).
   */
  forward(x: FloatArray, n: number, params: FloatArray, dropout = 0, uniform?: () => number): Float64Array {
    if (n > this.#capacity)
      throw new RangeError(`batch of ${n} exceeds workspace capacity ${this.#capacity}`);
    const { steps: T, hidden: H } = this.#layout.shape;
    const m = n * T * H;
    const keep = 1 / (1 - dropout);
    const drawMask = (existing: FloatArray | null): FloatArray | null => {
      if (!(dropout > 0 && uniform)) return null;
      const mask = existing ?? new this.#ctor(this.#capacity * T * H);
      for (let i = 0; i < m; i++) mask[i] = uniform() < dropout ? 0 : keep;
      return mask;
    };
    let input = x;
    this.#layout.blocks.forEach((block, b) => {
      const c = this.#caches[b]!;
      c.x = input;
      convForward(input, n, T, block.conv1, params, c.a1);
      c.mask1 = drawMask(c.mask1);
      for (let i = 0; i < m; i++) {
        const v = c.a1[i]! > 0 ? c.a1[i]! : 0;
        c.h1[i] = c.mask1 ? v * c.mask1[i]! : v;
      }
      convForward(c.h1, n, T, block.conv2, params, c.a2);
      c.mask2 = drawMask(c.mask2);
      for (let i = 0; i < m; i++) {
        const v = c.a2[i]! > 0 ? c.a2[i]! : 0;
        c.h2[i] = c.mask2 ? v * c.mask2[i]! : v;
      }
      let res: FloatArray = input;
      if (block.residual && c.r) {
        convForward(input, n, T, block.residual, params, c.r);
        res = c.r;
      }
      for (let i = 0; i < m; i++) {
        const sum = c.h2[i]! + res[i]!;
        c.y[i] = sum > 0 ? sum : 0;
      }
      input = c.y;
    });
    const { headW, headB } = this.#layout;
    for (let s = 0; s < n; s++) {
      const last = (s * T + T - 1) * H;
      let z = params[headB]!;
      for (let h = 0; h < H; h++) z += params[headW + h]! * input[last + h]!;
      this.logits[s] = z;
    }
    return this.logits;
  }

  /**
   * Backward pass after {@link forward} on the same batch: `dLogits[s]` = ∂L/∂logit of sequence
   * s; adds ∂L/∂θ into `grad` (which the caller zeroes).
   */
  backward(dLogits: ArrayLike<number>, n: number, params: FloatArray, grad: Float64Array): void {
    const { steps: T, hidden: H } = this.#layout.shape;
    const m = n * T * H;
    const { headW, headB } = this.#layout;
    const blocks = this.#layout.blocks;
    const lastY = this.#caches[blocks.length - 1]!.y;
    const dY = this.#dY;
    dY.fill(0, 0, m);
    for (let s = 0; s < n; s++) {
      const g = dLogits[s]!;
      const last = (s * T + T - 1) * H;
      grad[headB] = grad[headB]! + g;
      for (let h = 0; h < H; h++) {
        grad[headW + h] = grad[headW + h]! + g * lastY[last + h]!;
        dY[last + h] = g * params[headW + h]!;
      }
    }
    for (let b = blocks.length - 1; b >= 0; b--) {
      const block = blocks[b]!;
      const c = this.#caches[b]!;
      const cin = block.conv1.cin;
      const inputSize = n * T * cin;
      // dS = dY ⊙ [S > 0]: reuse dY in place (S > 0 ⇔ y > 0).
      for (let i = 0; i < m; i++) if (!(c.y[i]! > 0)) dY[i] = 0;
      // Through the second conv: dA2 = dS ⊙ mask2 ⊙ [A2 > 0].
      const dA = this.#dA;
      for (let i = 0; i < m; i++) {
        const g = c.a2[i]! > 0 ? dY[i]! : 0;
        dA[i] = c.mask2 ? g * c.mask2[i]! : g;
      }
      const dH = this.#dH;
      dH.fill(0, 0, m);
      convBackward(c.h1, dA, n, T, block.conv2, params, grad, dH);
      for (let i = 0; i < m; i++) {
        const g = c.a1[i]! > 0 ? dH[i]! : 0;
        dA[i] = c.mask1 ? g * c.mask1[i]! : g;
      }
      const needDx = b > 0;
      const dX = this.#dX;
      if (needDx) dX.fill(0, 0, inputSize);
      convBackward(c.x, dA, n, T, block.conv1, params, grad, needDx ? dX : null);
      if (block.residual) {
        convBackward(c.x, dY, n, T, block.residual, params, grad, needDx ? dX : null);
      } else if (needDx) {
        for (let i = 0; i < m; i++) dX[i] = dX[i]! + dY[i]!;
      }
      if (needDx) dY.set(dX.subarray(0, inputSize));
    }
  }
}
